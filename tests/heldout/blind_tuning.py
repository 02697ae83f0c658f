"""Blind set, TUNING half: wrong implementations of every graded part, for the team to tune its checks on.

Written after issue 14 without reading the check or hint code: from the notebooks' texts, the book, PyTorch's
equations and the correct functions in tests/reference_solutions*.py. Each function has the notebook's
signature, plain tensor operations and exactly one thing wrong; tests/heldout/test_blind.py finds an input
the contract allows on which each differs from the correct solution. Its twin, blind_sealed.py, holds other
entries of the same kinds and is measured only in aggregate (tests/heldout/measure_blind.py).
"""
import functools
import math

import torch

import reference_solutions as right
import reference_solutions_new_parts as right_new
from blind_common import (ALIAS, ANSWER_HINTS, AXES, CLAMPED, DEVICE, DTYPE, ILL_CONDITIONED, IN_PLACE,
                          IS_STRING, NAN_GRADIENT, NON_CONTIGUOUS, OVERFLOW, SQUEEZE, STATE, TRUNCATED,
                          TYPE_WORDS, WRONG_ANSWER, others, registry)
from rnn_demos.gradients import random_cell_weights, random_inputs

BLIND_TUNING = []
KIND = {}
blind = registry(BLIND_TUNING, KIND)


# ===================================== sequence_models =====================================

@blind("sequence_models.ar_design_matrix", "non-contiguous input",
       "windows read with torch.as_strided(x, ..., (1, 1)), which assumes x has stride 1: a strided x "
       "(x[::2], a column of a matrix) gives windows of the wrong entries",
       NON_CONTIGUOUS + r"|as_strided", others("squeeze"))
