"""Blind set, SEALED half: wrong implementations of every graded part, measured only in aggregate.

Written after issue 14 without reading the check or hint code: from the notebooks' texts, the book, PyTorch's
equations and the correct functions in tests/reference_solutions*.py. The kinds of mistake are those of
blind_tuning.py (see blind_common.KINDS); the entries are different. Do not tune checks or hints on this file:
tests/heldout/measure_blind.py --set sealed prints aggregate figures only, and nothing else should print
its messages.
"""
import functools

import numpy as np
import torch

import reference_solutions as right
import reference_solutions_new_parts as right_new
from blind_common import (ALIAS, ANSWER_HINTS, AXES, CLAMPED, DEVICE, DTYPE, ILL_CONDITIONED, IN_PLACE,
                          IS_STRING, NAN_GRADIENT, NON_CONTIGUOUS, OVERFLOW, SQUEEZE, STATE, TRUNCATED,
                          TYPE_WORDS, WRONG_ANSWER, others, registry)
from rnn_demos.gradients import random_cell_weights, random_inputs

BLIND_SEALED = []
KIND = {}
blind = registry(BLIND_SEALED, KIND)


# ===================================== sequence_models =====================================

@blind("sequence_models.ar_design_matrix", "off by one",
       "X = x.unfold(0, tau, 1): T - tau + 1 windows, one more than targets",
       r"one (row|window) too many|T ?- ?tau ?\+ ?1|off.by.one|last window|unfold", others())