def ar_design_strided_windows(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    X = torch.as_strided(x, (len(x) - tau, tau), (1, 1))
    return X, x[tau:]


@blind("sequence_models.ar_design_matrix", "size one",
       "columns stacked then squeeze()d: with tau = 1 X has shape (T - 1,) instead of (T - 1, 1)",
       SQUEEZE + r"|tau ?= ?1", others("cache", "squeeze"))
def ar_design_squeezed(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    T = len(x)
    X = torch.stack([x[j:T - tau + j] for j in range(tau)], dim=1).squeeze()
    return X, x[tau:]


@blind("sequence_models.ar_design_matrix", "time alignment",
       "y[i] = x[i + tau - 1], the newest value of the window, instead of the value after it",
       r"x\[i ?\+ ?tau ?- ?1\]|one step (early|behind|before)|shift|newest value of the window|inside the window",
       others("time"))
def ar_design_target_in_window(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    X = torch.stack([x[i:i + tau] for i in range(len(x) - tau)])
    return X, x[tau - 1:-1]


@blind("sequence_models.ar_design_matrix", "off by one",
       "the bound test is tau > T, so tau == T returns empty X and y instead of raising ValueError",
       r"tau ?(==|=|equal to|equals) ?T|ValueError|no target", others())
def ar_design_accepts_tau_equal_T(x, tau):
    if tau < 1 or tau > len(x):
        raise ValueError("tau must satisfy 1 <= tau <= T")
    X = x.unfold(0, tau, 1)[:len(x) - tau]
    return X, x[tau:]


@blind("sequence_models.ar_design_matrix", "dtype",
       "X rebuilt through Python lists with torch.tensor: float32 whatever the series' dtype",
       DTYPE + r"|torch\.tensor", others("dtype"))
def ar_design_through_lists(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    X = torch.tensor([x[i:i + tau].tolist() for i in range(len(x) - tau)])
    return X, x[tau:]


@blind("sequence_models.fit_ar", "ill-conditioned",
       "least squares by the normal equations with an explicit inverse, inv(X1^T X1) X1^T y: loses every digit "
       "on an ill-conditioned design (a slowly varying series)",
       ILL_CONDITIONED, others())
def fit_ar_normal_equations(x, tau):
    X, y = right.ar_design_matrix(x, tau)
    X1 = torch.cat([X, torch.ones(len(y), 1, dtype=x.dtype, device=x.device)], dim=1)
    solution = torch.linalg.inv(X1.T @ X1) @ X1.T @ y
    return solution[:-1], solution[-1]


@blind("sequence_models.fit_ar", "device",
       "the column of ones is made without device=, so torch.cat fails for a series on a GPU",
       DEVICE, others("device"), needs_cuda=True)
def fit_ar_ones_on_cpu(x, tau):
    X, y = right.ar_design_matrix(x, tau)
    X1 = torch.cat([X, torch.ones(len(y), 1, dtype=x.dtype)], dim=1)
    solution = torch.linalg.lstsq(X1, y[:, None]).solution[:, 0]
    return solution[:-1], solution[-1]


@blind("sequence_models.fit_ar", "output type",
       "the intercept sliced as solution[-1:], a 1-element tensor of shape (1,) instead of a 0-dim tensor",
       r"0-dim|shape \(1,\)|1-element|one-element|scalar", others())
def fit_ar_intercept_sliced(x, tau):
    X, y = right.ar_design_matrix(x, tau)
    X1 = torch.cat([X, torch.ones(len(y), 1, dtype=x.dtype, device=x.device)], dim=1)
    solution = torch.linalg.lstsq(X1, y[:, None]).solution[:, 0]
    return solution[:-1], solution[-1:]


@blind("sequence_models.fit_ar", "dtype",
       "the series is converted to float64 for a stable fit and the result is not converted back: float64 "
       "coefficients for a float32 series",
       DTYPE, others("dtype"))
def fit_ar_in_double(x, tau):
    x = x.double()
    X, y = right.ar_design_matrix(x, tau)
    X1 = torch.cat([X, torch.ones(len(y), 1, dtype=x.dtype, device=x.device)], dim=1)
    solution = torch.linalg.lstsq(X1, y[:, None]).solution[:, 0]
    return solution[:-1], solution[-1]


@blind("sequence_models.predict_ahead", "input mutation",
       "the window is a view of history and is shifted in place, so history is overwritten by the forecasts",
       IN_PLACE + r"|history", others("in place"))
def predict_ahead_shifts_history_in_place(history, w, b, k):
    window = history[-len(w):]
    predictions = []
    for _ in range(k):
        value = window @ w + b
        predictions.append(value)
        window[:-1] = window[1:].clone()
        window[-1] = value
    return torch.stack(predictions)


@blind("sequence_models.predict_ahead", "long sequence",
       "the horizon is capped at 50 forecasts (to stop the drift), so k > 50 returns 50 values",
       TRUNCATED + r"|50", others())
def predict_ahead_capped_at_fifty(history, w, b, k):
    window = history[-len(w):].clone()
    predictions = []
    for _ in range(min(k, 50)):
        value = window @ w + b
        predictions.append(value)
        window = torch.cat([window[1:], value[None]])
    return torch.stack(predictions)


@blind("sequence_models.predict_ahead", "formula",
       "the window update drops the newest value instead of the oldest: torch.cat([window[:-1], value])",
       r"drop(s|ped)? the (newest|latest|last)|oldest|window (update|shift)|window\[:-1\]", others("time"))
def predict_ahead_drops_newest(history, w, b, k):
    window = history[-len(w):].clone()
    predictions = []
    for _ in range(k):
        value = window @ w + b
        predictions.append(value)
        window = torch.cat([window[:-1], value[None]])
    return torch.stack(predictions)


@blind("sequence_models.predict_ahead", "off by one",
       "the first window is history[-tau - 1:-1], one step before the end of history",
       r"off.by.one|one step (early|before|behind)|last value of (the )?history|history\[-tau ?- ?1",
       others("time"))
def predict_ahead_window_one_early(history, w, b, k):
    tau = len(w)
    window = history[-tau - 1:-1].clone()
    predictions = []
    for _ in range(k):
        value = window @ w + b
        predictions.append(value)
        window = torch.cat([window[1:], value[None]])
    return torch.stack(predictions)


@blind("sequence_models.transition_matrix", "markov counting",
       "counts[states[:-1], states[1:]] += 1: advanced-index assignment does not accumulate, so a transition "
       "seen several times counts once",
       r"repeat|duplicate|accumulat|counted once|more than once|index_put|index_add", others())
def transition_counts_once(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64, device=states.device)
    counts[states[:-1], states[1:]] += 1
    totals = counts.sum(dim=1, keepdim=True)
    A = counts / torch.where(totals == 0, torch.ones_like(totals), totals)
    A[totals[:, 0] == 0] = 1.0 / n_states
    return A


@blind("sequence_models.transition_matrix", "markov counting",
       "pairs counted with torch.bincount without minlength: when the highest states never occur the counts "
       "are too short to reshape",
       r"minlength|bincount|highest state|never occur", others())
def transition_bincount_short(states, n_states):
    codes = states[:-1] * n_states + states[1:]
    counts = torch.bincount(codes).reshape(n_states, n_states).double()
    totals = counts.sum(dim=1, keepdim=True)
    A = counts / torch.where(totals == 0, torch.ones_like(totals), totals)
    A[totals[:, 0] == 0] = 1.0 / n_states
    return A


@blind("sequence_models.transition_matrix", "markov counting",
       "rows of symbols that are never left stay zero (nan_to_num after dividing by a zero total) instead of "
       "the uniform row 1/K",
       r"uniform|never left|no (outgoing|counts|transitions)|zero row|1/K|sums? to (one|1)", others())
def transition_unvisited_rows_zero(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64, device=states.device)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    return torch.nan_to_num(counts / counts.sum(dim=1, keepdim=True))


@blind("sequence_models.transition_matrix", "dtype",
       "counts in torch.zeros(K, K) without dtype: a float32 matrix instead of float64",
       DTYPE, others("dtype"))
def transition_float32(states, n_states):
    counts = torch.zeros(n_states, n_states, device=states.device)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    totals = counts.sum(dim=1, keepdim=True)
    A = counts / torch.where(totals == 0, torch.ones_like(totals), totals)
    A[totals[:, 0] == 0] = 1.0 / n_states
    return A


@blind("sequence_models.transition_matrix", "device",
       "counts made without device=: the matrix is on the CPU for states on a GPU",
       DEVICE, others("device"), needs_cuda=True)
def transition_on_cpu(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    totals = counts.sum(dim=1, keepdim=True)
    A = counts / torch.where(totals == 0, torch.ones_like(totals), totals)
    A[totals[:, 0] == 0] = 1.0 / n_states
    return A


@blind("sequence_models.markov_log_likelihood", "extreme magnitudes",
       "log of the product of the probabilities: the product underflows to 0 on a long sequence (-inf)",
       r"underflow|product|prod\b|long sequence|-inf", others())
def markov_log_of_product(states, A, p0):
    return torch.log(p0[states[0]] * torch.prod(A[states[:-1], states[1:]]))


@blind("sequence_models.markov_log_likelihood", "formula",
       "the transition probabilities read as A[x_t, x_{t-1}] (indices swapped)",
       r"transpos|A\[x_t|swapped ind|row and column|column and row|index order|A_\{?x_t", others("transpose"))
def markov_indices_swapped(states, A, p0):
    return torch.log(p0[states[0]]) + torch.log(A[states[1:], states[:-1]]).sum()


@blind("sequence_models.markov_log_likelihood", "markov counting",
       "1e-12 added inside the log to avoid -inf: an impossible transition gives a finite log-likelihood",
       r"-inf|impossible|zero probabilit|epsilon|1e-12|log\(0\)", others())
def markov_log_with_epsilon(states, A, p0):
    return torch.log(p0[states[0]] + 1e-12) + torch.log(A[states[:-1], states[1:]] + 1e-12).sum()


@blind("sequence_models.markov_log_likelihood", "off by one",
       "the initial term uses the last symbol, p0[x_T], instead of the first",
       r"p0|first (symbol|state)|initial", others())
def markov_initial_of_last(states, A, p0):
    return torch.log(p0[states[-1]]) + torch.log(A[states[:-1], states[1:]]).sum()


@blind("sequence_models.latent_update", "formula",
       "h @ W_hh instead of h @ W_hh.T (no shape error: W_hh is square)",
       r"W_hh|transpos", others("transpose"))
def latent_update_untransposed_recurrent(h, x, W_hh, W_ih):
    return h @ W_hh + x @ W_ih.T


@blind("sequence_models.latent_update", "size one",
       "computed column-wise then squeeze()d and transposed: a batch of one gives shape (d_h,)",
       SQUEEZE, others("squeeze"))
def latent_update_squeezed(h, x, W_hh, W_ih):
    return (W_hh @ h.T + W_ih @ x.T).squeeze().T


@blind("sequence_models.latent_update", "aliasing",
       "the new state is written into h (h.copy_) and h itself returned: the input is overwritten and the "
       "output is the input",
       ALIAS + "|" + IN_PLACE, others("in place"))
def latent_update_into_h(h, x, W_hh, W_ih):
    h.copy_(h @ W_hh.T + x @ W_ih.T)
    return h


_latent_transposes = {}


@blind("sequence_models.latent_update", "state between calls",
       "the transposed weights are cached by shape: a second call with new weights of the same shapes uses the "
       "first call's",
       STATE, others("cache"))
def latent_update_cached_transposes(h, x, W_hh, W_ih):
    key = (tuple(W_hh.shape), tuple(W_ih.shape))
    if key not in _latent_transposes:
        _latent_transposes[key] = (W_hh.T, W_ih.T)
    W_hh_T, W_ih_T = _latent_transposes[key]
    return h @ W_hh_T + x @ W_ih_T


@blind("sequence_models.answer_q1", "answer value",
       "0.4: the share of 0s in the ten symbols of the sequence, not of the chain",
       WRONG_ANSWER, ANSWER_HINTS)
def answer_q1_share_in_the_sequence():
    return 0.4


@blind("sequence_models.answer_q1", "answer type",
       "2/7 rounded to two decimals, 0.29",
       WRONG_ANSWER + r"|decimal|precision|round", ANSWER_HINTS)
def answer_q1_rounded():
    return 0.29


@blind("sequence_models.answer_q2", "answer value",
       "0.9 ** 20 (one factor too many: h_1 = 1 already)",
       WRONG_ANSWER, ANSWER_HINTS)
def answer_q2_twenty_factors():
    return 0.9 ** 20


@blind("sequence_models.answer_q2", "answer type",
       "0.135, three decimals where four are asked (0.1351)",
       WRONG_ANSWER + r"|decimal|precision|round", ANSWER_HINTS)
def answer_q2_three_decimals():
    return 0.135


# ===================================== rnn =====================================

@blind("rnn.rnn_cell", "string identity",
       "the option compared with `is`: an equal but not identical \"tanh\" (built at run time) raises ValueError",
       IS_STRING + r"|ValueError|nonlinearity", others())
def rnn_cell_is_comparison(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    if nonlinearity is "tanh":  # noqa: F632 (the mistake)
        return torch.tanh(pre)
    if nonlinearity is "relu":  # noqa: F632
        return torch.relu(pre)
    raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


@blind("rnn.rnn_cell", "extreme magnitudes",
       "tanh written as (e^a - e^-a) / (e^a + e^-a): NaN once e^a overflows (|a| of about 90 in float32, "
       "710 in float64)",
       OVERFLOW, others("activation"))
def rnn_cell_exp_tanh(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    if nonlinearity == "tanh":
        return (torch.exp(pre) - torch.exp(-pre)) / (torch.exp(pre) + torch.exp(-pre))
    if nonlinearity == "relu":
        return torch.relu(pre)
    raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


@blind("rnn.rnn_cell", "validation",
       "the option is lower-cased first, so \"TANH\" or \"Relu\" is accepted instead of raising ValueError",
       r"ValueError|upper.?case|lower.?case|case.?(in)?sensitive|TANH|RELU|Relu|Tanh|invalid", others())
def rnn_cell_case_insensitive(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    nonlinearity = nonlinearity.lower()
    return right.rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity)


@blind("rnn.rnn_cell", "bias",
       "the summed biases added as a column, (bias_ih + bias_hh)[:, None]: broadcasts to the wrong shape, or to "
       "wrong values when batch == hidden",
       r"bias[^\n]*column|column[^\n]*bias|\[:, None\]|broadcast", others("bias"))
def rnn_cell_bias_column(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = (x @ weight_ih.T + h @ weight_hh.T) + (bias_ih + bias_hh)[:, None]
    if nonlinearity == "tanh":
        return torch.tanh(pre)
    if nonlinearity == "relu":
        return torch.relu(pre)
    raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


@blind("rnn.rnn_cell", "device",
       "relu as torch.maximum(a, torch.zeros(a.shape, dtype=a.dtype)): the zeros are on the CPU",
       DEVICE, others("device"), needs_cuda=True)
def rnn_cell_relu_zeros_on_cpu(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    if nonlinearity == "tanh":
        return torch.tanh(pre)
    if nonlinearity == "relu":
        return torch.maximum(pre, torch.zeros(pre.shape, dtype=pre.dtype))
    raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


@blind("rnn.rnn_forward", "axes swapped",
       "batch_first input reordered with x.reshape(T, batch, input) instead of a transpose: the rows are "
       "scrambled across batch and time",
       AXES, others("axes", "transpose"))
def rnn_forward_reshape_for_batch_first(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.reshape(x.shape[1], x.shape[0], x.shape[2])
    h, outputs = h0, []
    for x_t in x:
        h = right.rnn_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@blind("rnn.rnn_forward", "non-contiguous input",
       "the input projections of all steps computed at once through x.view(-1, input_size): raises for a "
       "non-contiguous x",
       NON_CONTIGUOUS, others())
def rnn_forward_projects_with_view(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    projected = (x.view(-1, x.shape[-1]) @ weight_ih.T + bias_ih).view(x.shape[0], x.shape[1], -1)
    if batch_first:
        projected = projected.transpose(0, 1)
    h, outputs = h0, []
    for p_t in projected:
        h = torch.tanh(p_t + h @ weight_hh.T + bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@blind("rnn.rnn_forward", "long sequence",
       "the loop runs over range(min(T, 50)) steps (a cap for speed): output and h_n stop at step 50",
       TRUNCATED + r"|50", others())
def rnn_forward_fifty_steps(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for t in range(min(x.shape[0], 50)):
        h = right.rnn_cell(x[t], h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@blind("rnn.rnn_forward", "aliasing",
       "h_n returned as output[-1], a view into output: the two outputs share memory",
       ALIAS, others())
def rnn_forward_h_n_view(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        h = right.rnn_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), output[-1]


_rnn_outputs = []


@blind("rnn.rnn_forward", "state between calls",
       "the hidden states are appended to a module-level list that is never cleared: a second call returns "
       "the first call's steps too",
       STATE, others("cache"))
def rnn_forward_global_list(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h = h0
    for x_t in x:
        h = right.rnn_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        _rnn_outputs.append(h)
    output = torch.stack(_rnn_outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@blind("rnn.rnn_forward", "size one",
       "h_n returned as h.squeeze(0) (to drop PyTorch's layer dimension): a batch of one gives shape (hidden,)",
       SQUEEZE + r"|h_n", others("squeeze"))
def rnn_forward_h_n_squeezed(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    output, h = right.rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)
    return output, h.squeeze(0)


@blind("rnn.rnn_bptt", "long sequence",
       "backpropagation truncated to the last 20 steps: gradients of earlier steps are missing",
       TRUNCATED, others())
def rnn_bptt_last_twenty(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(x_t @ weight_ih.T + bias_ih + states[-1] @ weight_hh.T + bias_hh))
    grad_w_ih, grad_w_hh = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh)
    grad_b = torch.zeros_like(bias_ih)
    grad_h = grad_h_T
    for t in range(len(x), max(len(x) - 20, 0), -1):
        grad_pre = grad_h * (1 - states[t] ** 2)
        grad_w_ih += grad_pre.T @ x[t - 1]
        grad_w_hh += grad_pre.T @ states[t - 1]
        grad_b += grad_pre.sum(dim=0)
        grad_h = grad_pre @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


@blind("rnn.rnn_bptt", "time alignment",
       "dL/dW_hh accumulates e_t^T h_t instead of e_t^T h_{t-1}",
       r"h_\{?t ?- ?1|previous (hidden )?state|one step|off.by.one|weight_hh|W_hh", others("transpose"))
def rnn_bptt_whh_current_state(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(x_t @ weight_ih.T + bias_ih + states[-1] @ weight_hh.T + bias_hh))
    grad_w_ih, grad_w_hh = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh)
    grad_b = torch.zeros_like(bias_ih)
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        grad_pre = grad_h * (1 - states[t] ** 2)
        grad_w_ih += grad_pre.T @ x[t - 1]
        grad_w_hh += grad_pre.T @ states[t]
        grad_b += grad_pre.sum(dim=0)
        grad_h = grad_pre @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


@blind("rnn.rnn_bptt", "aliasing",
       "the same tensor returned for both bias gradients: the two outputs alias each other",
       ALIAS, others())
def rnn_bptt_one_bias_tensor(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    grad_w_ih, grad_w_hh, grad_b, _, grad_h0 = right.rnn_bptt(x, h0, weight_ih, weight_hh, bias_ih, bias_hh,
                                                              grad_h_T)
    return grad_w_ih, grad_w_hh, grad_b, grad_b, grad_h0


@functools.lru_cache(maxsize=None)
def _zeros_of_shape(shape, dtype):
    return torch.zeros(shape, dtype=dtype)


@blind("rnn.rnn_bptt", "state between calls",
       "the gradient accumulators come from an lru_cache'd zeros(shape): a second call with the same shapes "
       "starts from the first call's sums",
       STATE, others("cache"))
def rnn_bptt_cached_accumulators(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(x_t @ weight_ih.T + bias_ih + states[-1] @ weight_hh.T + bias_hh))
    grad_w_ih = _zeros_of_shape(tuple(weight_ih.shape), weight_ih.dtype).to(weight_ih.device)
    grad_w_hh = _zeros_of_shape(tuple(weight_hh.shape), weight_hh.dtype).to(weight_hh.device)
    grad_b = torch.zeros_like(bias_ih)
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        grad_pre = grad_h * (1 - states[t] ** 2)
        grad_w_ih += grad_pre.T @ x[t - 1]
        grad_w_hh += grad_pre.T @ states[t - 1]
        grad_b += grad_pre.sum(dim=0)
        grad_h = grad_pre @ weight_hh
    return grad_w_ih.clone(), grad_w_hh.clone(), grad_b, grad_b.clone(), grad_h


@blind("rnn.rnn_bptt", "formula",
       "delta_{t-1} = e_t W_hh^T instead of e_t W_hh (no shape error: W_hh is square)",
       r"transpos|W_hh\^?\{?T|weight_hh\.T|delta|h0", others("transpose"))
def rnn_bptt_transposed_recurrence(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(x_t @ weight_ih.T + bias_ih + states[-1] @ weight_hh.T + bias_hh))
    grad_w_ih, grad_w_hh = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh)
    grad_b = torch.zeros_like(bias_ih)
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        grad_pre = grad_h * (1 - states[t] ** 2)
        grad_w_ih += grad_pre.T @ x[t - 1]
        grad_w_hh += grad_pre.T @ states[t - 1]
        grad_b += grad_pre.sum(dim=0)
        grad_h = grad_pre @ weight_hh.T
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


@blind("rnn.hidden_gradient_norms", "formula",
       "the spectral norm (ord=2) instead of the Frobenius norm the part asks for",
       r"spectral|ord ?= ?2|frobenius|singular", others())
def hidden_norms_spectral(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian, ord=2)]
    for t in range(len(x), 0, -1):
        jacobian = jacobian @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(jacobian, ord=2))
    return torch.stack(norms[::-1])


@blind("rnn.hidden_gradient_norms", "long sequence",
       "the backward products stop after 50 steps: a sequence longer than 50 gets only 51 norms",
       TRUNCATED + r"|50", others())
def hidden_norms_fifty_steps(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian)]
    for t in range(len(x), max(len(x) - 50, 0), -1):
        jacobian = jacobian @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


@blind("rnn.hidden_gradient_norms", "time alignment",
       "J_k built with diag(1 - h_{k-1}^2), the state before the step, instead of h_k",
       r"h_\{?k ?- ?1|h_\{?t ?- ?1|previous state|one step|off.by.one|time (alignment|shift)|\bh_k\b",
       others())
def hidden_norms_previous_state(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian)]
    for t in range(len(x), 0, -1):
        jacobian = jacobian @ ((1 - states[t - 1] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


@blind("rnn.hidden_gradient_norms", "extreme magnitudes",
       "tanh of the forward pass written with exponentials: NaN norms once a pre-activation overflows exp",
       OVERFLOW, others("activation"))
def hidden_norms_exp_tanh(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        a = weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh
        states.append((torch.exp(2 * a) - 1) / (torch.exp(2 * a) + 1))
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian)]
    for t in range(len(x), 0, -1):
        jacobian = jacobian @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


@blind("rnn.hidden_gradient_norms", "dtype",
       "the identity made with torch.eye(H) without dtype: the product fails for float64 inputs",
       DTYPE + r"|eye|identity", others("dtype"))
def hidden_norms_float32_identity(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
    jacobian = torch.eye(len(h0), device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian)]
    for t in range(len(x), 0, -1):
        jacobian = jacobian @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


@blind("rnn.clip_grad_norm", "clipping rule",
       "each tensor clipped by its own norm instead of all together by the global norm",
       r"per.tensor|each tensor|separately|global norm|all (the )?(entries|tensors) together", others("clipping"))
def clip_per_tensor(grads, max_norm):
    total_norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    clipped = [g * torch.clamp(max_norm / (torch.linalg.vector_norm(g) + 1e-6), max=1.0) for g in grads]
    return clipped, total_norm


@blind("rnn.clip_grad_norm", "extreme magnitudes",
       "the scale is max_norm / total_norm without the 1e-6: wrong for tiny gradients (norms near 1e-6)",
       r"1e-6|1e-06|10\^\{?-6|epsilon|tiny|small (norm|gradient)", others("clipping"))
def clip_without_epsilon(grads, max_norm):
    total_norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = torch.clamp(max_norm / total_norm, max=1.0)
    return [g * scale for g in grads], total_norm


@blind("rnn.clip_grad_norm", "clipping rule",
       "clips only when total_norm > max_norm: a norm just below max_norm (within 1e-6, or tiny gradients) is "
       "left unscaled although min(1, max_norm / (norm + 1e-6)) < 1",
       r"\bmin\b|> ?max_norm|>=|below max_norm|less than max_norm|rule|1e-6", others("clipping"))
def clip_only_above_max(grads, max_norm):
    total_norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    if total_norm > max_norm:
        scale = max_norm / (total_norm + 1e-6)
        return [g * scale for g in grads], total_norm
    return [g.clone() for g in grads], total_norm


@blind("rnn.clip_grad_norm", "aliasing",
       "when no clipping is needed the input list itself is returned: the outputs are the input tensors",
       ALIAS + r"|new tensors|copy|input", others("in place"))
def clip_returns_inputs(grads, max_norm):
    total_norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    if total_norm + 1e-6 <= max_norm:
        return grads, total_norm
    scale = max_norm / (total_norm + 1e-6)
    return [g * scale for g in grads], total_norm


@blind("rnn.clip_grad_norm", "non-contiguous input",
       "the entries flattened with g.view(-1): raises for a non-contiguous gradient (a transposed view)",
       NON_CONTIGUOUS, others())
def clip_flatten_with_view(grads, max_norm):
    total_norm = torch.cat([g.view(-1) for g in grads]).norm()
    scale = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    return [g * scale for g in grads], total_norm


def _radius_norm(radius, steps, jacobian_of):
    """||dh_T/dh_0||_2 of the notebook's setup, run with the notebook's rnn_cell; J_k from jacobian_of(h_k, W)."""
    weights = random_cell_weights("rnn", 4, 32, radius, seed=0)
    weight_ih, weight_hh, bias_ih, bias_hh = (torch.as_tensor(getattr(weights, name)) for name in
                                              ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    inputs = torch.as_tensor(random_inputs(50, 4, seed=0))
    h = torch.zeros(1, 32, dtype=torch.float64)
    product = torch.eye(32, dtype=torch.float64)
    jacobians = []
    for x_t in inputs[:steps]:
        h = right.rnn_cell(x_t[None], h, weight_ih, weight_hh, bias_ih, bias_hh)
        jacobians.append(jacobian_of(h[0], weight_hh))
    for jacobian in reversed(jacobians):
        product = product @ jacobian
    return torch.linalg.matrix_norm(product, ord=2).item()


RADIUS_GRID = [round(0.5 + 0.05 * k, 2) for k in range(51)]


def _tanh_jacobian(h, weight_hh):
    return (1 - h ** 2)[:, None] * weight_hh


@blind("rnn.smallest_nonvanishing_radius", "long sequence",
       "the experiment runs 10 steps of the input instead of all 50: finds 1.4",
       WRONG_ANSWER + r"|steps|\b50\b", ANSWER_HINTS)
@functools.cache
def smallest_nonvanishing_radius_ten_steps():
    return next(r for r in RADIUS_GRID if _radius_norm(r, 10, _tanh_jacobian) >= 1.0)


@blind("rnn.smallest_nonvanishing_radius", "formula",
       "the step Jacobian taken as W_hh alone (the tanh's slope diag(1 - h_k^2) left out): finds 1.0, the "
       "linear RNN's threshold",
       WRONG_ANSWER + r"|1 - h|slope|derivative", ANSWER_HINTS)
@functools.cache
def smallest_nonvanishing_radius_linear_jacobian():
    return next(r for r in RADIUS_GRID if _radius_norm(r, 50, lambda h, w: w) >= 1.0)


@blind("rnn.smallest_nonvanishing_radius", "answer type",
       "the radius taken from a torch grid (torch.arange) and returned as a 0-dim tensor, not a float",
       TYPE_WORDS, ANSWER_HINTS)
@functools.cache
def smallest_nonvanishing_radius_as_tensor():
    grid = torch.arange(0.5, 3.0001, 0.05, dtype=torch.float64)
    return next(r for r in grid if _radius_norm(round(r.item(), 2), 50, _tanh_jacobian) >= 1.0)


@blind("rnn.answer_q1", "answer type",
       "the string \"0.6715\" instead of a number", TYPE_WORDS, ANSWER_HINTS)
def rnn_answer_q1_string():
    return "0.6715"


@blind("rnn.answer_q1", "answer value",
       "0.3517: only the last step's term e_3 h_2, the sum over time forgotten", WRONG_ANSWER, ANSWER_HINTS)
def rnn_answer_q1_last_term_only():
    return 0.3517


@blind("rnn.answer_q2", "answer value",
       "3.0: each tensor clipped on its own to max_norm", WRONG_ANSWER, ANSWER_HINTS)
def rnn_answer_q2_clipped_alone():
    return 3.0


@blind("rnn.answer_q2", "answer type",
       "torch.tensor([2.6471]), a 1-element tensor instead of a number", TYPE_WORDS, ANSWER_HINTS)
def rnn_answer_q2_tensor():
    return torch.tensor([2.6471])


# ===================================== lstm =====================================

@blind("lstm.forget_gate", "extreme magnitudes",
       "sigmoid written as exp(a) / (1 + exp(a)): NaN for large positive pre-activations (inf / inf)",
       OVERFLOW, others("activation"))
def forget_gate_exp_ratio(x, h, W_if, W_hf, b_if, b_hf):
    a = x @ W_if.T + b_if + h @ W_hf.T + b_hf
    return torch.exp(a) / (1 + torch.exp(a))


@blind("lstm.forget_gate", "extreme magnitudes",
       "a 'stable' sigmoid with torch.where over both branches: right values, but NaN gradients for large "
       "|pre-activations| (the unused branch overflows)",
       NAN_GRADIENT, others("activation"))
def forget_gate_where_sigmoid(x, h, W_if, W_hf, b_if, b_hf):
    a = x @ W_if.T + b_if + h @ W_hf.T + b_hf
    return torch.where(a >= 0, 1 / (1 + torch.exp(-a)), torch.exp(a) / (1 + torch.exp(a)))


@blind("lstm.input_gate", "extreme magnitudes",
       "pre-activations clamped to [-8, 8] before the sigmoid (to avoid overflow): saturated gates are off by "
       "up to 3e-4",
       CLAMPED, others("activation"))
def input_gate_clamped(x, h, W_ii, W_hi, b_ii, b_hi):
    a = x @ W_ii.T + b_ii + h @ W_hi.T + b_hi
    return torch.sigmoid(a.clamp(-8, 8))


@blind("lstm.input_gate", "input mutation",
       "the two biases merged in place (b_ii += b_hi): the input b_ii is changed",
       IN_PLACE + r"|b_ii", others("in place"))
def input_gate_merges_biases(x, h, W_ii, W_hi, b_ii, b_hi):
    b_ii += b_hi
    return torch.sigmoid(x @ W_ii.T + h @ W_hi.T + b_ii)


@blind("lstm.candidate", "extreme magnitudes",
       "tanh written as (exp(2a) - 1) / (exp(2a) + 1): NaN once exp(2a) overflows",
       OVERFLOW, others("activation"))
def candidate_exp_tanh(x, h, W_ig, W_hg, b_ig, b_hg):
    a = x @ W_ig.T + b_ig + h @ W_hg.T + b_hg
    return (torch.exp(2 * a) - 1) / (torch.exp(2 * a) + 1)


_candidate_weights = {}


@blind("lstm.candidate", "state between calls",
       "the stacked weights [W_ig; W_hg] are cached by shape: new weights of the same shapes are ignored",
       STATE, others("cache"))
def candidate_cached_stacked_weights(x, h, W_ig, W_hg, b_ig, b_hg):
    key = (tuple(W_ig.shape), tuple(W_hg.shape))
    if key not in _candidate_weights:
        _candidate_weights[key] = torch.cat([W_ig, W_hg], dim=1)
    return torch.tanh(torch.cat([x, h], dim=1) @ _candidate_weights[key].T + b_ig + b_hg)


@blind("lstm.cell_update", "aliasing",
       "computed in place in c (c.mul_(f).add_(i * g)) and c returned: the input is overwritten and the output "
       "is the input",
       ALIAS + "|" + IN_PLACE, others("in place"))
def cell_update_in_place(c, f, i, g):
    return c.mul_(f).add_(i * g)


@blind("lstm.cell_update", "formula",
       "f * c + i @ g: a matrix product where the elementwise product is meant (no error when batch == hidden)",
       r"matrix product|matmul|elementwise|i ?\* ?g|i_t ?\\odot ?g_t", others())
def cell_update_matrix_product(c, f, i, g):
    return f * c + i @ g


@blind("lstm.cell_update", "size one",
       "the result squeeze()d: a batch of one gives shape (hidden,)",
       SQUEEZE, others("squeeze"))
def cell_update_squeezed(c, f, i, g):
    return (f * c + i * g).squeeze()


@blind("lstm.output_gate_and_hidden", "extreme magnitudes",
       "tanh(c_next) written with exponentials: NaN for a large cell state",
       OVERFLOW + r"|c_next|cell state", others("activation"))
def output_gate_exp_tanh_of_cell(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho)
    tanh_c = (torch.exp(c_next) - torch.exp(-c_next)) / (torch.exp(c_next) + torch.exp(-c_next))
    return o, o * tanh_c


@blind("lstm.output_gate_and_hidden", "output type",
       "returns the list [o, h_next] instead of the tuple (o, h_next)",
       r"\blist\b|\btuple\b|container|type", others())
def output_gate_as_list(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho)
    return [o, o * torch.tanh(c_next)]


@blind("lstm.output_gate_and_hidden", "formula",
       "h_next = tanh(o * c_next): the gate applied inside the tanh",
       r"h_next|inside the tanh|tanh\(o|o ?\* ?tanh|order of", others("activation"))
def output_gate_inside_tanh(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho)
    return o, torch.tanh(o * c_next)


@blind("lstm.lstm_cell", "gate order",
       "blocks taken in the order i, f, o, g (the output gate's rows read as the candidate's)",
       r"gate order|order of the (gates|blocks)|i, f, g, o|\bi, ?f, ?o, ?g|blocks?|rows 2H|swapped", others("gate order"))
def lstm_cell_order_ifog(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    blocks = [w.chunk(4, dim=0) for w in (weight_ih, weight_hh, bias_ih, bias_hh)]
    i_w, f_w, o_w, g_w = zip(*blocks)
    i = right.input_gate(x, h, *i_w)
    f = right.forget_gate(x, h, *f_w)
    g = right.candidate(x, h, *g_w)
    c_next = right.cell_update(c, f, i, g)
    _, h_next = right.output_gate_and_hidden(x, h, c_next, *o_w)
    return h_next, c_next


@blind("lstm.lstm_cell", "non-contiguous input",
       "the four blocks taken without copying through torch.as_strided with the strides of a contiguous "
       "weight: non-contiguous weights (a transposed view) give the wrong blocks",
       NON_CONTIGUOUS + r"|as_strided", others())
def lstm_cell_strided_blocks(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    H, I = h.shape[1], x.shape[1]
    w_i = torch.as_strided(weight_ih, (4, H, I), (H * I, I, 1))
    w_h = torch.as_strided(weight_hh, (4, H, H), (H * H, H, 1))
    b = (bias_ih + bias_hh).view(4, H)
    i, f, g, o = (x @ w_i[k].T + h @ w_h[k].T + b[k] for k in range(4))
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


@blind("lstm.lstm_cell", "bias",
       "bias_hh never added (only bias_ih)",
       r"bias_hh|(missing|without|only one|second) bias|both biases", others("bias"))
def lstm_cell_without_bias_hh(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    return right.lstm_cell(x, state, weight_ih, weight_hh, bias_ih, torch.zeros_like(bias_hh))


@blind("lstm.lstm_cell", "input mutation",
       "the forget step done in place on the state's c (c.mul_(f)): the input state is changed",
       IN_PLACE + r"|state", others("in place"))
def lstm_cell_forgets_in_place(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    i_w, f_w, g_w, o_w = zip(*[w.chunk(4, dim=0) for w in (weight_ih, weight_hh, bias_ih, bias_hh)])
    i = right.input_gate(x, h, *i_w)
    f = right.forget_gate(x, h, *f_w)
    g = right.candidate(x, h, *g_w)
    c_next = c.mul_(f) + i * g
    _, h_next = right.output_gate_and_hidden(x, h, c_next, *o_w)
    return h_next, c_next


@blind("lstm.lstm_forward", "axes swapped",
       "batch_first handled with x.view(T, batch, input) instead of a transpose: rows scrambled",
       AXES, others("axes", "transpose"))
def lstm_forward_view_for_batch_first(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.view(x.shape[1], x.shape[0], x.shape[2])
    state, outputs = state0, []
    for x_t in x:
        state = right.lstm_cell(x_t, state, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(state[0])
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), tuple(state)


@blind("lstm.lstm_forward", "output type",
       "the final state returned as (c_n, h_n) instead of (h_n, c_n)",
       r"c_n|h_n|order|swapped", others("gate order"))
def lstm_forward_state_c_first(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    output, (h_n, c_n) = right.lstm_forward(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)
    return output, (c_n, h_n)


@blind("lstm.lstm_forward", "long sequence",
       "the loop stops after 10 steps (copied from a debugging run): a longer sequence gets 10 outputs",
       TRUNCATED + r"|10 steps|\b10\b", others())
def lstm_forward_ten_steps(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    state, outputs = state0, []
    for x_t in x[:10]:
        state = right.lstm_cell(x_t, state, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(state[0])
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), tuple(state)


@blind("lstm.lstm_forward", "aliasing",
       "h_n returned as output[-1] (or output[:, -1] when batch_first), a view into output",
       ALIAS, others())
def lstm_forward_h_n_view(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    output, (_, c_n) = right.lstm_forward(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)
    return output, (output[:, -1] if batch_first else output[-1], c_n)


@blind("lstm.lstm_param_count", "bias",
       "one bias vector per gate instead of two", r"(one|second|both|two) bias|bias", others("bias"))
def lstm_param_count_one_bias(input_size, hidden_size):
    return 4 * (hidden_size * input_size + hidden_size * hidden_size + hidden_size)


@blind("lstm.lstm_param_count", "output type",
       "computed with a float factor (4.0 * ...): a float where an int is asked", TYPE_WORDS, others())
def lstm_param_count_float(input_size, hidden_size):
    return 4.0 * hidden_size * (input_size + hidden_size + 2)


def _lstm_pieces(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    a_i, a_f, a_g, a_o = pre.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
    return i, f, g, o, f * c + i * g


@blind("lstm.lstm_step_backward", "missing term",
       "the gradient reaching C_t is only G_C: the path through h_t = o tanh(C_t) is left out",
       r"h_t ?= ?o|tanh\(C|path through h|two terms|G_h|grad_h_next|cell path|\"?c\"?.*(i|f|g) block|"
       r"blocks? i, f(,| and) g|rows 0:3H", others())
def lstm_step_backward_no_h_path_to_c(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    h, c = state
    i, f, g, o, c_next = _lstm_pieces(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * o * (1 - o)], dim=1)
    return {"x": grad_pre @ weight_ih, "h": grad_pre @ weight_hh, "c": grad_c_total * f,
            "weight_ih": grad_pre.T @ x, "weight_hh": grad_pre.T @ h,
            "bias_ih": grad_pre.sum(dim=0), "bias_hh": grad_pre.sum(dim=0)}


@blind("lstm.lstm_step_backward", "time alignment",
       "the forget gate's gradient uses C_t (c_next) instead of C_{t-1}",
       r"forget|\bf\b (gate|block)|block f|f block|rows? H:2H|C_\{?t ?- ?1|c_next", others())
def lstm_step_backward_forget_with_new_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next,
                                            grad_c_next):
    h, c = state
    i, f, g, o, c_next = _lstm_pieces(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c_next * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * o * (1 - o)], dim=1)
    return {"x": grad_pre @ weight_ih, "h": grad_pre @ weight_hh, "c": grad_c_total * f,
            "weight_ih": grad_pre.T @ x, "weight_hh": grad_pre.T @ h,
            "bias_ih": grad_pre.sum(dim=0), "bias_hh": grad_pre.sum(dim=0)}


@blind("lstm.lstm_step_backward", "aliasing",
       "one tensor returned for both bias gradients: \"bias_ih\" and \"bias_hh\" alias each other",
       ALIAS, others())
def lstm_step_backward_shared_bias_grad(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next,
                                        grad_c_next):
    grads = right_new.lstm_step_backward(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next,
                                         grad_c_next)
    grads["bias_hh"] = grads["bias_ih"]
    return grads


@blind("lstm.lstm_step_backward", "extreme magnitudes",
       "the gates recomputed with sigmoid = exp(a) / (1 + exp(a)): NaN gradients for large pre-activations",
       OVERFLOW, others("activation"))
def lstm_step_backward_exp_sigmoid(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    h, c = state
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    a_i, a_f, a_g, a_o = pre.chunk(4, dim=1)
    i, f, o = (torch.exp(a) / (1 + torch.exp(a)) for a in (a_i, a_f, a_o))
    g = torch.tanh(a_g)
    c_next = f * c + i * g
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * o * (1 - o)], dim=1)
    return {"x": grad_pre @ weight_ih, "h": grad_pre @ weight_hh, "c": grad_c_total * f,
            "weight_ih": grad_pre.T @ x, "weight_hh": grad_pre.T @ h,
            "bias_ih": grad_pre.sum(dim=0), "bias_hh": grad_pre.sum(dim=0)}


@blind("lstm.lstm_step_backward", "input mutation",
       "grad_h_next scaled in place (grad_h_next *= o) to form the output gate's term: the input is changed",
       IN_PLACE + r"|grad_h_next", others("in place"))
def lstm_step_backward_scales_grad_in_place(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next,
                                            grad_c_next):
    h, c = state
    i, f, g, o, c_next = _lstm_pieces(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_o = grad_h_next * tanh_c
    grad_h_next *= o
    grad_c_total = grad_c_next + grad_h_next * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_o * o * (1 - o)], dim=1)
    return {"x": grad_pre @ weight_ih, "h": grad_pre @ weight_hh, "c": grad_c_total * f,
            "weight_ih": grad_pre.T @ x, "weight_hh": grad_pre.T @ h,
            "bias_ih": grad_pre.sum(dim=0), "bias_hh": grad_pre.sum(dim=0)}


@blind("lstm.lstm_step_backward", "gate order",
       "the pre-activation gradients stacked in the order i, f, o, g instead of i, f, g, o",
       r"gate order|order of the (gates|blocks)|i, f, g, o|\bi, ?f, ?o, ?g|rows 2H:4H|blocks? g (and|,) o|"
       r"g and o", others("gate order"))
def lstm_step_backward_stacked_ifog(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    h, c = state
    i, f, g, o, c_next = _lstm_pieces(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_h_next * tanh_c * o * (1 - o), grad_c_total * i * (1 - g ** 2)], dim=1)
    return {"x": grad_pre @ weight_ih, "h": grad_pre @ weight_hh, "c": grad_c_total * f,
            "weight_ih": grad_pre.T @ x, "weight_hh": grad_pre.T @ h,
            "bias_ih": grad_pre.sum(dim=0), "bias_hh": grad_pre.sum(dim=0)}


@blind("lstm.lstm_bptt", "long sequence",
       "backpropagation stops after the last 10 steps (truncated BPTT): earlier steps contribute nothing",
       TRUNCATED, others())
def lstm_bptt_last_ten(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    states = [tuple(state0)]
    for x_t in x:
        states.append(right.lstm_cell(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh))
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    totals = {name: torch.zeros_like(w) for name, w in zip(names, (weight_ih, weight_hh, bias_ih, bias_hh))}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(max(x.shape[0] - 10, 0), x.shape[0])):
        step = right_new.lstm_step_backward(x[t], states[t], weight_ih, weight_hh, bias_ih, bias_hh, grad_h, grad_c)
        for name in names:
            totals[name] = totals[name] + step[name]
        grad_h, grad_c = step["h"], step["c"]
    return {**totals, "h0": grad_h, "c0": grad_c}


@blind("lstm.lstm_bptt", "time alignment",
       "step t is handed the state it produced, states[t + 1], instead of the one it received, states[t]",
       r"state (it|each step) (received|gets)|states\[t ?\+ ?1\]|one step|off.by.one|time (alignment|shift)|"
       r"wrong state", others())
def lstm_bptt_next_state(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    states = [tuple(state0)]
    for x_t in x:
        states.append(right.lstm_cell(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh))
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    totals = {name: torch.zeros_like(w) for name, w in zip(names, (weight_ih, weight_hh, bias_ih, bias_hh))}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(x.shape[0])):
        step = right_new.lstm_step_backward(x[t], states[t + 1], weight_ih, weight_hh, bias_ih, bias_hh, grad_h,
                                            grad_c)
        for name in names:
            totals[name] = totals[name] + step[name]
        grad_h, grad_c = step["h"], step["c"]
    return {**totals, "h0": grad_h, "c0": grad_c}


@blind("lstm.lstm_bptt", "missing term",
       "the weight gradients overwritten at every step (totals[name] = step[name]) instead of summed: only "
       "step 1's contribution is returned",
       r"sum(med)? over (the )?(time )?steps|accumulat|only (the )?(first|one) step|overwrit|shared", others())
def lstm_bptt_overwrites(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    states = [tuple(state0)]
    for x_t in x:
        states.append(right.lstm_cell(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh))
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    totals = {}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(x.shape[0])):
        step = right_new.lstm_step_backward(x[t], states[t], weight_ih, weight_hh, bias_ih, bias_hh, grad_h, grad_c)
        for name in names:
            totals[name] = step[name]
        grad_h, grad_c = step["h"], step["c"]
    return {**totals, "h0": grad_h, "c0": grad_c}


_lstm_states = []


@blind("lstm.lstm_bptt", "state between calls",
       "the forward states are appended to a module-level list and read by index from its start: a second "
       "call walks back through the first call's states",
       STATE, others("cache"))
def lstm_bptt_global_states(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    _lstm_states.append(tuple(state0))
    for x_t in x:
        _lstm_states.append(right.lstm_cell(x_t, _lstm_states[-1], weight_ih, weight_hh, bias_ih, bias_hh))
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    totals = {name: torch.zeros_like(w) for name, w in zip(names, (weight_ih, weight_hh, bias_ih, bias_hh))}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(x.shape[0])):
        step = right_new.lstm_step_backward(x[t], _lstm_states[t], weight_ih, weight_hh, bias_ih, bias_hh,
                                            grad_h, grad_c)
        for name in names:
            totals[name] = totals[name] + step[name]
        grad_h, grad_c = step["h"], step["c"]
    return {**totals, "h0": grad_h, "c0": grad_c}


@blind("lstm.answer_q1", "answer value",
       "\"o\": the output gate, as if a zero cell state silenced the road through h_t", WRONG_ANSWER, ANSWER_HINTS)
def lstm_answer_q1_output_gate():
    return "o"


@blind("lstm.answer_q1", "answer type",
       "\"F\", the right choice with a capital letter", WRONG_ANSWER + r"|upper.?case|lower.?case|case.?(in)?sensitive|capital|exact", ANSWER_HINTS)
def lstm_answer_q1_capitalised():
    return "F"


@blind("lstm.answer_q2", "answer value",
       "sigma(b)^99 = 1/2: one forget gate too few over the 100 steps", WRONG_ANSWER, ANSWER_HINTS)
def lstm_answer_q2_one_factor_short():
    kept_per_step = 0.5 ** (1 / 99)
    return math.log(kept_per_step / (1 - kept_per_step))


@blind("lstm.answer_q2", "answer type",
       "\"4.97\", the right number as a string", TYPE_WORDS + r"|string", ANSWER_HINTS)
def lstm_answer_q2_string():
    return "4.97"


def _trained():
    """The parameters of a correct training run (trained once per process); the entries below are what a
    student whose training had one mistake returns (their training is equivalent to this one's, transformed)."""
    return {name: value.clone() for name, value in right_new.trained_adding_parameters().items()}


@blind("lstm.adding_parameters", "gate order",
       "trained with a cell that reads the blocks as f, i, g, o: the returned rows are not in PyTorch's order "
       "i, f, g, o",
       r"gate order|order of the (gates|blocks)|i, f, g, o|rows", others("gate order"))
def adding_parameters_forget_block_first():
    parameters = _trained()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        i, f, g, o = parameters[name].chunk(4, dim=0)
        parameters[name] = torch.cat([f, i, g, o])
    return parameters


@blind("lstm.adding_parameters", "size one",
       "the head weight returned squeeze()d, shape (H,) instead of (1, H)",
       SQUEEZE + r"|head_weight|\(1, ?H\)", others("squeeze"))
def adding_parameters_head_squeezed():
    parameters = _trained()
    parameters["head_weight"] = parameters["head_weight"].squeeze()
    return parameters


# ===================================== gru =====================================

@blind("gru.reset_gate", "formula",
       "a hard sigmoid, clamp(0.2 a + 0.5, 0, 1) (Keras' fast approximation), instead of the logistic sigmoid",
       r"hard|piecewise|approximat|logistic|0\.2 ?\* ?a", others())
def reset_gate_hard_sigmoid(x, h, W_ir, W_hr, b_ir, b_hr):
    a = x @ W_ir.T + b_ir + h @ W_hr.T + b_hr
    return torch.clamp(0.2 * a + 0.5, 0.0, 1.0)


@blind("gru.reset_gate", "size one",
       "the gate squeeze()d: batch or hidden size 1 loses a dimension",
       SQUEEZE, others("squeeze"))
def reset_gate_squeezed(x, h, W_ir, W_hr, b_ir, b_hr):
    return torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr).squeeze()


@blind("gru.update_gate", "extreme magnitudes",
       "pre-activations clamped to [-10, 10] before the sigmoid: saturated gates off by 5e-5",
       CLAMPED, others("activation"))
def update_gate_clamped(x, h, W_iz, W_hz, b_iz, b_hz):
    return torch.sigmoid((x @ W_iz.T + b_iz + h @ W_hz.T + b_hz).clamp(-10, 10))


@blind("gru.update_gate", "device",
       "the pre-activation accumulated in torch.zeros(batch, hidden, dtype=x.dtype) without device=",
       DEVICE, others("device"), needs_cuda=True)
def update_gate_zeros_on_cpu(x, h, W_iz, W_hz, b_iz, b_hz):
    a = torch.zeros(x.shape[0], W_iz.shape[0], dtype=x.dtype)
    a = a + x @ W_iz.T + b_iz + h @ W_hz.T + b_hz
    return torch.sigmoid(a)


@blind("gru.gru_candidate", "reset placement",
       "the reset gate applied to h before the product, (r * h) W_hn^T + b_hn (Cho et al. v3, d2l)",
       r"reset[^\n]*(before|after)|before the (matrix )?product|r ?\* ?h|\(r_t ?\\odot ?h|Cho|d2l",
       others("reset"))
def gru_candidate_reset_before_product(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)


@blind("gru.gru_candidate", "bias",
       "b_hn added outside the reset: r * (h W_hn^T) + b_hn",
       r"b_hn|bias[^\n]*(inside|outside|reset)|reset[^\n]*bias", others("bias", "reset"))
def gru_candidate_bias_outside_reset(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T) + b_hn)


@blind("gru.gru_candidate", "extreme magnitudes",
       "tanh written as (e^a - e^-a) / (e^a + e^-a): NaN for large pre-activations",
       OVERFLOW, others("activation"))
def gru_candidate_exp_tanh(x, h, r, W_in, W_hn, b_in, b_hn):
    a = x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn)
    return (torch.exp(a) - torch.exp(-a)) / (torch.exp(a) + torch.exp(-a))


@blind("gru.gru_hidden_update", "formula",
       "the roles of z swapped: z * n + (1 - z) * h",
       r"\bz\b.*(swapped|roles)|1 ?- ?z|\(1 ?- ?z_t\)|interpolat", others())
def gru_hidden_update_swapped(h, z, n):
    return z * n + (1 - z) * h


@blind("gru.gru_hidden_update", "input mutation",
       "h updated in place (h.mul_(z).add_(...)) and returned: the input is changed",
       IN_PLACE + "|" + ALIAS, others("in place"))
def gru_hidden_update_in_place(h, z, n):
    return h.mul_(z).add_((1 - z) * n)


@blind("gru.gru_cell", "gate order",
       "blocks taken in the order z, r, n instead of r, z, n",
       r"gate order|order of the (gates|blocks)|r, z, n|\bz, ?r, ?n|rows 0:2H|swapped|blocks? r (and|,) z",
       others("gate order"))
def gru_cell_order_zrn(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    z_w, r_w, n_w = zip(*[w.chunk(3, dim=0) for w in (weight_ih, weight_hh, bias_ih, bias_hh)])
    r = right.reset_gate(x, h, *r_w)
    z = right.update_gate(x, h, *z_w)
    n = right.gru_candidate(x, h, r, *n_w)
    return right.gru_hidden_update(h, z, n)


@blind("gru.gru_cell", "reset placement",
       "the candidate built with the reset before the product, (r * h) W_hn^T + b_hn",
       r"reset[^\n]*(before|after)|before the (matrix )?product|r ?\* ?h|Cho|d2l|candidate|\bn\b (block|rows)",
       others("reset"))
def gru_cell_reset_before_product(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    r_w, z_w, (W_in, W_hn, b_in, b_hn) = zip(*[w.chunk(3, dim=0) for w in (weight_ih, weight_hh, bias_ih, bias_hh)])
    r = right.reset_gate(x, h, *r_w)
    z = right.update_gate(x, h, *z_w)
    n = torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
    return right.gru_hidden_update(h, z, n)


_gru_blocks = {}


@blind("gru.gru_cell", "state between calls",
       "the split blocks cached by the weights' shapes: new weights of the same shapes are ignored",
       STATE, others("cache"))
def gru_cell_cached_blocks(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    key = (tuple(weight_ih.shape), tuple(weight_hh.shape))
    if key not in _gru_blocks:
        _gru_blocks[key] = [w.chunk(3, dim=0) for w in (weight_ih, weight_hh, bias_ih, bias_hh)]
    r_w, z_w, n_w = zip(*_gru_blocks[key])
    r = right.reset_gate(x, h, *r_w)
    z = right.update_gate(x, h, *z_w)
    n = right.gru_candidate(x, h, r, *n_w)
    return right.gru_hidden_update(h, z, n)


@blind("gru.gru_forward", "axes swapped",
       "batch_first handled with x.reshape(T, batch, input): rows scrambled across batch and time",
       AXES, others("axes", "transpose"))
def gru_forward_reshape_for_batch_first(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.reshape(x.shape[1], x.shape[0], x.shape[2])
    h, outputs = h0, []
    for x_t in x:
        h = right.gru_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@blind("gru.gru_forward", "long sequence",
       "the loop capped at 50 steps: a longer sequence is cut",
       TRUNCATED + r"|50", others())
def gru_forward_fifty_steps(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x[:50]:
        h = right.gru_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


_gru_outputs = []


@blind("gru.gru_forward", "state between calls",
       "outputs collected in a module-level list that is never cleared",
       STATE, others("cache"))
def gru_forward_global_list(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h = h0
    for x_t in x:
        h = right.gru_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        _gru_outputs.append(h)
    output = torch.stack(_gru_outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@blind("gru.parameter_counts", "bias",
       "the RNN counted with one bias vector (PyTorch's RNN has two)",
       r"rnn[^\n]*bias|bias[^\n]*rnn|(one|second|both|two) bias", others("bias"))
def parameter_counts_rnn_one_bias(input_size, hidden_size):
    per_block = hidden_size * (input_size + hidden_size) + 2 * hidden_size
    return {"rnn": per_block - hidden_size, "gru": 3 * per_block, "lstm": 4 * per_block}


@blind("gru.parameter_counts", "output type",
       "the GRU count computed as 3/4 of the LSTM's: a float where an int is asked",
       TYPE_WORDS, others())
def parameter_counts_gru_as_fraction(input_size, hidden_size):
    per_block = hidden_size * (input_size + hidden_size) + 2 * hidden_size
    lstm = 4 * per_block
    return {"rnn": per_block, "gru": lstm * 3 / 4, "lstm": lstm}


@blind("gru.parameter_counts", "output type",
       "keys in capitals (\"RNN\", \"GRU\", \"LSTM\") instead of \"rnn\", \"gru\", \"lstm\"",
       r"\bkeys?\b|RNN|GRU|LSTM", others())
def parameter_counts_capital_keys(input_size, hidden_size):
    per_block = hidden_size * (input_size + hidden_size) + 2 * hidden_size
    return {"RNN": per_block, "GRU": 3 * per_block, "LSTM": 4 * per_block}


def _gru_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    ax_r, ax_z, ax_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
    ah_r, ah_z, ah_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(ax_r + ah_r), torch.sigmoid(ax_z + ah_z)
    n = torch.tanh(ax_n + r * ah_n)
    return ah_n, r, z, n


@blind("gru.gru_step_backward", "missing term",
       "the direct path z * G of h_{t-1} left out of \"h\" (only the paths through the matrix products)",
       r"direct|z ?\* ?G|z_t ?\\odot|three (roads|paths)|path", others())
def gru_step_backward_no_direct_path(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    ah_n, r, z, n = _gru_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (h - n) * z * (1 - z)
    grad_ax = torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1)
    grad_ah = torch.cat([grad_a_r, grad_a_z, grad_a_n * r], dim=1)
    return {"x": grad_ax @ weight_ih, "h": grad_ah @ weight_hh,
            "weight_ih": grad_ax.T @ x, "weight_hh": grad_ah.T @ h,
            "bias_ih": grad_ax.sum(dim=0), "bias_hh": grad_ah.sum(dim=0)}


@blind("gru.gru_step_backward", "reset placement",
       "the recurrent part's n block not multiplied by r (the input part's gradient reused)",
       r"\bn\b (block|rows)|block n|rows? 2H:3H|reset|\br\b", others("reset"))
def gru_step_backward_recurrent_n_without_r(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    ah_n, r, z, n = _gru_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (h - n) * z * (1 - z)
    grad_ax = torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1)
    return {"x": grad_ax @ weight_ih, "h": grad_h_next * z + grad_ax @ weight_hh,
            "weight_ih": grad_ax.T @ x, "weight_hh": grad_ax.T @ h,
            "bias_ih": grad_ax.sum(dim=0), "bias_hh": grad_ax.sum(dim=0)}


@blind("gru.gru_step_backward", "sign",
       "the update gate's gradient with (n - h) instead of (h - n)",
       r"\bsign\b|h ?- ?n|n ?- ?h|\bz\b (block|rows)|block z|rows? H:2H|update", others("sign"))
def gru_step_backward_update_sign(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    ah_n, r, z, n = _gru_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (n - h) * z * (1 - z)
    grad_ax = torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1)
    grad_ah = torch.cat([grad_a_r, grad_a_z, grad_a_n * r], dim=1)
    return {"x": grad_ax @ weight_ih, "h": grad_h_next * z + grad_ah @ weight_hh,
            "weight_ih": grad_ax.T @ x, "weight_hh": grad_ah.T @ h,
            "bias_ih": grad_ax.sum(dim=0), "bias_hh": grad_ah.sum(dim=0)}


@blind("gru.gru_step_backward", "extreme magnitudes",
       "the gates recomputed with sigmoid = exp(a) / (1 + exp(a)): NaN gradients for large pre-activations",
       OVERFLOW, others("activation"))
def gru_step_backward_exp_sigmoid(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    ax_r, ax_z, ax_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
    ah_r, ah_z, ah_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
    r, z = (torch.exp(a) / (1 + torch.exp(a)) for a in (ax_r + ah_r, ax_z + ah_z))
    n = torch.tanh(ax_n + r * ah_n)
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (h - n) * z * (1 - z)
    grad_ax = torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1)
    grad_ah = torch.cat([grad_a_r, grad_a_z, grad_a_n * r], dim=1)
    return {"x": grad_ax @ weight_ih, "h": grad_h_next * z + grad_ah @ weight_hh,
            "weight_ih": grad_ax.T @ x, "weight_hh": grad_ah.T @ h,
            "bias_ih": grad_ax.sum(dim=0), "bias_hh": grad_ah.sum(dim=0)}


@blind("gru.gru_step_backward", "dtype",
       "the gradients accumulated in torch.zeros(...) made without dtype: float32 results for float64 inputs",
       DTYPE, others("dtype"))
def gru_step_backward_float32_buffers(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    grads = right_new.gru_step_backward(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next)
    out = {}
    for name, value in grads.items():
        buffer = torch.zeros(value.shape, device=value.device)
        buffer += value
        out[name] = buffer
    return out


@blind("gru.answer_q1", "answer value",
       "\"r\": the reset gate's block instead of the candidate's", WRONG_ANSWER, ANSWER_HINTS)
def gru_answer_q1_reset_block():
    return "r"


@blind("gru.answer_q1", "answer type",
       "\"N\", the right block in capitals", WRONG_ANSWER + r"|upper.?case|lower.?case|case.?(in)?sensitive|capital|exact", ANSWER_HINTS)
def gru_answer_q1_capital():
    return "N"


@blind("gru.answer_q2", "answer value",
       "\"z\": the gate that multiplies h_{t-1}, whose gradient G * (h_{t-1} - n_t) is not zero", WRONG_ANSWER,
       ANSWER_HINTS)
def gru_answer_q2_update_gate():
    return "z"


@blind("gru.answer_q2", "answer type",
       "\"r \", the right choice with a trailing space", WRONG_ANSWER + r"|space|exact", ANSWER_HINTS)
def gru_answer_q2_trailing_space():
    return "r "