def ar_design_unfold_every_window(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    return x.unfold(0, tau, 1), x[tau:]


@blind("sequence_models.ar_design_matrix", "formula",
       "each window newest value first (columns reversed)",
       r"revers|newest (value )?first|oldest first|column order|time order|flip", others())
def ar_design_newest_first(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    X = torch.stack([x[i:i + tau] for i in range(len(x) - tau)])
    return X.flip(1), x[tau:]


@blind("sequence_models.ar_design_matrix", "validation",
       "the bound test is tau < 0, so tau = 0 returns an empty design instead of raising ValueError",
       r"tau ?(==|=) ?0|ValueError|no window", others())
def ar_design_accepts_tau_zero(x, tau):
    if tau < 0 or tau >= len(x):
        raise ValueError("tau must satisfy 0 <= tau < T")
    X = torch.stack([x[j:len(x) - tau + j] for j in range(tau)], dim=1) if tau else x.new_zeros(len(x), 0)
    return X, x[tau:]


_design_cache = {}


@blind("sequence_models.ar_design_matrix", "state between calls",
       "the design cached by (len(x), tau): a second series of the same length gets the first one's windows",
       STATE, others("cache"))
def ar_design_cached_by_length(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    key = (len(x), tau)
    if key not in _design_cache:
        _design_cache[key] = torch.stack([x[i:i + tau] for i in range(len(x) - tau)])
    return _design_cache[key], x[tau:]


@blind("sequence_models.ar_design_matrix", "device",
       "windows built in numpy (sliding_window_view) and brought back with torch.from_numpy: fails for a "
       "series on a GPU, and the result would be on the CPU",
       DEVICE + r"|numpy", others("device"), needs_cuda=True)
def ar_design_through_numpy(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    windows = np.lib.stride_tricks.sliding_window_view(x.numpy(), tau)[:-1].copy()
    return torch.from_numpy(windows), x[tau:]


@blind("sequence_models.fit_ar", "ill-conditioned",
       "least squares by torch.linalg.solve on the normal equations (X1^T X1) w = X1^T y: the condition "
       "number is squared, so an ill-conditioned series loses its digits",
       ILL_CONDITIONED, others())
def fit_ar_solve_normal_equations(x, tau):
    X, y = right.ar_design_matrix(x, tau)
    X1 = torch.cat([X, torch.ones(len(y), 1, dtype=x.dtype, device=x.device)], dim=1)
    solution = torch.linalg.solve(X1.T @ X1, X1.T @ y)
    return solution[:-1], solution[-1]


@blind("sequence_models.fit_ar", "formula",
       "no column of ones: the fit has no intercept and b is returned as zero",
       r"intercept|column of ones|\bb\b", others())
def fit_ar_no_intercept(x, tau):
    X, y = right.ar_design_matrix(x, tau)
    w = torch.linalg.lstsq(X, y[:, None]).solution[:, 0]
    return w, torch.zeros((), dtype=x.dtype, device=x.device)


@blind("sequence_models.fit_ar", "size one",
       "w returned as the (tau, 1) column that lstsq gives, not a vector of shape (tau,)",
       r"\(tau, ?1\)|column|shape \(\d+, 1\)|2-d|two dimensions", others())
def fit_ar_w_column(x, tau):
    X, y = right.ar_design_matrix(x, tau)
    X1 = torch.cat([X, torch.ones(len(y), 1, dtype=x.dtype, device=x.device)], dim=1)
    solution = torch.linalg.lstsq(X1, y[:, None]).solution
    return solution[:-1], solution[-1, 0]


@blind("sequence_models.fit_ar", "dtype",
       "the augmented design converted with .float() before lstsq: float32 coefficients for a float64 series",
       DTYPE, others("dtype"))
def fit_ar_float_design(x, tau):
    X, y = right.ar_design_matrix(x, tau)
    X1 = torch.cat([X, torch.ones(len(y), 1, dtype=x.dtype, device=x.device)], dim=1).float()
    solution = torch.linalg.lstsq(X1, y.float()[:, None]).solution[:, 0]
    return solution[:-1], solution[-1]


@blind("sequence_models.predict_ahead", "output type",
       "returns the Python list of predictions instead of a tensor of shape (k,)",
       r"\blist\b|\btensor\b|type|container", others())
def predict_ahead_list(history, w, b, k):
    window = history[-len(w):].clone()
    predictions = []
    for _ in range(k):
        value = window @ w + b
        predictions.append(value)
        window = torch.cat([window[1:], value[None]])
    return predictions


@blind("sequence_models.predict_ahead", "off by one",
       "the loop runs range(1, k): k - 1 forecasts",
       r"off.by.one|k ?- ?1|one (forecast|prediction|value) (too few|missing|short)|range\(1", others("time"))
def predict_ahead_one_short(history, w, b, k):
    window = history[-len(w):].clone()
    predictions = []
    for _ in range(1, k):
        value = window @ w + b
        predictions.append(value)
        window = torch.cat([window[1:], value[None]])
    return torch.stack(predictions) if predictions else history.new_zeros(0)


@blind("sequence_models.predict_ahead", "formula",
       "the window multiplied newest first (window.flip(0) @ w), against the column order of fit_ar",
       r"revers|newest (value )?first|oldest|flip|order of (the )?(window|weights)|w\[-1\]", others())
def predict_ahead_weights_reversed(history, w, b, k):
    window = history[-len(w):].clone()
    predictions = []
    for _ in range(k):
        value = window.flip(0) @ w + b
        predictions.append(value)
        window = torch.cat([window[1:], value[None]])
    return torch.stack(predictions)


@blind("sequence_models.predict_ahead", "long sequence",
       "stops at len(history) forecasts (\"cannot forecast further than the data\"): k > len(history) is cut",
       TRUNCATED + r"|len\(history\)|length of (the )?history", others())
def predict_ahead_no_further_than_history(history, w, b, k):
    window = history[-len(w):].clone()
    predictions = []
    for _ in range(min(k, len(history))):
        value = window @ w + b
        predictions.append(value)
        window = torch.cat([window[1:], value[None]])
    return torch.stack(predictions)


@blind("sequence_models.predict_ahead", "size one",
       "the window squeeze()d: with tau = 1 it is 0-dim and window @ w fails",
       SQUEEZE + r"|tau ?= ?1", others("squeeze"))
def predict_ahead_squeezed_window(history, w, b, k):
    window = history[-len(w):].clone().squeeze()
    predictions = []
    for _ in range(k):
        value = window @ w + b
        predictions.append(value)
        window = torch.cat([window[1:], value[None]])
    return torch.stack(predictions)


@blind("sequence_models.predict_ahead", "device",
       "forecasts written into torch.zeros(k, dtype=history.dtype) made without device=",
       DEVICE, others("device"), needs_cuda=True)
def predict_ahead_buffer_on_cpu(history, w, b, k):
    window = history[-len(w):].clone()
    predictions = torch.zeros(k, dtype=history.dtype)
    for step in range(k):
        value = window @ w + b
        predictions[step] = value
        window = torch.cat([window[1:], value[None]])
    return predictions


@blind("sequence_models.transition_matrix", "markov counting",
       "K taken from the data, states.max() + 1, instead of n_states: too small when the highest states never "
       "occur",
       r"n_states|highest state|never occur|states\.max", others())
def transition_size_from_data(states, n_states):
    K = int(states.max()) + 1
    counts = torch.zeros(K, K, dtype=torch.float64, device=states.device)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    totals = counts.sum(dim=1, keepdim=True)
    A = counts / torch.where(totals == 0, torch.ones_like(totals), totals)
    A[totals[:, 0] == 0] = 1.0 / K
    return A


@blind("sequence_models.transition_matrix", "markov counting",
       "rows never left get 1 / (number of distinct symbols seen) instead of 1 / K",
       r"uniform|never left|1/K|1 / K|n_states|distinct", others())
def transition_uniform_over_seen(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64, device=states.device)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    totals = counts.sum(dim=1, keepdim=True)
    A = counts / torch.where(totals == 0, torch.ones_like(totals), totals)
    A[totals[:, 0] == 0] = 1.0 / len(torch.unique(states))
    return A


@blind("sequence_models.transition_matrix", "formula",
       "counts normalised by their column sums instead of their row sums",
       r"column|row sums?|sum over (the )?(wrong|first) (axis|dim)|dim ?= ?0|transpos", others())
def transition_column_normalised(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64, device=states.device)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    totals = counts.sum(dim=0, keepdim=True)
    A = counts / torch.where(totals == 0, torch.ones_like(totals), totals)
    A[:, totals[0] == 0] = 1.0 / n_states
    return A


@blind("sequence_models.transition_matrix", "non-contiguous input",
       "pairs read with torch.as_strided(states, (T - 1, 2), (1, 1)), which assumes stride 1: a strided "
       "states tensor gives the wrong pairs",
       NON_CONTIGUOUS + r"|as_strided", others())
def transition_strided_pairs(states, n_states):
    pairs = torch.as_strided(states, (len(states) - 1, 2), (1, 1))
    counts = torch.zeros(n_states, n_states, dtype=torch.float64, device=states.device)
    for a, b in pairs.tolist():
        counts[a, b] += 1
    totals = counts.sum(dim=1, keepdim=True)
    A = counts / torch.where(totals == 0, torch.ones_like(totals), totals)
    A[totals[:, 0] == 0] = 1.0 / n_states
    return A


@blind("sequence_models.transition_matrix", "dtype",
       "integer counts divided by integer totals: the result is float32 (torch's default), not float64",
       DTYPE, others("dtype"))
def transition_integer_counts(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.long, device=states.device)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    totals = counts.sum(dim=1, keepdim=True)
    A = counts / torch.where(totals == 0, torch.ones_like(totals), totals)
    A[totals[:, 0] == 0] = 1.0 / n_states
    return A


@blind("sequence_models.markov_log_likelihood", "missing term",
       "the initial term log p0(x_1) left out",
       r"p0|first (symbol|state)|initial", others())
def markov_without_initial(states, A, p0):
    return torch.log(A[states[:-1], states[1:]]).sum()


@blind("sequence_models.markov_log_likelihood", "dtype",
       "summed into torch.zeros(()) in place: a float32 result for float64 probabilities",
       DTYPE, others("dtype"))
def markov_float32_total(states, A, p0):
    total = torch.zeros(())
    total += torch.log(p0[states[0]])
    total += torch.log(A[states[:-1], states[1:]]).sum()
    return total


@blind("sequence_models.markov_log_likelihood", "off by one",
       "transitions taken from the second step on, A[states[1:-1], states[2:]]: the first transition is lost",
       r"first transition|off.by.one|x_1 ?(->|to|→) ?x_2|states\[1:-1\]|one transition (too few|missing)",
       others("time"))
def markov_skips_first_transition(states, A, p0):
    return torch.log(p0[states[0]]) + torch.log(A[states[1:-1], states[2:]]).sum()


@blind("sequence_models.markov_log_likelihood", "size one",
       "the transition terms stacked from a Python list: torch.stack([]) raises for a sequence of one symbol",
       r"one symbol|single symbol|T ?= ?1|length 1|no transition|stack", others())
def markov_stacked_terms(states, A, p0):
    terms = torch.stack([torch.log(A[states[t - 1], states[t]]) for t in range(1, len(states))])
    return torch.log(p0[states[0]]) + terms.sum()


@blind("sequence_models.latent_update", "formula",
       "the two weights swapped: h @ W_ih.T + x @ W_hh.T (no error when d_x == d_h)",
       r"swapped|W_ih|W_hh|which weight multiplies", others())
def latent_update_weights_swapped(h, x, W_hh, W_ih):
    return h @ W_ih.T + x @ W_hh.T


@blind("sequence_models.latent_update", "dtype",
       "the result converted with .float(): float32 for float64 inputs",
       DTYPE, others("dtype"))
def latent_update_float(h, x, W_hh, W_ih):
    return (h @ W_hh.T + x @ W_ih.T).float()


@blind("sequence_models.latent_update", "size one",
       "a batch of one computed with matrix-vector products, W_hh @ h[0] + W_ih @ x[0]: shape (d_h,) instead of "
       "(1, d_h)",
       SQUEEZE + r"|batch of (one|1)|batch ?= ?1", others())
def latent_update_batch_of_one_as_vector(h, x, W_hh, W_ih):
    if h.shape[0] == 1:
        return W_hh @ h[0] + W_ih @ x[0]
    return h @ W_hh.T + x @ W_ih.T


@blind("sequence_models.answer_q1", "answer value",
       "0.7143: pi_1 returned instead of pi_0", WRONG_ANSWER, ANSWER_HINTS)
def seq_answer_q1_other_symbol():
    return 5 / 7


@blind("sequence_models.answer_q1", "answer type",
       "np.float32(2/7), a numpy scalar (and rounded to float32) instead of a Python number",
       TYPE_WORDS, ANSWER_HINTS)
def seq_answer_q1_numpy_float32():
    return np.float32(2 / 7)


@blind("sequence_models.answer_q1", "answer type",
       "the string \"2/7\" instead of a number", TYPE_WORDS + r"|string", ANSWER_HINTS)
def seq_answer_q1_string():
    return "2/7"


@blind("sequence_models.answer_q2", "answer type",
       "torch.tensor(0.9 ** 19), a 0-dim tensor instead of a number", TYPE_WORDS, ANSWER_HINTS)
def seq_answer_q2_tensor():
    return torch.tensor(0.9 ** 19)


@blind("sequence_models.answer_q2", "answer type",
       "0.1350: four decimals truncated instead of rounded (0.13509 is 0.1351)",
       WRONG_ANSWER + r"|decimal|precision|round", ANSWER_HINTS)
def seq_answer_q2_truncated():
    return 0.1350


@blind("sequence_models.answer_q2", "answer value",
       "0.9 ** 18: one factor too few", WRONG_ANSWER, ANSWER_HINTS)
def seq_answer_q2_eighteen_factors():
    return 0.9 ** 18


# ===================================== rnn =====================================

@blind("rnn.rnn_cell", "string identity",
       "\"relu\" compared with `is` (\"tanh\" with ==): an equal but not identical \"relu\" raises ValueError",
       IS_STRING + r"|ValueError|nonlinearity|relu", others())
def rnn_cell_is_relu(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    if nonlinearity == "tanh":
        return torch.tanh(pre)
    if nonlinearity is "relu":  # noqa: F632 (the mistake)
        return torch.relu(pre)
    raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


@blind("rnn.rnn_cell", "extreme magnitudes",
       "tanh as torch.sinh(a) / torch.cosh(a): inf / inf = NaN for large |a|",
       OVERFLOW + r"|sinh|cosh", others("activation"))
def rnn_cell_sinh_over_cosh(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    if nonlinearity == "tanh":
        return torch.sinh(pre) / torch.cosh(pre)
    if nonlinearity == "relu":
        return torch.relu(pre)
    raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


@blind("rnn.rnn_cell", "validation",
       "any option other than \"tanh\" is treated as relu: no ValueError for \"sigmoid\"",
       r"ValueError|invalid|sigmoid|other (value|option)", others())
def rnn_cell_relu_otherwise(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    if nonlinearity == "tanh":
        return torch.tanh(pre)
    return torch.relu(pre)


@blind("rnn.rnn_cell", "dtype",
       "the state cast with h.float() \"to match the weights\": float32 for float64 inputs (or a dtype error)",
       DTYPE, others("dtype"))
def rnn_cell_float_state(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    return right.rnn_cell(x.float(), h.float(), weight_ih.float(), weight_hh.float(), bias_ih.float(),
                          bias_hh.float(), nonlinearity)


@blind("rnn.rnn_cell", "size one",
       "the result squeeze(0)d: a batch of one gives shape (hidden,)",
       SQUEEZE, others("squeeze"))
def rnn_cell_squeezed(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    return right.rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity).squeeze(0)


@blind("rnn.rnn_forward", "axes swapped",
       "batch_first input transposed, but the output is left time first",
       r"batch.first|time first|axes|transpos", others("axes", "transpose"))
def rnn_forward_output_time_first(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        h = right.rnn_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    return torch.stack(outputs), h


@blind("rnn.rnn_forward", "time alignment",
       "h_n taken as outputs[0], the first step's state, instead of the last",
       r"h_n|first (step|state)|last (step|state)|h_T|h_1", others())
def rnn_forward_h_n_first_step(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        h = right.rnn_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), outputs[0]


@blind("rnn.rnn_forward", "input mutation",
       "the state updated in place in h0 (h[:] = ...; outputs cloned): h0 is overwritten and h_n is h0 itself",
       IN_PLACE + r"|h0|" + ALIAS, others("in place"))
def rnn_forward_updates_h0(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        h[:] = right.rnn_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h.clone())
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@blind("rnn.rnn_forward", "long sequence",
       "the input cut to its first 64 steps (x[:64]) to keep the loop short",
       TRUNCATED + r"|64", others())
def rnn_forward_first_64_steps(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x[:64]:
        h = right.rnn_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@blind("rnn.rnn_forward", "dtype",
       "output preallocated with torch.empty(T, batch, hidden) without dtype: float32 for float64 inputs",
       DTYPE, others("dtype"))
def rnn_forward_preallocated_float32(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    output = torch.empty(x.shape[0], x.shape[1], h0.shape[1], device=x.device)
    h = h0
    for t in range(x.shape[0]):
        h = right.rnn_cell(x[t], h, weight_ih, weight_hh, bias_ih, bias_hh)
        output[t] = h
    return (output.transpose(0, 1) if batch_first else output), h


_first_states = {}


@blind("rnn.rnn_forward", "state between calls",
       "the initial state remembered per shape (\"h0 only on the first call\"): a later call with a new h0 of "
       "the same shape starts from the old one",
       STATE + r"|h0", others("cache"))
def rnn_forward_remembers_h0(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    h = _first_states.setdefault(tuple(h0.shape), h0)
    if batch_first:
        x = x.transpose(0, 1)
    outputs = []
    for x_t in x:
        h = right.rnn_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@blind("rnn.rnn_bptt", "extreme magnitudes",
       "the forward pass recomputed with tanh = (e^a - e^-a) / (e^a + e^-a): NaN gradients for large "
       "pre-activations",
       OVERFLOW, others("activation"))
def rnn_bptt_exp_tanh(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = [h0]
    for x_t in x:
        a = x_t @ weight_ih.T + bias_ih + states[-1] @ weight_hh.T + bias_hh
        states.append((torch.exp(a) - torch.exp(-a)) / (torch.exp(a) + torch.exp(-a)))
    grad_w_ih, grad_w_hh = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh)
    grad_b = torch.zeros_like(bias_ih)
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        grad_pre = grad_h * (1 - states[t] ** 2)
        grad_w_ih += grad_pre.T @ x[t - 1]
        grad_w_hh += grad_pre.T @ states[t - 1]
        grad_b += grad_pre.sum(dim=0)
        grad_h = grad_pre @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


@blind("rnn.rnn_bptt", "formula",
       "the bias gradients averaged over the batch (mean) instead of summed",
       r"mean|average|sum(med)? over the batch|batch size|bias", others())
def rnn_bptt_bias_mean(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
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
        grad_b += grad_pre.mean(dim=0)
        grad_h = grad_pre @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


@blind("rnn.rnn_bptt", "off by one",
       "the gradient for h0 returned as delta_1 (the last multiplication by W_hh is skipped)",
       r"h0|delta_?\{?1|delta_?\{?0|one step|off.by.one|last (multiplication|product)", others("time"))
def rnn_bptt_h0_is_delta_one(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
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
        if t > 1:
            grad_h = grad_pre @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


@blind("rnn.rnn_bptt", "time alignment",
       "dL/dW_ih pairs e_t with x[T - t] (the inputs walked in the wrong direction)",
       r"x_\{?t|input of (the )?(wrong )?step|revers|weight_ih|W_ih|time (alignment|order)", others("transpose"))
def rnn_bptt_inputs_reversed(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(x_t @ weight_ih.T + bias_ih + states[-1] @ weight_hh.T + bias_hh))
    grad_w_ih, grad_w_hh = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh)
    grad_b = torch.zeros_like(bias_ih)
    grad_h = grad_h_T
    T = len(x)
    for t in range(T, 0, -1):
        grad_pre = grad_h * (1 - states[t] ** 2)
        grad_w_ih += grad_pre.T @ x[T - t]
        grad_w_hh += grad_pre.T @ states[t - 1]
        grad_b += grad_pre.sum(dim=0)
        grad_h = grad_pre @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


@blind("rnn.rnn_bptt", "missing term",
       "the weight gradients assigned (=) at each step instead of summed (+=): only step 1's term is returned",
       r"sum(med)? over (time|the steps)|accumulat|only (the )?(first|one) step|overwrit|shared", others())
def rnn_bptt_assigns_weight_grads(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(x_t @ weight_ih.T + bias_ih + states[-1] @ weight_hh.T + bias_hh))
    grad_b = torch.zeros_like(bias_ih)
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        grad_pre = grad_h * (1 - states[t] ** 2)
        grad_w_ih = grad_pre.T @ x[t - 1]
        grad_w_hh = grad_pre.T @ states[t - 1]
        grad_b += grad_pre.sum(dim=0)
        grad_h = grad_pre @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


_bptt_states = []


@blind("rnn.rnn_bptt", "state between calls",
       "the forward states kept in a module-level list and read from its start: a second call uses the first "
       "call's states",
       STATE, others("cache"))
def rnn_bptt_global_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    _bptt_states.append(h0)
    for x_t in x:
        _bptt_states.append(torch.tanh(x_t @ weight_ih.T + bias_ih + _bptt_states[-1] @ weight_hh.T + bias_hh))
    grad_w_ih, grad_w_hh = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh)
    grad_b = torch.zeros_like(bias_ih)
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        grad_pre = grad_h * (1 - _bptt_states[t] ** 2)
        grad_w_ih += grad_pre.T @ x[t - 1]
        grad_w_hh += grad_pre.T @ _bptt_states[t - 1]
        grad_b += grad_pre.sum(dim=0)
        grad_h = grad_pre @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


@blind("rnn.rnn_bptt", "long sequence",
       "gradients stop flowing after 32 steps back (truncated BPTT with k = 32)",
       TRUNCATED + r"|32", others())
def rnn_bptt_last_32(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
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
        grad_h = grad_pre @ weight_hh if len(x) - t < 31 else torch.zeros_like(grad_h)
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


@blind("rnn.hidden_gradient_norms", "time alignment",
       "the norms returned in the order they were computed (entry 0 is the identity's), not reversed",
       r"revers|order|entry (0|T)|identity|first entry|last entry", others())
def hidden_norms_not_reversed(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian)]
    for t in range(len(x), 0, -1):
        jacobian = jacobian @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms)


@blind("rnn.hidden_gradient_norms", "formula",
       "the product built from the other side (J_k times the running product): J_{t+1} ... J_T instead of "
       "J_T ... J_{t+1}",
       r"order of the (product|factors)|product order|J_T ?(\.\.\.|…|\\cdots)|other side|from the left|from the right", others())
def hidden_norms_product_other_side(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian)]
    for t in range(len(x), 0, -1):
        jacobian = ((1 - states[t] ** 2)[:, None] * weight_hh) @ jacobian
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


@blind("rnn.hidden_gradient_norms", "off by one",
       "the identity's norm (entry T) left out: T entries instead of T + 1",
       r"T ?\+ ?1|entry T|identity|one (entry|value) (too few|missing)|off.by.one", others("time"))
def hidden_norms_without_identity(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = []
    for t in range(len(x), 0, -1):
        jacobian = jacobian @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


@blind("rnn.hidden_gradient_norms", "size one",
       "each state squeeze()d: with one hidden unit it is 0-dim and the diagonal factor cannot be indexed",
       SQUEEZE + r"|hidden (size )?(of )?1|one hidden unit", others("squeeze"))
def hidden_norms_squeezed_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh).squeeze())
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian)]
    for t in range(len(x), 0, -1):
        jacobian = jacobian @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


@blind("rnn.hidden_gradient_norms", "long sequence",
       "the sequence cut to its first 64 steps (x[:64]) for speed",
       TRUNCATED + r"|64", others())
def hidden_norms_first_64(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    return right.hidden_gradient_norms(x[:64], h0, weight_ih, weight_hh, bias_ih, bias_hh)


@blind("rnn.hidden_gradient_norms", "extreme magnitudes",
       "pre-activations clamped to [-5, 5] before the tanh (to avoid overflow): saturated states are wrong",
       CLAMPED, others("activation"))
def hidden_norms_clamped(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh((weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh).clamp(-5, 5)))
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian)]
    for t in range(len(x), 0, -1):
        jacobian = jacobian @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


@blind("rnn.clip_grad_norm", "formula",
       "total_norm returned after clipping (the norm of the clipped tensors), not before",
       r"total_norm|before clipping|after clipping|clipped norm", others())
def clip_returns_clipped_norm(grads, max_norm):
    total_norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    clipped = [g * scale for g in grads]
    return clipped, torch.sqrt(sum((g ** 2).sum() for g in clipped))


@blind("rnn.clip_grad_norm", "input mutation",
       "scaled in place (g.mul_(scale)) like clip_grad_norm_, and the input list returned",
       IN_PLACE + "|" + ALIAS, others("in place"))
def clip_in_place(grads, max_norm):
    total_norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    for g in grads:
        g.mul_(scale)
    return grads, total_norm


@blind("rnn.clip_grad_norm", "output type",
       "total_norm computed with math.sqrt over floats: a Python float instead of a 0-dim tensor",
       r"0-dim|tensor|\bfloat\b|type", others())
def clip_total_as_float(grads, max_norm):
    import math
    total_norm = math.sqrt(sum(float((g ** 2).sum()) for g in grads))
    scale = min(1.0, max_norm / (total_norm + 1e-6))
    return [g * scale for g in grads], total_norm


@blind("rnn.clip_grad_norm", "clipping rule",
       "the scale max_norm / (norm + 1e-6) applied always, without min(1, ...): small gradients are scaled up",
       r"\bmin\b|min\(1|scaled up|enlarg|below max_norm|never (scale|grow)|rule", others("clipping"))
def clip_always_rescales(grads, max_norm):
    total_norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = max_norm / (total_norm + 1e-6)
    return [g * scale for g in grads], total_norm


@blind("rnn.clip_grad_norm", "extreme magnitudes",
       "the 1e-6 added to max_norm instead of the norm: all-zero gradients give 0 * inf = NaN",
       r"1e-6|1e-06|epsilon|zero gradients|nan|division by zero|\+ ?1e", others("clipping"))
def clip_epsilon_on_max_norm(grads, max_norm):
    total_norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = torch.clamp((max_norm + 1e-6) / total_norm, max=1.0)
    return [g * scale for g in grads], total_norm


@blind("rnn.clip_grad_norm", "clipping rule",
       "the norm taken as the sum of each tensor's norm instead of the square root of the sum of squares",
       r"sum of (the )?norms|square root|sqrt|global norm|sum of squares", others("clipping"))
def clip_sum_of_norms(grads, max_norm):
    total_norm = sum(torch.linalg.vector_norm(g) for g in grads)
    scale = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    return [g * scale for g in grads], total_norm


def _radius_norm(radius, jacobians_of, seed=0):
    """||dh_50/dh_0||_2 with the notebook's rnn_cell; `jacobians_of(states, W_hh)` lists J_1 .. J_T."""
    weights = random_cell_weights("rnn", 4, 32, radius, seed=seed)
    weight_ih, weight_hh, bias_ih, bias_hh = (torch.as_tensor(getattr(weights, name)) for name in
                                              ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    h = torch.zeros(1, 32, dtype=torch.float64)
    states = []
    for x_t in torch.as_tensor(random_inputs(50, 4, seed=seed)):
        h = right.rnn_cell(x_t[None], h, weight_ih, weight_hh, bias_ih, bias_hh)
        states.append(h[0])
    product = torch.eye(32, dtype=torch.float64)
    for jacobian in reversed(jacobians_of(states, weight_hh)):
        product = product @ jacobian
    return torch.linalg.matrix_norm(product, ord=2).item()


GRID = [round(0.5 + 0.05 * k, 2) for k in range(51)]


def _all_factors(states, weight_hh):
    return [(1 - h ** 2)[:, None] * weight_hh for h in states]


@blind("rnn.smallest_nonvanishing_radius", "missing term",
       "only the last step's Jacobian J_50 is taken, not the product of all 50: finds 1.05",
       WRONG_ANSWER + r"|product|factor", ANSWER_HINTS)
@functools.cache
def smallest_nonvanishing_radius_last_factor():
    return next(r for r in GRID if _radius_norm(r, lambda states, w: [(1 - states[-1] ** 2)[:, None] * w]) >= 1.0)


@blind("rnn.smallest_nonvanishing_radius", "formula",
       "the slope taken as 1 - h_k instead of 1 - h_k^2: finds 0.85",
       WRONG_ANSWER + r"|1 - h|slope|derivative", ANSWER_HINTS)
@functools.cache
def smallest_nonvanishing_radius_wrong_slope():
    return next(r for r in GRID if _radius_norm(r, lambda states, w: [(1 - h)[:, None] * w for h in states]) >= 1.0)


@blind("rnn.smallest_nonvanishing_radius", "answer value",
       "the experiment run with seed=1 instead of the setup's seed=0: finds 1.6",
       WRONG_ANSWER + r"|seed", ANSWER_HINTS)
@functools.cache
def smallest_nonvanishing_radius_seed_one():
    return next(r for r in GRID if _radius_norm(r, _all_factors, seed=1) >= 1.0)


@blind("rnn.smallest_nonvanishing_radius", "answer type",
       "returns the index of the radius in the grid (an int) instead of the radius",
       TYPE_WORDS + r"|index of|grid index|position in the grid", ANSWER_HINTS)
@functools.cache
def smallest_nonvanishing_radius_index():
    return next(k for k, r in enumerate(GRID) if _radius_norm(r, _all_factors) >= 1.0)


@blind("rnn.answer_q1", "answer type",
       "np.float32(0.6715), a numpy scalar instead of a Python number", TYPE_WORDS, ANSWER_HINTS)
def rnn_answer_q1_numpy_float32():
    return np.float32(0.6715)


@blind("rnn.answer_q1", "answer value",
       "1.0: the tanh left out, as if h_3 = W_hh^2 x_1 and dL/dW_hh = 2 W_hh",
       WRONG_ANSWER, ANSWER_HINTS)
def rnn_answer_q1_linear_forward():
    return 1.0


@blind("rnn.answer_q2", "answer type",
       "np.float32(2.6471), a numpy scalar instead of a Python number", TYPE_WORDS, ANSWER_HINTS)
def rnn_answer_q2_numpy():
    return np.float32(2.6471)


@blind("rnn.answer_q2", "answer value",
       "0.1765: the scale 3/17 instead of the clipped tensor's norm", WRONG_ANSWER, ANSWER_HINTS)
def rnn_answer_q2_scale():
    return 3 / 17


# ===================================== lstm =====================================

@blind("lstm.forget_gate", "bias",
       "only b_if added (b_hf left out)",
       r"b_hf|(missing|without|only one|second) bias|both biases", others("bias"))
def forget_gate_one_bias(x, h, W_if, W_hf, b_if, b_hf):
    return torch.sigmoid(x @ W_if.T + h @ W_hf.T + b_if)


@blind("lstm.forget_gate", "dtype",
       "the gate returned with .float(): float32 for float64 inputs",
       DTYPE, others("dtype"))
def forget_gate_float(x, h, W_if, W_hf, b_if, b_hf):
    return torch.sigmoid(x @ W_if.T + b_if + h @ W_hf.T + b_hf).float()


@blind("lstm.input_gate", "extreme magnitudes",
       "sigmoid as torch.where(a >= 0, 1 / (1 + exp(-a)), exp(a) / (1 + exp(a))): right values, NaN "
       "gradients for large |a|",
       NAN_GRADIENT, others("activation"))
def input_gate_where_sigmoid(x, h, W_ii, W_hi, b_ii, b_hi):
    a = x @ W_ii.T + b_ii + h @ W_hi.T + b_hi
    return torch.where(a >= 0, 1 / (1 + torch.exp(-a)), torch.exp(a) / (1 + torch.exp(a)))


@blind("lstm.input_gate", "formula",
       "tanh instead of sigmoid for the gate",
       r"tanh|sigmoid|activation|range \(0, ?1\)|negative", others("activation"))
def input_gate_tanh(x, h, W_ii, W_hi, b_ii, b_hi):
    return torch.tanh(x @ W_ii.T + b_ii + h @ W_hi.T + b_hi)


@blind("lstm.candidate", "formula",
       "sigmoid instead of tanh for the candidate",
       r"tanh|sigmoid|activation|\(-1, ?1\)|negative", others("activation"))
def candidate_sigmoid(x, h, W_ig, W_hg, b_ig, b_hg):
    return torch.sigmoid(x @ W_ig.T + b_ig + h @ W_hg.T + b_hg)


@blind("lstm.candidate", "extreme magnitudes",
       "pre-activations clamped to [-4, 4] before the tanh",
       CLAMPED, others("activation"))
def candidate_clamped(x, h, W_ig, W_hg, b_ig, b_hg):
    return torch.tanh((x @ W_ig.T + b_ig + h @ W_hg.T + b_hg).clamp(-4, 4))


_candidate_biases = {}


@blind("lstm.candidate", "state between calls",
       "the sum of the two biases cached by shape: new biases of the same shape are ignored",
       STATE, others("cache"))
def candidate_cached_bias_sum(x, h, W_ig, W_hg, b_ig, b_hg):
    key = tuple(b_ig.shape)
    if key not in _candidate_biases:
        _candidate_biases[key] = b_ig + b_hg
    return torch.tanh(x @ W_ig.T + h @ W_hg.T + _candidate_biases[key])


@blind("lstm.cell_update", "formula",
       "the roles of c and g swapped: f * g + i * c",
       r"f ?\* ?g|i ?\* ?c|swapped|roles|forget[^\n]*old cell", others())
def cell_update_swapped_roles(c, f, i, g):
    return f * g + i * c


@blind("lstm.cell_update", "aliasing",
       "computed with torch.addcmul(f * c, i, g, out=c): the result is written into c and c returned",
       ALIAS + "|" + IN_PLACE, others("in place"))
def cell_update_out_is_c(c, f, i, g):
    return torch.addcmul(f * c, i, g, out=c)


@blind("lstm.cell_update", "device",
       "the sum accumulated in torch.zeros(c.shape, dtype=c.dtype) made without device=",
       DEVICE, others("device"), needs_cuda=True)
def cell_update_zeros_on_cpu(c, f, i, g):
    c_next = torch.zeros(c.shape, dtype=c.dtype)
    c_next += f * c
    c_next += i * g
    return c_next


@blind("lstm.output_gate_and_hidden", "formula",
       "h_next = o * c_next: the tanh of the cell state left out",
       r"tanh\(c|tanh of (the )?cell|h_next|squash", others())
def output_gate_no_tanh(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho)
    return o, o * c_next


@blind("lstm.output_gate_and_hidden", "output type",
       "returns (h_next, o) instead of (o, h_next)",
       r"order|swapped|\(o, ?h_next\)|first|second", others("gate order"))
def output_gate_swapped_outputs(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho)
    return o * torch.tanh(c_next), o


@blind("lstm.output_gate_and_hidden", "aliasing",
       "h_next computed in place in o (o.mul_(tanh(c_next))): the two outputs are one tensor and o is lost",
       ALIAS + r"|in.?place|\bo\b", others("in place"))
def output_gate_h_in_o(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho)
    h_next = o.mul_(torch.tanh(c_next))
    return o, h_next


@blind("lstm.lstm_cell", "gate order",
       "blocks taken in the order f, i, g, o",
       r"gate order|order of the (gates|blocks)|i, f, g, o|\bf, ?i, ?g, ?o|rows 0:2H|swapped|blocks? i (and|,) f",
       others("gate order"))
def lstm_cell_order_figo(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    f_w, i_w, g_w, o_w = zip(*[w.chunk(4, dim=0) for w in (weight_ih, weight_hh, bias_ih, bias_hh)])
    i = right.input_gate(x, h, *i_w)
    f = right.forget_gate(x, h, *f_w)
    g = right.candidate(x, h, *g_w)
    c_next = right.cell_update(c, f, i, g)
    _, h_next = right.output_gate_and_hidden(x, h, c_next, *o_w)
    return h_next, c_next


@blind("lstm.lstm_cell", "time alignment",
       "h_next computed from the old cell, o * tanh(C_{t-1}), instead of the updated one",
       r"C_\{?t ?- ?1|old cell|updated cell|c_next|tanh\(c", others())
def lstm_cell_hidden_from_old_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    i_w, f_w, g_w, o_w = zip(*[w.chunk(4, dim=0) for w in (weight_ih, weight_hh, bias_ih, bias_hh)])
    i = right.input_gate(x, h, *i_w)
    f = right.forget_gate(x, h, *f_w)
    g = right.candidate(x, h, *g_w)
    c_next = right.cell_update(c, f, i, g)
    _, h_next = right.output_gate_and_hidden(x, h, c, *o_w)
    return h_next, c_next


@blind("lstm.lstm_cell", "extreme magnitudes",
       "the gates' sigmoid written as exp(a) / (1 + exp(a)): NaN for large pre-activations",
       OVERFLOW, others("activation"))
def lstm_cell_exp_sigmoid(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    a_i, a_f, a_g, a_o = (x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
    i, f, o = (torch.exp(a) / (1 + torch.exp(a)) for a in (a_i, a_f, a_o))
    c_next = f * c + i * torch.tanh(a_g)
    return o * torch.tanh(c_next), c_next


_lstm_blocks = {}


@blind("lstm.lstm_cell", "state between calls",
       "the split blocks cached by the weights' shapes: new weights of the same shapes are ignored",
       STATE, others("cache"))
def lstm_cell_cached_blocks(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    key = (tuple(weight_ih.shape), tuple(weight_hh.shape))
    if key not in _lstm_blocks:
        _lstm_blocks[key] = [w.chunk(4, dim=0) for w in (weight_ih, weight_hh, bias_ih, bias_hh)]
    h, c = state
    i_w, f_w, g_w, o_w = zip(*_lstm_blocks[key])
    i = right.input_gate(x, h, *i_w)
    f = right.forget_gate(x, h, *f_w)
    g = right.candidate(x, h, *g_w)
    c_next = right.cell_update(c, f, i, g)
    _, h_next = right.output_gate_and_hidden(x, h, c_next, *o_w)
    return h_next, c_next


@blind("lstm.lstm_cell", "output type",
       "returns the list [h_next, c_next] instead of a tuple",
       r"\blist\b|\btuple\b|container|type", others())
def lstm_cell_returns_list(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    return list(right.lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh))


@blind("lstm.lstm_forward", "formula",
       "output stacks the cell states c_t instead of the hidden states h_t",
       r"cell state|c_t|h_t|hidden states|output", others())
def lstm_forward_stacks_cells(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    state, outputs = state0, []
    for x_t in x:
        state = right.lstm_cell(x_t, state, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(state[1])
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), tuple(state)


@blind("lstm.lstm_forward", "axes swapped",
       "batch_first input transposed but the output left time first",
       r"batch.first|time first|axes|transpos", others("axes", "transpose"))
def lstm_forward_output_time_first(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    state, outputs = state0, []
    for x_t in x:
        state = right.lstm_cell(x_t, state, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(state[0])
    return torch.stack(outputs), tuple(state)


@blind("lstm.lstm_forward", "output type",
       "returns the flat tuple (output, h_n, c_n) instead of (output, (h_n, c_n))",
       r"\btuple\b|nested|\(h_n, ?c_n\)|length|container|3 (items|elements)", others())
def lstm_forward_flat_tuple(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    output, (h_n, c_n) = right.lstm_forward(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)
    return output, h_n, c_n


_lstm_outputs = []


@blind("lstm.lstm_forward", "state between calls",
       "hidden states appended to a module-level list that is never cleared",
       STATE, others("cache"))
def lstm_forward_global_list(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    state = state0
    for x_t in x:
        state = right.lstm_cell(x_t, state, weight_ih, weight_hh, bias_ih, bias_hh)
        _lstm_outputs.append(state[0])
    output = torch.stack(_lstm_outputs)
    return (output.transpose(0, 1) if batch_first else output), tuple(state)


@blind("lstm.lstm_forward", "size one",
       "the final states squeeze(0)d to drop PyTorch's layer dimension: a batch of one gives (hidden,)",
       SQUEEZE + r"|h_n|c_n", others("squeeze"))
def lstm_forward_squeezed_state(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    output, (h_n, c_n) = right.lstm_forward(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)
    return output, (h_n.squeeze(0), c_n.squeeze(0))


@blind("lstm.lstm_forward", "long sequence",
       "the loop runs range(min(T, 64))",
       TRUNCATED + r"|64", others())
def lstm_forward_64_steps(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    state, outputs = state0, []
    for t in range(min(x.shape[0], 64)):
        state = right.lstm_cell(x[t], state, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(state[0])
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), tuple(state)


@blind("lstm.lstm_param_count", "formula",
       "three blocks counted instead of four (the GRU's count)",
       r"four|4 blocks|three|3 blocks|gates", others())
def lstm_param_count_three_blocks(input_size, hidden_size):
    return 3 * (hidden_size * input_size + hidden_size * hidden_size + 2 * hidden_size)


@blind("lstm.lstm_param_count", "output type",
       "computed with np.prod: a numpy integer instead of a Python int",
       TYPE_WORDS, others())
def lstm_param_count_numpy(input_size, hidden_size):
    return 4 * (np.prod([hidden_size, input_size]) + np.prod([hidden_size, hidden_size]) + 2 * hidden_size)


@blind("lstm.lstm_param_count", "axes swapped",
       "input and hidden sizes swapped: 4 * (I * H + I * I + 2 * I)",
       r"swapped|input_size|hidden_size|W_hh", others())
def lstm_param_count_sizes_swapped(input_size, hidden_size):
    return 4 * (input_size * hidden_size + input_size * input_size + 2 * input_size)


def _pieces(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    a_i, a_f, a_g, a_o = pre.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
    return i, f, g, o, f * c + i * g


def _lstm_grads(x, h, weight_ih, weight_hh, grad_pre, grad_c_prev):
    return {"x": grad_pre @ weight_ih, "h": grad_pre @ weight_hh, "c": grad_c_prev,
            "weight_ih": grad_pre.T @ x, "weight_hh": grad_pre.T @ h,
            "bias_ih": grad_pre.sum(dim=0), "bias_hh": grad_pre.sum(dim=0)}


@blind("lstm.lstm_step_backward", "missing term",
       "the gradient reaching C_t leaves out G_C (only the path through h_t)",
       r"G_C|grad_c_next|carousel|two terms|\"?c\"?[^\n]*(i|f|g) block|blocks? i, f(,| and) g|rows 0:3H",
       others())
def lstm_step_backward_no_carousel_term(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next,
                                        grad_c_next):
    h, c = state
    i, f, g, o, c_next = _pieces(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * o * (1 - o)], dim=1)
    return _lstm_grads(x, h, weight_ih, weight_hh, grad_pre, grad_c_total * f)


@blind("lstm.lstm_step_backward", "missing term",
       "the gradient for \"c\" returned as the total gradient at C_t, without the factor f",
       r"\"c\"|'c'|`c`|factor f|times f|forget|C_\{?t ?- ?1", others())
def lstm_step_backward_c_without_forget(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    h, c = state
    i, f, g, o, c_next = _pieces(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * o * (1 - o)], dim=1)
    return _lstm_grads(x, h, weight_ih, weight_hh, grad_pre, grad_c_total)


@blind("lstm.lstm_step_backward", "formula",
       "the output gate's derivative taken as 1 - o^2 (tanh's) instead of o (1 - o)",
       r"output gate|\bo\b (block|gate)|block o|o block|rows? 3H:4H|sigmoid'|derivative", others())
def lstm_step_backward_output_gate_tanh_slope(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next,
                                              grad_c_next):
    h, c = state
    i, f, g, o, c_next = _pieces(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * (1 - o ** 2)], dim=1)
    return _lstm_grads(x, h, weight_ih, weight_hh, grad_pre, grad_c_total * f)


@blind("lstm.lstm_step_backward", "sign",
       "the candidate's derivative written g^2 - 1 instead of 1 - g^2",
       r"\bsign\b|candidate|\bg\b (block|gate)|block g|g block|rows? 2H:3H", others("sign"))
def lstm_step_backward_candidate_sign(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    h, c = state
    i, f, g, o, c_next = _pieces(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_c_total * i * (g ** 2 - 1), grad_h_next * tanh_c * o * (1 - o)], dim=1)
    return _lstm_grads(x, h, weight_ih, weight_hh, grad_pre, grad_c_total * f)


@blind("lstm.lstm_step_backward", "time alignment",
       "dL/dW_hh computed with h_t (the step's output) instead of h_{t-1}",
       r"weight_hh|W_hh|h_\{?t ?- ?1|h_next|previous state", others())
def lstm_step_backward_whh_with_new_h(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    h, c = state
    i, f, g, o, c_next = _pieces(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * o * (1 - o)], dim=1)
    grads = _lstm_grads(x, h, weight_ih, weight_hh, grad_pre, grad_c_total * f)
    grads["weight_hh"] = grad_pre.T @ (o * tanh_c)
    return grads


@blind("lstm.lstm_step_backward", "output type",
       "keys named after the notation, \"W_ih\" and \"W_hh\", instead of \"weight_ih\" and \"weight_hh\"",
       r"\bkeys?\b|W_ih|W_hh|missing", others())
def lstm_step_backward_notation_keys(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    grads = right_new.lstm_step_backward(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next,
                                         grad_c_next)
    grads["W_ih"], grads["W_hh"] = grads.pop("weight_ih"), grads.pop("weight_hh")
    return grads


@blind("lstm.lstm_bptt", "missing term",
       "only the cell gradient is carried to the earlier step: the \"h\" gradient of each step is dropped",
       r"\"h\"|h path|grad_h|through h|h_\{?t ?- ?1|carried|flows? into", others())
def lstm_bptt_drops_h_gradient(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    states = [tuple(state0)]
    for x_t in x:
        states.append(right.lstm_cell(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh))
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    totals = {name: torch.zeros_like(w) for name, w in zip(names, (weight_ih, weight_hh, bias_ih, bias_hh))}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(x.shape[0])):
        step = right_new.lstm_step_backward(x[t], states[t], weight_ih, weight_hh, bias_ih, bias_hh, grad_h, grad_c)
        for name in names:
            totals[name] = totals[name] + step[name]
        grad_h, grad_c = torch.zeros_like(grad_h), step["c"]
    return {**totals, "h0": step["h"], "c0": grad_c}


@blind("lstm.lstm_bptt", "long sequence",
       "the backward loop capped at 64 steps from the end",
       TRUNCATED + r"|64", others())
def lstm_bptt_last_64(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    states = [tuple(state0)]
    for x_t in x:
        states.append(right.lstm_cell(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh))
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    totals = {name: torch.zeros_like(w) for name, w in zip(names, (weight_ih, weight_hh, bias_ih, bias_hh))}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(max(0, x.shape[0] - 64), x.shape[0])):
        step = right_new.lstm_step_backward(x[t], states[t], weight_ih, weight_hh, bias_ih, bias_hh, grad_h, grad_c)
        for name in names:
            totals[name] = totals[name] + step[name]
        grad_h, grad_c = step["h"], step["c"]
    return {**totals, "h0": grad_h, "c0": grad_c}


@blind("lstm.lstm_bptt", "aliasing",
       "one tensor returned for both bias gradients",
       ALIAS, others())
def lstm_bptt_shared_bias(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    grads = right_new.lstm_bptt(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T)
    grads["bias_hh"] = grads["bias_ih"]
    return grads


@functools.lru_cache(maxsize=None)
def _accumulator(shape, dtype):
    return torch.zeros(shape, dtype=dtype)


@blind("lstm.lstm_bptt", "state between calls",
       "the weight-gradient accumulators come from an lru_cache'd zeros(shape) and are summed in place: a "
       "second call with the same shapes starts from the first call's totals",
       STATE, others("cache"))
def lstm_bptt_cached_accumulators(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    states = [tuple(state0)]
    for x_t in x:
        states.append(right.lstm_cell(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh))
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    totals = {name: _accumulator(tuple(w.shape), w.dtype).to(w.device)
              for name, w in zip(names, (weight_ih, weight_hh, bias_ih, bias_hh))}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(x.shape[0])):
        step = right_new.lstm_step_backward(x[t], states[t], weight_ih, weight_hh, bias_ih, bias_hh, grad_h, grad_c)
        for name in names:
            totals[name] += step[name]
        grad_h, grad_c = step["h"], step["c"]
    return {**{name: value.clone() for name, value in totals.items()}, "h0": grad_h, "c0": grad_c}


@blind("lstm.lstm_bptt", "time alignment",
       "the steps walked forward, t = 0 .. T-1, instead of back from T",
       r"revers|backward (order|in time)|from t ?= ?T|walk(ed)? (back|forward)|time (order|alignment)", others())
def lstm_bptt_walks_forward(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    states = [tuple(state0)]
    for x_t in x:
        states.append(right.lstm_cell(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh))
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    totals = {name: torch.zeros_like(w) for name, w in zip(names, (weight_ih, weight_hh, bias_ih, bias_hh))}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in range(x.shape[0]):
        step = right_new.lstm_step_backward(x[t], states[t], weight_ih, weight_hh, bias_ih, bias_hh, grad_h, grad_c)
        for name in names:
            totals[name] = totals[name] + step[name]
        grad_h, grad_c = step["h"], step["c"]
    return {**totals, "h0": grad_h, "c0": grad_c}


@blind("lstm.lstm_bptt", "extreme magnitudes",
       "a step backward whose gates are recomputed with sigmoid = exp(a) / (1 + exp(a)): NaN for saturated "
       "gates",
       OVERFLOW, others("activation"))
def lstm_bptt_exp_sigmoid(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    def sigmoid(a):
        return torch.exp(a) / (1 + torch.exp(a))
    states = [tuple(state0)]
    for x_t in x:
        states.append(right.lstm_cell(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh))
    totals = {name: torch.zeros_like(w) for name, w in
              zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), (weight_ih, weight_hh, bias_ih, bias_hh))}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(x.shape[0])):
        h, c = states[t]
        a_i, a_f, a_g, a_o = (x[t] @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
        i, f, g, o = sigmoid(a_i), sigmoid(a_f), torch.tanh(a_g), sigmoid(a_o)
        tanh_c = torch.tanh(f * c + i * g)
        grad_c_total = grad_c + grad_h * o * (1 - tanh_c ** 2)
        grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                              grad_c_total * i * (1 - g ** 2), grad_h * tanh_c * o * (1 - o)], dim=1)
        totals["weight_ih"] = totals["weight_ih"] + grad_pre.T @ x[t]
        totals["weight_hh"] = totals["weight_hh"] + grad_pre.T @ h
        totals["bias_ih"] = totals["bias_ih"] + grad_pre.sum(dim=0)
        totals["bias_hh"] = totals["bias_hh"] + grad_pre.sum(dim=0)
        grad_h, grad_c = grad_pre @ weight_hh, grad_c_total * f
    return {**totals, "h0": grad_h, "c0": grad_c}


@blind("lstm.answer_q1", "answer value",
       "\"i\": the input gate", WRONG_ANSWER, ANSWER_HINTS)
def lstm_answer_q1_input_gate():
    return "i"


@blind("lstm.answer_q1", "answer type",
       "the list [\"f\"] instead of the string \"f\"",
       TYPE_WORDS + r"|\blist\b|string", ANSWER_HINTS)
def lstm_answer_q1_list():
    return ["f"]


@blind("lstm.answer_q2", "answer value",
       "sigma(b) = 1 - 1/200 from the linearised (1 - x)^100 = 1 - 100 x: 5.29", WRONG_ANSWER, ANSWER_HINTS)
def lstm_answer_q2_linearised():
    forget_gate = 1 - 1 / 200
    return float(np.log(forget_gate / (1 - forget_gate)))


@blind("lstm.answer_q2", "answer type",
       "numpy.float32(4.97): rounds the answer, not a Python float", TYPE_WORDS, ANSWER_HINTS)
def lstm_answer_q2_float32():
    return np.float32(4.97)


def _trained_parameters():
    """A correct training run's parameters (once per process); the entries return what a student with one
    mistake in the training or in the returned dict would."""
    return {name: value.clone() for name, value in right_new.trained_adding_parameters().items()}


@blind("lstm.adding_parameters", "size one",
       "head_bias returned squeeze()d, a 0-dim tensor instead of shape (1,)",
       SQUEEZE + r"|head_bias|\(1,\)|0-dim", others("squeeze"))
def adding_parameters_head_bias_squeezed():
    parameters = _trained_parameters()
    parameters["head_bias"] = parameters["head_bias"].squeeze()
    return parameters


@blind("lstm.adding_parameters", "output type",
       "returns the tuple of the six tensors instead of a dict",
       r"\bdict\b|\btuple\b|keys|container|type", others())
def adding_parameters_tuple():
    parameters = _trained_parameters()
    return tuple(parameters[name] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "head_weight",
                                               "head_bias"))


@blind("lstm.adding_parameters", "answer value",
       "training stopped after 10 iterations (a debugging value left in): the error stays near the baseline",
       r"mean squared error|mse|0\.02|goal|not (trained|learn)", others())
def adding_parameters_ten_iterations():
    return right_new.train_on_adding(iterations=10)


# ===================================== gru =====================================

@blind("gru.reset_gate", "extreme magnitudes",
       "sigmoid as exp(a) / (1 + exp(a)): NaN for large positive pre-activations",
       OVERFLOW, others("activation"))
def reset_gate_exp_ratio(x, h, W_ir, W_hr, b_ir, b_hr):
    a = x @ W_ir.T + b_ir + h @ W_hr.T + b_hr
    return torch.exp(a) / (1 + torch.exp(a))


@blind("gru.reset_gate", "bias",
       "b_hr added twice and b_ir left out",
       r"b_ir|b_hr|twice|(missing|without|only one|second) bias|both biases", others("bias"))
def reset_gate_recurrent_bias_twice(x, h, W_ir, W_hr, b_ir, b_hr):
    return torch.sigmoid(x @ W_ir.T + b_hr + h @ W_hr.T + b_hr)


@blind("gru.update_gate", "extreme magnitudes",
       "sigmoid via torch.where over both branches: NaN gradients for large |pre-activations|",
       NAN_GRADIENT, others("activation"))
def update_gate_where_sigmoid(x, h, W_iz, W_hz, b_iz, b_hz):
    a = x @ W_iz.T + b_iz + h @ W_hz.T + b_hz
    return torch.where(a >= 0, 1 / (1 + torch.exp(-a)), torch.exp(a) / (1 + torch.exp(a)))


@blind("gru.update_gate", "input mutation",
       "the biases merged in place, b_iz.add_(b_hz): the input b_iz is changed",
       IN_PLACE + r"|b_iz", others("in place"))
def update_gate_merges_biases(x, h, W_iz, W_hz, b_iz, b_hz):
    return torch.sigmoid(x @ W_iz.T + h @ W_hz.T + b_iz.add_(b_hz))


@blind("gru.update_gate", "formula",
       "returns 1 - sigmoid(a), the update gate of the convention h_t = z n + (1 - z) h, not PyTorch's",
       r"1 ?- ?(sigmoid|z|σ)|complement|convention", others())
def update_gate_complement(x, h, W_iz, W_hz, b_iz, b_hz):
    return 1 - torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)


@blind("gru.gru_candidate", "formula",
       "sigmoid instead of tanh for the candidate",
       r"tanh|sigmoid|activation|\(-1, ?1\)|negative", others("activation"))
def gru_candidate_sigmoid(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.sigmoid(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))


@blind("gru.gru_candidate", "reset placement",
       "the reset gate applied to the input part, r * (x W_in^T + b_in), instead of the recurrent part",
       r"reset[^\n]*(input|recurrent|x )|r ?\* ?\(x|wrong part|W_in", others("reset"))
def gru_candidate_reset_on_input(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.tanh(r * (x @ W_in.T + b_in) + h @ W_hn.T + b_hn)


@blind("gru.gru_candidate", "reset placement",
       "the reset gate left out: tanh(x W_in^T + b_in + h W_hn^T + b_hn)",
       r"reset[^\n]*(missing|ignored|left out|not used|unused)|without (the )?reset|\br\b", others("reset"))
def gru_candidate_no_reset(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.tanh(x @ W_in.T + b_in + h @ W_hn.T + b_hn)


@blind("gru.gru_candidate", "extreme magnitudes",
       "pre-activations clamped to [-6, 6] before the tanh",
       CLAMPED, others("activation"))
def gru_candidate_clamped(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.tanh((x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn)).clamp(-6, 6))


@blind("gru.gru_hidden_update", "formula",
       "torch.lerp(h, n, z) = (1 - z) h + z n: the interpolation weights the wrong way",
       r"lerp|\bz\b.*(swapped|roles)|1 ?- ?z|interpolat", others())
def gru_hidden_update_lerp(h, z, n):
    return torch.lerp(h, n, z)


@blind("gru.gru_hidden_update", "device",
       "1 - z written as torch.ones(z.shape) - z: the ones are on the CPU",
       DEVICE, others("device"), needs_cuda=True)
def gru_hidden_update_ones_on_cpu(h, z, n):
    return (torch.ones(z.shape, dtype=z.dtype) - z) * n + z * h


@blind("gru.gru_hidden_update", "size one",
       "the result squeeze()d",
       SQUEEZE, others("squeeze"))
def gru_hidden_update_squeezed(h, z, n):
    return ((1 - z) * n + z * h).squeeze()


@blind("gru.gru_cell", "gate order",
       "blocks taken in the order r, n, z",
       r"gate order|order of the (gates|blocks)|r, z, n|\br, ?n, ?z|rows H:3H|swapped|blocks? z (and|,) n",
       others("gate order"))
def gru_cell_order_rnz(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    r_w, n_w, z_w = zip(*[w.chunk(3, dim=0) for w in (weight_ih, weight_hh, bias_ih, bias_hh)])
    r = right.reset_gate(x, h, *r_w)
    z = right.update_gate(x, h, *z_w)
    n = right.gru_candidate(x, h, r, *n_w)
    return right.gru_hidden_update(h, z, n)


@blind("gru.gru_cell", "bias",
       "b_hn added outside the reset gate in the cell's candidate",
       r"b_hn|bias[^\n]*(inside|outside|reset)|reset[^\n]*bias", others("bias", "reset"))
def gru_cell_bias_outside_reset(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    r_w, z_w, (W_in, W_hn, b_in, b_hn) = zip(*[w.chunk(3, dim=0) for w in (weight_ih, weight_hh, bias_ih, bias_hh)])
    r = right.reset_gate(x, h, *r_w)
    z = right.update_gate(x, h, *z_w)
    n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T) + b_hn)
    return right.gru_hidden_update(h, z, n)


@blind("gru.gru_cell", "non-contiguous input",
       "blocks taken with torch.as_strided and the strides of a contiguous weight: non-contiguous weights give "
       "the wrong blocks",
       NON_CONTIGUOUS + r"|as_strided", others())
def gru_cell_strided_blocks(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    H, I = h.shape[1], x.shape[1]
    w_i = torch.as_strided(weight_ih, (3, H, I), (H * I, I, 1))
    w_h = torch.as_strided(weight_hh, (3, H, H), (H * H, H, 1))
    b_i, b_h = bias_ih.view(3, H), bias_hh.view(3, H)
    r = torch.sigmoid(x @ w_i[0].T + b_i[0] + h @ w_h[0].T + b_h[0])
    z = torch.sigmoid(x @ w_i[1].T + b_i[1] + h @ w_h[1].T + b_h[1])
    n = torch.tanh(x @ w_i[2].T + b_i[2] + r * (h @ w_h[2].T + b_h[2]))
    return (1 - z) * n + z * h


@blind("gru.gru_cell", "extreme magnitudes",
       "the candidate's tanh written with exponentials: NaN for large pre-activations",
       OVERFLOW, others("activation"))
def gru_cell_exp_tanh(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    ax_r, ax_z, ax_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
    ah_r, ah_z, ah_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(ax_r + ah_r), torch.sigmoid(ax_z + ah_z)
    a = ax_n + r * ah_n
    n = (torch.exp(2 * a) - 1) / (torch.exp(2 * a) + 1)
    return (1 - z) * n + z * h


@blind("gru.gru_cell", "output type",
       "returns the tuple (h_next, h_next), as for an LSTM's state, instead of one tensor",
       r"\btuple\b|one tensor|type|container", others())
def gru_cell_returns_pair(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    h_next = right.gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    return h_next, h_next


@blind("gru.gru_forward", "time alignment",
       "h_n taken as the first step's state",
       r"h_n|first (step|state)|last (step|state)|h_T|h_1", others())
def gru_forward_h_n_first(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        h = right.gru_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), outputs[0]


@blind("gru.gru_forward", "axes swapped",
       "batch_first input transposed but the output left time first",
       r"batch.first|time first|axes|transpos", others("axes", "transpose"))
def gru_forward_output_time_first(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        h = right.gru_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    return torch.stack(outputs), h


@blind("gru.gru_forward", "aliasing",
       "h_n returned as a view of output's last step",
       ALIAS, others())
def gru_forward_h_n_view(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    output, _ = right.gru_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)
    return output, (output[:, -1] if batch_first else output[-1])


@blind("gru.gru_forward", "non-contiguous input",
       "the input parts of every step computed at once through x.view(-1, input_size): raises for a "
       "non-contiguous x",
       NON_CONTIGUOUS, others())
def gru_forward_projects_with_view(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    projected = (x.view(-1, x.shape[-1]) @ weight_ih.T + bias_ih).view(x.shape[0], x.shape[1], -1)
    if batch_first:
        projected = projected.transpose(0, 1)
    h, outputs = h0, []
    for p_t in projected:
        ax_r, ax_z, ax_n = p_t.chunk(3, dim=1)
        ah_r, ah_z, ah_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
        r, z = torch.sigmoid(ax_r + ah_r), torch.sigmoid(ax_z + ah_z)
        n = torch.tanh(ax_n + r * ah_n)
        h = (1 - z) * n + z * h
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@blind("gru.gru_forward", "size one",
       "output squeeze()d at the end: a batch or hidden size of 1 loses a dimension",
       SQUEEZE, others("squeeze"))
def gru_forward_squeezed_output(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    output, h_n = right.gru_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)
    return output.squeeze(), h_n


@blind("gru.gru_forward", "long sequence",
       "the loop runs range(min(T, 64))",
       TRUNCATED + r"|64", others())
def gru_forward_64_steps(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for t in range(min(x.shape[0], 64)):
        h = right.gru_cell(x[t], h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@blind("gru.parameter_counts", "output type",
       "counts computed with numpy (np.prod): numpy integers instead of Python ints",
       TYPE_WORDS, others())
def parameter_counts_numpy(input_size, hidden_size):
    per_block = np.prod([hidden_size, input_size + hidden_size]) + 2 * hidden_size
    return {"rnn": per_block, "gru": 3 * per_block, "lstm": 4 * per_block}


@blind("gru.parameter_counts", "bias",
       "the GRU counted with one bias per block",
       r"gru[^\n]*bias|bias[^\n]*gru|(one|second|both|two) bias", others("bias"))
def parameter_counts_gru_one_bias(input_size, hidden_size):
    per_block = hidden_size * (input_size + hidden_size) + 2 * hidden_size
    return {"rnn": per_block, "gru": 3 * (per_block - hidden_size), "lstm": 4 * per_block}


@blind("gru.parameter_counts", "output type",
       "returns the tuple (rnn, gru, lstm) instead of a dict",
       r"\bdict\b|\btuple\b|keys|container|type", others())
def parameter_counts_tuple(input_size, hidden_size):
    per_block = hidden_size * (input_size + hidden_size) + 2 * hidden_size
    return per_block, 3 * per_block, 4 * per_block


@blind("gru.parameter_counts", "gate order",
       "the multipliers of the GRU and the LSTM exchanged (4 blocks for the GRU, 3 for the LSTM)",
       r"gru|lstm|swapped|3 blocks|4 blocks|three|four", others())
def parameter_counts_blocks_exchanged(input_size, hidden_size):
    per_block = hidden_size * (input_size + hidden_size) + 2 * hidden_size
    return {"rnn": per_block, "gru": 4 * per_block, "lstm": 3 * per_block}


def _gru_forward_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    ax_r, ax_z, ax_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
    ah_r, ah_z, ah_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(ax_r + ah_r), torch.sigmoid(ax_z + ah_z)
    return ax_n, ah_n, r, z, torch.tanh(ax_n + r * ah_n)


@blind("gru.gru_step_backward", "missing term",
       "\"h\" gets only the direct path and the candidate's product: the r and z blocks' products are dropped",
       r"\"h\"|r and z|blocks? r(,| and) z|gates' products|through the gates|rows? 0:2H|three (roads|paths)",
       others())
def gru_step_backward_h_without_gates(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    ax_n, ah_n, r, z, n = _gru_forward_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    H = h.shape[1]
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (h - n) * z * (1 - z)
    grad_ax = torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1)
    grad_ah = torch.cat([grad_a_r, grad_a_z, grad_a_n * r], dim=1)
    return {"x": grad_ax @ weight_ih, "h": grad_h_next * z + (grad_a_n * r) @ weight_hh[2 * H:],
            "weight_ih": grad_ax.T @ x, "weight_hh": grad_ah.T @ h,
            "bias_ih": grad_ax.sum(dim=0), "bias_hh": grad_ah.sum(dim=0)}


@blind("gru.gru_step_backward", "formula",
       "the reset gate's gradient uses the input part a_in instead of the recurrent part W_hn h + b_hn",
       r"\br\b (block|gate)|block r|r block|rows? 0:H|reset", others())
def gru_step_backward_reset_with_input_part(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    ax_n, ah_n, r, z, n = _gru_forward_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ax_n * r * (1 - r)
    grad_a_z = grad_h_next * (h - n) * z * (1 - z)
    grad_ax = torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1)
    grad_ah = torch.cat([grad_a_r, grad_a_z, grad_a_n * r], dim=1)
    return {"x": grad_ax @ weight_ih, "h": grad_h_next * z + grad_ah @ weight_hh,
            "weight_ih": grad_ax.T @ x, "weight_hh": grad_ah.T @ h,
            "bias_ih": grad_ax.sum(dim=0), "bias_hh": grad_ah.sum(dim=0)}


@blind("gru.gru_step_backward", "bias",
       "bias_hh given the input part's gradient (bias_hh = bias_ih), so its n block lacks the factor r",
       r"bias_hh|\bn\b (block|rows)|block n|rows? 2H:3H", others("bias"))
def gru_step_backward_bias_hh_as_bias_ih(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    grads = right_new.gru_step_backward(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next)
    grads["bias_hh"] = grads["bias_ih"].clone()
    return grads


@blind("gru.gru_step_backward", "missing term",
       "the candidate's gradient leaves out the factor (1 - z)",
       r"1 ?- ?z|\bn\b (block|rows)|block n|rows? 2H:3H|candidate", others())
def gru_step_backward_candidate_without_one_minus_z(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    ax_n, ah_n, r, z, n = _gru_forward_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_a_n = grad_h_next * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (h - n) * z * (1 - z)
    grad_ax = torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1)
    grad_ah = torch.cat([grad_a_r, grad_a_z, grad_a_n * r], dim=1)
    return {"x": grad_ax @ weight_ih, "h": grad_h_next * z + grad_ah @ weight_hh,
            "weight_ih": grad_ax.T @ x, "weight_hh": grad_ah.T @ h,
            "bias_ih": grad_ax.sum(dim=0), "bias_hh": grad_ah.sum(dim=0)}


@blind("gru.gru_step_backward", "input mutation",
       "grad_h_next multiplied by z in place for the direct path (grad_h_next.mul_(z)): the input is changed",
       IN_PLACE + r"|grad_h_next", others("in place"))
def gru_step_backward_scales_grad_in_place(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    ax_n, ah_n, r, z, n = _gru_forward_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (h - n) * z * (1 - z)
    direct = grad_h_next.mul_(z)
    grad_ax = torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1)
    grad_ah = torch.cat([grad_a_r, grad_a_z, grad_a_n * r], dim=1)
    return {"x": grad_ax @ weight_ih, "h": direct + grad_ah @ weight_hh,
            "weight_ih": grad_ax.T @ x, "weight_hh": grad_ah.T @ h,
            "bias_ih": grad_ax.sum(dim=0), "bias_hh": grad_ah.sum(dim=0)}


@blind("gru.gru_step_backward", "extreme magnitudes",
       "the candidate recomputed with tanh = (e^a - e^-a) / (e^a + e^-a): NaN for large pre-activations",
       OVERFLOW, others("activation"))
def gru_step_backward_exp_tanh(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    ax_r, ax_z, ax_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
    ah_r, ah_z, ah_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(ax_r + ah_r), torch.sigmoid(ax_z + ah_z)
    a = ax_n + r * ah_n
    n = (torch.exp(a) - torch.exp(-a)) / (torch.exp(a) + torch.exp(-a))
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (h - n) * z * (1 - z)
    grad_ax = torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1)
    grad_ah = torch.cat([grad_a_r, grad_a_z, grad_a_n * r], dim=1)
    return {"x": grad_ax @ weight_ih, "h": grad_h_next * z + grad_ah @ weight_hh,
            "weight_ih": grad_ax.T @ x, "weight_hh": grad_ah.T @ h,
            "bias_ih": grad_ax.sum(dim=0), "bias_hh": grad_ah.sum(dim=0)}


@blind("gru.answer_q1", "answer value",
       "\"z\"", WRONG_ANSWER, ANSWER_HINTS)
def gru_answer_q1_update_block():
    return "z"


@blind("gru.answer_q1", "answer type",
       "the tuple (\"n\",) instead of the string \"n\"", TYPE_WORDS + r"|\btuple\b|string", ANSWER_HINTS)
def gru_answer_q1_tuple():
    return ("n",)


@blind("gru.answer_q2", "answer value",
       "\"n\": the candidate's rows", WRONG_ANSWER, ANSWER_HINTS)
def gru_answer_q2_candidate_rows():
    return "n"


@blind("gru.answer_q2", "string identity",
       "\"R\", the right choice in capitals", WRONG_ANSWER + r"|upper.?case|lower.?case|case.?(in)?sensitive|capital|exact", ANSWER_HINTS)
def gru_answer_q2_capital():
    return "R"
