"""The second sealed blind set of issue 14: wrong implementations of all five notebooks, written blind.

Written after issue 14 from the contracts only (the exercise and solution notebooks, the book, the right
implementations in tests/reference_solutions*.py, blind_common.py and blind_probes.py), without reading the
check or hint code or the other blind sets. Each entry is what a student could write after reading the
notebook, with one mistake; the kinds the issue names are weighted: extreme magnitudes, non-contiguous and
transposed inputs, sizes of 1, long sequences, state kept between calls, ill-conditioned designs, string
identity, aliasing, input mutation (also inside a dict input), a returned state not detached, device, and
answer types. blind_probes.first_difference finds each one wrong (tests/heldout/test_blind.py);
measure_blind.py --set sealed2 measures it, in aggregate only.
"""
import functools
import math

import numpy as np
import torch

from blind_common import (ALIAS, AXES, CLAMPED, DEVICE, DTYPE, ILL_CONDITIONED, IN_PLACE, IS_STRING, NAN_GRADIENT,
                          NON_CONTIGUOUS, OVERFLOW, SQUEEZE, STATE, TRUNCATED, TYPE_WORDS, WRONG_ANSWER, others,
                          registry)
from rnn_demos import text_data
from rnn_demos.data import make_adding_batch, random_cell_weights, random_inputs

BLIND_SEALED2 = []
KIND = {}
blind = registry(BLIND_SEALED2, KIND)

VOCABULARY = text_data.VOCABULARY
TRAIN_TEXT = text_data.split_text("train")
sequential_batches = text_data.sequential_batches

# Places a message could name.
GATE = {"i": r"input gate|\bi\b[ -]?(gate|block|rows)|(block|rows?|gate) \bi\b|\(i\)",
        "f": r"forget|\bf\b[ -]?(gate|block|rows)|(block|rows?|gate) \bf\b|\(f\)",
        "g": r"candidate|\bg\b[ -]?(gate|block|rows)|(block|rows?|gate) \bg\b|\(g\)",
        "o": r"output gate|\bo\b[ -]?(gate|block|rows)|(block|rows?|gate) \bo\b|\(o\)",
        "r": r"reset|\br\b[ -]?(gate|block|rows)|(block|rows?|gate) \br\b|\(r\)",
        "z": r"update gate|\bz\b[ -]?(gate|block|rows)|(block|rows?|gate) \bz\b|\(z\)",
        "n": r"\bn\b[ -]?(gate|block|rows)|(block|rows?|gate) \bn\b|\(n\)|candidate"}
STEPS = r"time step|\bstep \d|steps? \d+|from the end|earl(y|ier|iest)"
KEY = r"['\"`]{0}['\"`]|\b{0}\b"


def key(name):
    return KEY.format(name)


# ===================================================================== sequence_models

@blind("sequence_models.ar_design_matrix", "validation",
       "tau == T is accepted (tau > T checked) and an empty design is returned instead of a ValueError",
       r"valueerror|tau >= T|tau == T|\btau\b[^\n]*(raise|bound|range|valid)|did not raise",
       others())
def ar_design_strict_bound(x, tau):
    if tau < 1 or tau > len(x):
        raise ValueError("tau must be between 1 and T")
    X = torch.stack([x[j:len(x) - tau + j] for j in range(tau)], dim=1)
    return X, x[tau:]


@blind("sequence_models.ar_design_matrix", "non-contiguous input",
       "the windows are read with as_strided and strides (1, 1), assuming a contiguous series",
       NON_CONTIGUOUS, others())
def ar_design_as_strided(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    X = torch.as_strided(x, (len(x) - tau, tau), (1, 1))
    return X, x[tau:]


@blind("sequence_models.ar_design_matrix", "size one",
       "X is squeezed, so tau = 1 gives X of shape (T - 1,) instead of (T - 1, 1)",
       SQUEEZE, others("squeeze"))
def ar_design_squeezed_blind2(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    X = torch.stack([x[j:len(x) - tau + j] for j in range(tau)], dim=1).squeeze()
    return X, x[tau:]


@blind("sequence_models.ar_design_matrix", "off by one",
       "one row too few: the rows stop at T - tau - 1, so the last target is lost",
       r"off.by.one|last (row|target|window)|T - tau|one (row|target) (too )?(few|short|less)", others("time"))
def ar_design_one_row_short(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    X = torch.stack([x[i:i + tau] for i in range(len(x) - tau - 1)])
    return X, x[tau:-1]


@blind("sequence_models.fit_ar", "ill-conditioned",
       "least squares by the normal equations with an explicit inverse",
       ILL_CONDITIONED, others())
def fit_ar_normal_inverse(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    X = torch.stack([x[j:len(x) - tau + j] for j in range(tau)], dim=1)
    y = x[tau:]
    X1 = torch.cat([X, torch.ones(len(y), 1, dtype=x.dtype, device=x.device)], dim=1)
    coefficients = torch.linalg.inv(X1.T @ X1) @ X1.T @ y
    return coefficients[:-1], coefficients[-1]


@blind("sequence_models.fit_ar", "ill-conditioned",
       "least squares by solving the normal equations X1^T X1 w = X1^T y (squares the condition number)",
       ILL_CONDITIONED, others())
def fit_ar_normal_solve(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    X = torch.stack([x[j:len(x) - tau + j] for j in range(tau)], dim=1)
    y = x[tau:]
    X1 = torch.cat([X, torch.ones(len(y), 1, dtype=x.dtype, device=x.device)], dim=1)
    coefficients = torch.linalg.solve(X1.T @ X1, X1.T @ y)
    return coefficients[:-1], coefficients[-1]


@blind("sequence_models.fit_ar", "output type",
       "the intercept is returned as a tensor of shape (1,) instead of 0-dim",
       r"\bb\b|intercept|0-dim|\(1,\)", others())
def fit_ar_intercept_vector(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    X = torch.stack([x[j:len(x) - tau + j] for j in range(tau)], dim=1)
    y = x[tau:]
    X1 = torch.cat([X, torch.ones(len(y), 1, dtype=x.dtype, device=x.device)], dim=1)
    solution = torch.linalg.lstsq(X1, y[:, None]).solution[:, 0]
    return solution[:-1], solution[-1:]


@blind("sequence_models.fit_ar", "device",
       "the column of ones is made without device=, so the cat fails on a GPU",
       DEVICE, others("device"), needs_cuda=True)
def fit_ar_ones_on_cpu_blind2(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    X = torch.stack([x[j:len(x) - tau + j] for j in range(tau)], dim=1)
    y = x[tau:]
    X1 = torch.cat([X, torch.ones(len(y), 1, dtype=x.dtype)], dim=1)
    solution = torch.linalg.lstsq(X1, y[:, None]).solution[:, 0]
    return solution[:-1], solution[-1]


@blind("sequence_models.predict_ahead", "input mutation",
       "the window is a view of history and is shifted in place, so history changes",
       IN_PLACE, others("in place"))
def predict_ahead_shifts_history(history, w, b, k):
    window = history[-len(w):]
    predictions = []
    for _ in range(k):
        value = window @ w + b
        predictions.append(value)
        window[:-1] = window[1:].clone()
        window[-1] = value
    return torch.stack(predictions)


@blind("sequence_models.predict_ahead", "time alignment",
       "the first window is the oldest tau values of history instead of the newest",
       r"window|oldest|newest|last tau|first tau|\bhistory\b", others("time"))
def predict_ahead_oldest_window(history, w, b, k):
    window = history[:len(w)].clone()
    predictions = []
    for _ in range(k):
        value = window @ w + b
        predictions.append(value)
        window = torch.cat([window[1:], value[None]])
    return torch.stack(predictions)


@blind("sequence_models.predict_ahead", "dtype",
       "the predictions go into torch.zeros(k), float32 whatever the input's dtype",
       DTYPE, others("dtype"))
def predict_ahead_float32_buffer(history, w, b, k):
    window = history[-len(w):].clone()
    predictions = torch.zeros(k)
    for step in range(k):
        value = window @ w + b
        predictions[step] = value
        window = torch.cat([window[1:], value[None]])
    return predictions


@blind("sequence_models.transition_matrix", "markov counting",
       "counts[states[:-1], states[1:]] += 1 counts a repeated transition once",
       r"repeat|more than once|duplicate|index_put|accumulat|counted once|count", others())
def transition_fancy_increment(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64, device=states.device)
    counts[states[:-1], states[1:]] += 1
    totals = counts.sum(dim=1, keepdim=True)
    A = counts / totals.clamp(min=1)
    A[totals[:, 0] == 0] = 1.0 / n_states
    return A


@blind("sequence_models.transition_matrix", "markov counting",
       "a state never left gets a row of NaN (0 / 0) instead of the uniform row",
       r"never left|uniform|no counts|\bnan\b|empty row|row sums?|1 ?/ ?K", others())
def transition_nan_rows(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64, device=states.device)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    return counts / counts.sum(dim=1, keepdim=True)


_COUNTS = {}


@blind("sequence_models.transition_matrix", "state between calls",
       "the count matrix is cached per n_states and never cleared, so counts add up over calls",
       STATE, others("cache"))
def transition_cached_counts(states, n_states):
    if n_states not in _COUNTS:
        _COUNTS[n_states] = torch.zeros(n_states, n_states, dtype=torch.float64)
    counts = _COUNTS[n_states]
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    totals = counts.sum(dim=1, keepdim=True)
    A = counts / totals.clamp(min=1)
    A[totals[:, 0] == 0] = 1.0 / n_states
    return A.to(states.device)


@blind("sequence_models.transition_matrix", "dtype",
       "the counts are float32 (torch.zeros without dtype), so the matrix is float32",
       DTYPE, others("dtype"))
def transition_float32_blind2(states, n_states):
    counts = torch.zeros(n_states, n_states, device=states.device)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    totals = counts.sum(dim=1, keepdim=True)
    A = counts / totals.clamp(min=1)
    A[totals[:, 0] == 0] = 1.0 / n_states
    return A


@blind("sequence_models.transition_matrix", "device",
       "the counts are made without device=, so the result is on the CPU for states on a GPU",
       DEVICE, others("device"), needs_cuda=True)
def transition_counts_on_cpu(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    totals = counts.sum(dim=1, keepdim=True)
    A = counts / totals.clamp(min=1)
    A[totals[:, 0] == 0] = 1.0 / n_states
    return A


@blind("sequence_models.answer_q1", "answer type",
       "2/7 given to three decimals (0.286) where four are asked",
       WRONG_ANSWER, others())
def seq_answer_q1_three_decimals():
    return 0.286


@blind("sequence_models.answer_q1", "answer value",
       "0.2: A_10 read as pi_0, without the share that stays in symbol 1",
       WRONG_ANSWER, others())
def seq_answer_q1_transition_entry():
    return 0.2


@blind("sequence_models.markov_log_likelihood", "long sequence",
       "the probabilities are multiplied and the log taken at the end: underflows to -inf on long sequences",
       r"underflow|-inf|\binf\b|long sequence|product of (the )?probabilit|log of (the|a) product", others())
def markov_log_of_product_blind2(states, A, p0):
    probability = p0[states[0]] * torch.prod(A[states[:-1], states[1:]])
    return torch.log(probability)


@blind("sequence_models.markov_log_likelihood", "missing term",
       "the first symbol's log p0 term is left out",
       r"p0|first (symbol|state|term)|initial", others())
def markov_without_p0(states, A, p0):
    return torch.log(A[states[:-1], states[1:]]).sum()


@blind("sequence_models.markov_log_likelihood", "axes swapped",
       "A is indexed [next, previous] instead of [previous, next]",
       r"transpos|A\.T|\[next|column|rows? and columns?|swapped|A\[states\[1:\]", others("transpose", "axes"))
def markov_transposed_index(states, A, p0):
    return torch.log(p0[states[0]]) + torch.log(A[states[1:], states[:-1]]).sum()


@blind("sequence_models.markov_log_likelihood", "output type",
       "returns a Python float (.item()) instead of a 0-dim tensor",
       TYPE_WORDS, others())
def markov_returns_float(states, A, p0):
    return (torch.log(p0[states[0]]) + torch.log(A[states[:-1], states[1:]]).sum()).item()


@blind("sequence_models.latent_update", "size one",
       "h and x are squeezed, so a batch of 1 loses its batch dimension",
       SQUEEZE, others("squeeze"))
def latent_update_squeezed_blind2(h, x, W_hh, W_ih):
    return h.squeeze() @ W_hh.T + x.squeeze() @ W_ih.T


@blind("sequence_models.latent_update", "formula",
       "W_hh is used without its transpose",
       r"transpos|W_hh", others("transpose"))
def latent_update_untransposed(h, x, W_hh, W_ih):
    return h @ W_hh + x @ W_ih.T


@blind("sequence_models.latent_update", "input mutation",
       "the state is updated in place: h.copy_(...) is returned",
       IN_PLACE, others("in place"))
def latent_update_in_place(h, x, W_hh, W_ih):
    return h.copy_(h @ W_hh.T + x @ W_ih.T)


@blind("sequence_models.answer_q2", "answer value",
       "0.9 ** 20 (one factor too many)",
       WRONG_ANSWER, others())
def seq_answer_q2_twenty_factors():
    return 0.9 ** 20


@blind("sequence_models.answer_q2", "answer type",
       "0.135: three decimals where four are asked",
       WRONG_ANSWER, others())
def seq_answer_q2_three_decimals():
    return 0.135


# ===================================================================== rnn

TANH = "tanh"


@blind("rnn.rnn_cell", "string identity",
       "nonlinearity is compared with `is`, which fails for an equal string built at run time",
       IS_STRING, others())
def rnn_cell_is_tanh(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    if nonlinearity is TANH:
        return torch.tanh(pre)
    if nonlinearity == "relu":
        return torch.relu(pre)
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}")


RELU = "relu"


@blind("rnn.rnn_cell", "string identity",
       "'relu' is compared with `is`: an equal string built at run time raises ValueError",
       IS_STRING, others())
def rnn_cell_is_relu_blind2(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    if nonlinearity == "tanh":
        return torch.tanh(pre)
    if nonlinearity is RELU:
        return torch.relu(pre)
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}")


@blind("rnn.rnn_cell", "extreme magnitudes",
       "tanh written as (e^2a - 1) / (e^2a + 1): NaN for large pre-activations",
       OVERFLOW, others("activation"))
def rnn_cell_exp_tanh_blind2(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    if nonlinearity == "tanh":
        e = torch.exp(2 * pre)
        return (e - 1) / (e + 1)
    if nonlinearity == "relu":
        return torch.relu(pre)
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}")


@blind("rnn.rnn_cell", "validation",
       "the option is lower-cased, so 'TANH' and 'Relu' are accepted instead of raising",
       r"valueerror|did not raise|nonlinearity|upper.?case|lower.?case|'TANH'|'Relu'", others())
def rnn_cell_lowercases_option(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    option = nonlinearity.lower()
    if option == "tanh":
        return torch.tanh(pre)
    if option == "relu":
        return torch.relu(pre)
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}")


@blind("rnn.rnn_forward", "aliasing",
       "h_n is output[-1], a view of output",
       ALIAS, others("in place"))
def rnn_forward_h_n_view_blind2(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, states = h0, []
    for x_t in x:
        h = torch.tanh(x_t @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)
        states.append(h)
    output = torch.stack(states)
    return (output.transpose(0, 1) if batch_first else output), output[-1]


@blind("rnn.rnn_forward", "axes swapped",
       "batch_first input is reshaped (view) to (T, batch, input) instead of transposed",
       AXES, others("axes", "transpose"))
def rnn_forward_reshapes_batch_first(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.reshape(x.shape[1], x.shape[0], x.shape[2])
    h, states = h0, []
    for x_t in x:
        h = torch.tanh(x_t @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)
        states.append(h)
    output = torch.stack(states)
    return (output.transpose(0, 1) if batch_first else output), h


@blind("rnn.rnn_forward", "device",
       "the output buffer is made with dtype= but without device=",
       DEVICE, others("device"), needs_cuda=True)
def rnn_forward_buffer_on_cpu(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    output = torch.zeros(x.shape[0], x.shape[1], h0.shape[1], dtype=x.dtype)
    h = h0
    for t in range(x.shape[0]):
        h = torch.tanh(x[t] @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)
        output[t] = h
    return (output.transpose(0, 1) if batch_first else output), h


@blind("rnn.rnn_forward", "dtype",
       "the output buffer is torch.zeros without dtype=: float32 for a float64 input",
       DTYPE, others("dtype"))
def rnn_forward_float32_buffer(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    output = torch.zeros(x.shape[0], x.shape[1], h0.shape[1], device=x.device)
    h = h0
    for t in range(x.shape[0]):
        h = torch.tanh(x[t] @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)
        output[t] = h
    return (output.transpose(0, 1) if batch_first else output), h


def _rnn_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(x_t @ weight_ih.T + bias_ih + states[-1] @ weight_hh.T + bias_hh))
    return states


@blind("rnn.rnn_bptt", "aliasing",
       "the two bias gradients are the same tensor",
       ALIAS, others("in place"))
def rnn_bptt_shared_bias_gradient(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = _rnn_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_w_ih, grad_w_hh, grad_b = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(bias_ih)
    delta = grad_h_T
    for t in range(len(x), 0, -1):
        e = delta * (1 - states[t] ** 2)
        grad_w_ih = grad_w_ih + e.T @ x[t - 1]
        grad_w_hh = grad_w_hh + e.T @ states[t - 1]
        grad_b = grad_b + e.sum(dim=0)
        delta = e @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b, delta


@blind("rnn.rnn_bptt", "long sequence",
       "the backward loop stops after 50 steps (truncated BPTT)",
       TRUNCATED + "|" + STEPS, others())
def rnn_bptt_truncated_50(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = _rnn_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_w_ih, grad_w_hh, grad_b = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(bias_ih)
    delta = grad_h_T
    for t in range(len(x), max(len(x) - 50, 0), -1):
        e = delta * (1 - states[t] ** 2)
        grad_w_ih += e.T @ x[t - 1]
        grad_w_hh += e.T @ states[t - 1]
        grad_b += e.sum(dim=0)
        delta = e @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), delta


@blind("rnn.rnn_bptt", "time alignment",
       "dL/dW_hh takes e_t^T h_t instead of e_t^T h_{t-1}",
       r"grad_weight_hh|weight_hh|W_hh|h_\{?t-1|previous state|one step (early|late)", others("time"))
def rnn_bptt_current_state(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = _rnn_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_w_ih, grad_w_hh, grad_b = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(bias_ih)
    delta = grad_h_T
    for t in range(len(x), 0, -1):
        e = delta * (1 - states[t] ** 2)
        grad_w_ih += e.T @ x[t - 1]
        grad_w_hh += e.T @ states[t]
        grad_b += e.sum(dim=0)
        delta = e @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), delta


@blind("rnn.rnn_bptt", "missing term",
       "dL/dW_ih is assigned, not accumulated: only the first step's term is kept",
       r"grad_weight_ih|weight_ih|W_ih|accumulat|sum over (time|steps)|only (the )?(first|last)", others())
def rnn_bptt_overwrites_w_ih(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = _rnn_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_w_ih, grad_w_hh, grad_b = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(bias_ih)
    delta = grad_h_T
    for t in range(len(x), 0, -1):
        e = delta * (1 - states[t] ** 2)
        grad_w_ih = e.T @ x[t - 1]
        grad_w_hh += e.T @ states[t - 1]
        grad_b += e.sum(dim=0)
        delta = e @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), delta


@blind("rnn.answer_q1", "answer type",
       "the right number as a 1x1 tensor, the way rnn_bptt returns grad_weight_hh",
       TYPE_WORDS, others())
def rnn_answer_q1_tensor_blind2():
    return torch.tensor([[0.6715]])


@blind("rnn.answer_q1", "answer value",
       "0.6715 + 0.0882: e_1 multiplied by x_1 = 1 instead of h_0 = 0",
       WRONG_ANSWER, others())
def rnn_answer_q1_input_for_state():
    return 0.7597


@blind("rnn.hidden_gradient_norms", "formula",
       "the spectral norm (ord=2) instead of the Frobenius norm",
       r"spectral|frobenius|ord=2|matrix_norm|largest singular", others())
def hidden_norms_spectral_blind2(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
    product = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(product, ord=2)]
    for t in range(len(x), 0, -1):
        product = product @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(product, ord=2))
    return torch.stack(norms[::-1])


@blind("rnn.hidden_gradient_norms", "time alignment",
       "the norms are returned from t = T down to 0 instead of t = 0 up to T",
       r"revers|order|entry \d|index \d|t ?= ?0|t ?= ?T|flip", others("time"))
def hidden_norms_not_reversed_blind2(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
    product = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(product)]
    for t in range(len(x), 0, -1):
        product = product @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(product))
    return torch.stack(norms)


@blind("rnn.hidden_gradient_norms", "off by one",
       "the identity (entry T) is left out: T entries instead of T + 1",
       r"off.by.one|T \+ 1|entry T|identity|sqrt\(H\)", others("time"))
def hidden_norms_without_identity_blind2(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
    product = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = []
    for t in range(len(x), 0, -1):
        product = product @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(product))
    return torch.stack(norms[::-1])


@blind("rnn.hidden_gradient_norms", "device",
       "the identity is made without device=",
       DEVICE, others("device"), needs_cuda=True)
def hidden_norms_identity_on_cpu(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
    product = torch.eye(len(h0), dtype=h0.dtype)
    norms = [torch.linalg.matrix_norm(product)]
    for t in range(len(x), 0, -1):
        product = product @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(product))
    return torch.stack(norms[::-1])


def _gradient_norm_at(radius, with_slope=True):
    weights = random_cell_weights("rnn", 4, 32, radius, seed=0)
    weight_ih, weight_hh, bias_ih, bias_hh = (torch.as_tensor(w) for w in (
        weights.weight_ih, weights.weight_hh, weights.bias_ih, weights.bias_hh))
    inputs = torch.as_tensor(random_inputs(50, 4, seed=0))
    h = torch.zeros(1, 32, dtype=torch.float64)
    product = torch.eye(32, dtype=torch.float64)
    jacobians = []
    for x_t in inputs:
        h = torch.tanh(x_t[None] @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)
        jacobians.append((1 - h[0] ** 2)[:, None] * weight_hh if with_slope else weight_hh)
    for jacobian in reversed(jacobians):
        product = product @ jacobian
    return torch.linalg.matrix_norm(product, ord=2).item()


@blind("rnn.smallest_nonvanishing_radius", "answer value",
       "the step Jacobians are W_hh alone, without diag(1 - h_k^2): the linear RNN's threshold",
       WRONG_ANSWER + r"|1 - h|diag|slope|linear", others())
@functools.cache
def radius_without_tanh_slope():
    for k in range(51):
        radius = round(0.5 + 0.05 * k, 2)
        if _gradient_norm_at(radius, with_slope=False) >= 1.0:
            return radius
    return 3.0


@blind("rnn.smallest_nonvanishing_radius", "answer type",
       "the radius is returned as a 0-dim tensor instead of a float",
       TYPE_WORDS, others())
@functools.cache
def radius_as_tensor():
    for k in range(51):
        radius = round(0.5 + 0.05 * k, 2)
        if _gradient_norm_at(radius) >= 1.0:
            return torch.tensor(radius)
    return torch.tensor(3.0)


@blind("rnn.clip_grad_norm", "input mutation",
       "the gradients are scaled in place (mul_), like clip_grad_norm_",
       IN_PLACE, others("in place"))
def clip_in_place_blind2(grads, max_norm):
    total_norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    return [g.mul_(scale) for g in grads], total_norm


@blind("rnn.clip_grad_norm", "clipping rule",
       "each tensor is clipped by its own norm",
       r"per.tensor|each tensor|own norm|global norm|total norm|clipping rule", others("clipping"))
def clip_per_tensor_blind2(grads, max_norm):
    total_norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    clipped = [g * torch.clamp(max_norm / (g.norm() + 1e-6), max=1.0) for g in grads]
    return clipped, total_norm


@blind("rnn.clip_grad_norm", "aliasing",
       "when no clipping is needed the input tensors themselves are returned",
       ALIAS, others("in place"))
def clip_returns_inputs_when_small(grads, max_norm):
    total_norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    if total_norm + 1e-6 <= max_norm:
        return list(grads), total_norm
    return [g * (max_norm / (total_norm + 1e-6)) for g in grads], total_norm


@blind("rnn.clip_grad_norm", "dtype",
       "the squared norms are summed in place into torch.zeros(()) (float32), so total_norm is float32",
       DTYPE, others("dtype"))
def clip_float32_accumulator(grads, max_norm):
    squares = torch.zeros(())
    for g in grads:
        squares += (g ** 2).sum()
    total_norm = torch.sqrt(squares)
    scale = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    return [g * scale for g in grads], total_norm


@blind("rnn.answer_q2", "answer value",
       "45/23 = 1.9565: the two norms added (8 + 15) instead of combined as sqrt(8^2 + 15^2)",
       WRONG_ANSWER, others())
def rnn_answer_q2_norms_added_blind2():
    return 45 / 23


@blind("rnn.answer_q2", "answer type",
       "the right number as a 0-dim tensor",
       TYPE_WORDS, others())
def rnn_answer_q2_tensor_blind2():
    return torch.tensor(45 / 17)


# ===================================================================== lstm

def _where_sigmoid(a):
    return torch.where(a >= 0, 1 / (1 + torch.exp(-a)), torch.exp(a) / (1 + torch.exp(a)))


@blind("lstm.forget_gate", "extreme magnitudes",
       "a 'stable' sigmoid with torch.where: the unused branch overflows and the gradient is NaN",
       NAN_GRADIENT + "|" + OVERFLOW, others("activation"))
def forget_gate_where_sigmoid_blind2(x, h, W_if, W_hf, b_if, b_hf):
    return _where_sigmoid(x @ W_if.T + b_if + h @ W_hf.T + b_hf)


@blind("lstm.forget_gate", "bias",
       "b_hf is left out",
       r"b_hf|bias", others("bias"))
def forget_gate_without_b_hf(x, h, W_if, W_hf, b_if, b_hf):
    return torch.sigmoid(x @ W_if.T + b_if + h @ W_hf.T)


@blind("lstm.input_gate", "extreme magnitudes",
       "sigmoid as 1 / (1 + exp(-a)): exp overflows for large negative a and the gradient is NaN",
       NAN_GRADIENT + "|" + OVERFLOW, others("activation"))
def input_gate_exp_sigmoid(x, h, W_ii, W_hi, b_ii, b_hi):
    a = x @ W_ii.T + b_ii + h @ W_hi.T + b_hi
    return 1 / (1 + torch.exp(-a))


@blind("lstm.input_gate", "formula",
       "tanh instead of sigmoid",
       r"tanh|sigmoid|activation|nonlinearit", others("activation"))
def input_gate_tanh_blind2(x, h, W_ii, W_hi, b_ii, b_hi):
    return torch.tanh(x @ W_ii.T + b_ii + h @ W_hi.T + b_hi)


@blind("lstm.candidate", "extreme magnitudes",
       "tanh as (1 - e^-2a) / (1 + e^-2a): NaN for large negative pre-activations",
       OVERFLOW, others("activation"))
def candidate_exp_tanh_blind2(x, h, W_ig, W_hg, b_ig, b_hg):
    e = torch.exp(-2 * (x @ W_ig.T + b_ig + h @ W_hg.T + b_hg))
    return (1 - e) / (1 + e)


@blind("lstm.candidate", "formula",
       "W_hg is used without its transpose (square, so no shape error)",
       r"W_hg|transpos", others("transpose"))
def candidate_untransposed_w_hg(x, h, W_ig, W_hg, b_ig, b_hg):
    return torch.tanh(x @ W_ig.T + b_ig + h @ W_hg + b_hg)


@blind("lstm.cell_update", "input mutation",
       "c is updated in place (c.mul_(f).add_(i * g))",
       IN_PLACE, others("in place"))
def cell_update_in_place_blind2(c, f, i, g):
    return c.mul_(f).add_(i * g)


@blind("lstm.cell_update", "gate order",
       "the input and forget gates are swapped: i * c + f * g",
       r"swapped|forget|input gate|\bf\b and \bi\b|\bi\b and \bf\b", others("gate order"))
def cell_update_gates_swapped(c, f, i, g):
    return i * c + f * g


@blind("lstm.output_gate_and_hidden", "extreme magnitudes",
       "the pre-activation is clamped to [-8, 8] before the sigmoid 'for stability'",
       CLAMPED, others("activation"))
def output_gate_clamped(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid((x @ W_io.T + b_io + h @ W_ho.T + b_ho).clamp(-8, 8))
    return o, o * torch.tanh(c_next)


@blind("lstm.output_gate_and_hidden", "formula",
       "h_next = o * c_next, without the tanh",
       r"h_next|tanh", others("activation"))
def output_gate_no_tanh_blind2(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho)
    return o, o * c_next


@blind("lstm.output_gate_and_hidden", "output type",
       "returns a list [o, h_next] instead of a tuple",
       TYPE_WORDS + r"|\blist\b|tuple", others())
def output_gate_list(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho)
    return [o, o * torch.tanh(c_next)]


@blind("lstm.lstm_cell", "gate order",
       "the blocks are read in the order i, f, o, g",
       r"gate order|order of the|\bi, ?f, ?g, ?o\b|" + GATE["g"] + "|" + GATE["o"], others("gate order"))
def lstm_cell_ifog(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    a_i, a_f, a_o, a_g = (x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
    c_next = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)
    return torch.sigmoid(a_o) * torch.tanh(c_next), c_next


@blind("lstm.lstm_cell", "bias",
       "bias_ih is added twice and bias_hh never",
       r"bias_hh|bias_ih|\bbias", others("bias"))
def lstm_cell_bias_ih_twice(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    a_i, a_f, a_g, a_o = (x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_ih).chunk(4, dim=1)
    c_next = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)
    return torch.sigmoid(a_o) * torch.tanh(c_next), c_next


@blind("lstm.lstm_cell", "size one",
       "the gates are squeezed before the update, which breaks a batch or hidden size of 1",
       SQUEEZE, others("squeeze"))
def lstm_cell_squeezed_gates(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    a_i, a_f, a_g, a_o = (x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
    i, f, g, o = (torch.sigmoid(a_i).squeeze(), torch.sigmoid(a_f).squeeze(), torch.tanh(a_g).squeeze(),
                  torch.sigmoid(a_o).squeeze())
    c_next = f * c.squeeze() + i * g
    return o * torch.tanh(c_next), c_next


@blind("lstm.lstm_cell", "non-contiguous input",
       "the stacked weights are split with .view(4, -1) (one flat row per gate): fails on a non-contiguous weight",
       NON_CONTIGUOUS, others())
def lstm_cell_view_blocks(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    hidden = h.shape[1]
    gates_ih, gates_hh = weight_ih.view(4, -1), weight_hh.view(4, -1)  # one flat row per gate
    pre = [x @ gates_ih[k].view(hidden, -1).T + bias_ih[k * hidden:(k + 1) * hidden]
           + h @ gates_hh[k].view(hidden, -1).T + bias_hh[k * hidden:(k + 1) * hidden] for k in range(4)]
    i, f, g, o = torch.sigmoid(pre[0]), torch.sigmoid(pre[1]), torch.tanh(pre[2]), torch.sigmoid(pre[3])
    c_next = f * c + i * g
    return o * torch.tanh(c_next), c_next


@blind("lstm.lstm_forward", "aliasing",
       "h_n is output[-1], a view of output",
       ALIAS, others("in place"))
def lstm_forward_h_n_view_blind2(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, c = state0
    hs = []
    for x_t in x:
        a_i, a_f, a_g, a_o = (x_t @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
        c = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)
        h = torch.sigmoid(a_o) * torch.tanh(c)
        hs.append(h)
    output = torch.stack(hs)
    return (output.transpose(0, 1) if batch_first else output), (output[-1], c)


@blind("lstm.lstm_forward", "axes swapped",
       "batch_first output is built by a view to (batch, T, hidden) instead of a transpose",
       AXES, others("axes", "transpose"))
def lstm_forward_view_output(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, c = state0
    hs = []
    for x_t in x:
        a_i, a_f, a_g, a_o = (x_t @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
        c = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)
        h = torch.sigmoid(a_o) * torch.tanh(c)
        hs.append(h)
    output = torch.stack(hs)
    if batch_first:
        output = output.reshape(output.shape[1], output.shape[0], output.shape[2])
    return output, (h, c)


@blind("lstm.lstm_forward", "device",
       "the output buffer is made without device=",
       DEVICE, others("device"), needs_cuda=True)
def lstm_forward_buffer_on_cpu(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, c = state0
    output = torch.empty(x.shape[0], x.shape[1], h.shape[1], dtype=x.dtype)
    for t in range(x.shape[0]):
        a_i, a_f, a_g, a_o = (x[t] @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
        c = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)
        h = torch.sigmoid(a_o) * torch.tanh(c)
        output[t] = h
    return (output.transpose(0, 1) if batch_first else output), (h, c)


@blind("lstm.lstm_forward", "output type",
       "the final state is returned as a list [h_n, c_n]",
       TYPE_WORDS + r"|\blist\b|tuple", others())
def lstm_forward_state_list(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, c = state0
    hs = []
    for x_t in x:
        a_i, a_f, a_g, a_o = (x_t @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
        c = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)
        h = torch.sigmoid(a_o) * torch.tanh(c)
        hs.append(h)
    output = torch.stack(hs)
    return (output.transpose(0, 1) if batch_first else output), [h, c]


@blind("lstm.lstm_param_count", "bias",
       "one bias vector per gate instead of two",
       r"bias|\bb_hh\b|\bb_ih\b", others("bias"))
def lstm_param_count_one_bias_blind2(input_size, hidden_size):
    return 4 * (hidden_size * input_size + hidden_size * hidden_size + hidden_size)


@blind("lstm.lstm_param_count", "output type",
       "math.pow makes the count a float",
       TYPE_WORDS, others())
def lstm_param_count_float_blind2(input_size, hidden_size):
    return 4 * (hidden_size * input_size + math.pow(hidden_size, 2) + 2 * hidden_size)


def _lstm_step_parts(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    a_i, a_f, a_g, a_o = (x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
    c_next = f * c + i * g
    return h, c, i, f, g, o, c_next


def _lstm_gradients(x, h, weight_ih, weight_hh, grad_pre, grad_c):
    return {"x": grad_pre @ weight_ih, "h": grad_pre @ weight_hh, "c": grad_c,
            "weight_ih": grad_pre.T @ x, "weight_hh": grad_pre.T @ h,
            "bias_ih": grad_pre.sum(dim=0), "bias_hh": grad_pre.sum(dim=0)}


@blind("lstm.lstm_step_backward", "missing term",
       "the cell's total gradient keeps only grad_c_next, not the path through h_t = o * tanh(C_t)",
       r"tanh\(C|through h|two terms|grad_h_next|" + GATE["i"] + "|" + GATE["f"] + "|" + GATE["g"] + "|" + key("c"),
       others())
def lstm_step_backward_no_h_path(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    h, c, i, f, g, o, c_next = _lstm_step_parts(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * o * (1 - o)], dim=1)
    return _lstm_gradients(x, h, weight_ih, weight_hh, grad_pre, grad_c_total * f)


@blind("lstm.lstm_step_backward", "missing term",
       "the gradient for c is grad_c_next * f, without the h path (the rest uses the total)",
       key("c") + r"|grad_c|cell", others())
def lstm_step_backward_c_without_h_path(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    h, c, i, f, g, o, c_next = _lstm_step_parts(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * o * (1 - o)], dim=1)
    return _lstm_gradients(x, h, weight_ih, weight_hh, grad_pre, grad_c_next * f)


@blind("lstm.lstm_step_backward", "gate order",
       "the pre-activation gradients are stacked i, f, o, g",
       r"gate order|order of the|" + GATE["g"] + "|" + GATE["o"], others("gate order"))
def lstm_step_backward_ifog(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    h, c, i, f, g, o, c_next = _lstm_step_parts(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_h_next * tanh_c * o * (1 - o), grad_c_total * i * (1 - g ** 2)], dim=1)
    return _lstm_gradients(x, h, weight_ih, weight_hh, grad_pre, grad_c_total * f)


@blind("lstm.lstm_step_backward", "aliasing",
       "bias_ih and bias_hh are the same tensor",
       ALIAS, others("in place"))
def lstm_step_backward_shared_bias(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    h, c, i, f, g, o, c_next = _lstm_step_parts(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * o * (1 - o)], dim=1)
    grad_bias = grad_pre.sum(dim=0)
    return {"x": grad_pre @ weight_ih, "h": grad_pre @ weight_hh, "c": grad_c_total * f,
            "weight_ih": grad_pre.T @ x, "weight_hh": grad_pre.T @ h, "bias_ih": grad_bias, "bias_hh": grad_bias}


@blind("lstm.lstm_step_backward", "time alignment",
       "the forget gate's gradient uses C_t instead of C_{t-1}",
       GATE["f"] + r"|C_\{?t-1|c_next|previous cell", others("time"))
def lstm_step_backward_forget_uses_c_next(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next,
                                          grad_c_next):
    h, c, i, f, g, o, c_next = _lstm_step_parts(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c_next * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * o * (1 - o)], dim=1)
    return _lstm_gradients(x, h, weight_ih, weight_hh, grad_pre, grad_c_total * f)


@blind("lstm.lstm_step_backward", "extreme magnitudes",
       "sigmoid as 1 / (1 + exp(-a)) and sigma' as e^-a / (1 + e^-a)^2: NaN for large pre-activations",
       OVERFLOW + "|" + NAN_GRADIENT, others("activation"))
def lstm_step_backward_exp_derivative(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    h, c = state
    a_i, a_f, a_g, a_o = (x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)

    def sigmoid_and_slope(a):
        e = torch.exp(-a)
        return 1 / (1 + e), e / (1 + e) ** 2
    (i, di), (f, df), (o, do) = sigmoid_and_slope(a_i), sigmoid_and_slope(a_f), sigmoid_and_slope(a_o)
    g = torch.tanh(a_g)
    c_next = f * c + i * g
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * di, grad_c_total * c * df, grad_c_total * i * (1 - g ** 2),
                          grad_h_next * tanh_c * do], dim=1)
    return _lstm_gradients(x, h, weight_ih, weight_hh, grad_pre, grad_c_total * f)


@blind("lstm.answer_q1", "answer value",
       "'g': the candidate",
       WRONG_ANSWER, others())
def lstm_answer_q1_candidate_blind2():
    return "g"


@blind("lstm.answer_q1", "answer type",
       "' f' with a leading space",
       WRONG_ANSWER + r"|space|strip", others())
def lstm_answer_q1_leading_space_blind2():
    return " f"


def _lstm_step_backward(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    h, c, i, f, g, o, c_next = _lstm_step_parts(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * o * (1 - o)], dim=1)
    return _lstm_gradients(x, h, weight_ih, weight_hh, grad_pre, grad_c_total * f)


def _lstm_states(x, state0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [tuple(state0)]
    for x_t in x:
        h, c, i, f, g, o, c_next = _lstm_step_parts(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh)
        states.append((o * torch.tanh(c_next), c_next))
    return states


LSTM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


@blind("lstm.lstm_bptt", "long sequence",
       "the walk back stops after 50 steps",
       TRUNCATED + "|" + STEPS + r"|\bh0\b|\bc0\b", others())
def lstm_bptt_truncated_50(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    states = _lstm_states(x, state0, weight_ih, weight_hh, bias_ih, bias_hh)
    weights = (weight_ih, weight_hh, bias_ih, bias_hh)
    totals = {name: torch.zeros_like(w) for name, w in zip(LSTM_NAMES, weights)}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(max(x.shape[0] - 50, 0), x.shape[0])):
        step = _lstm_step_backward(x[t], states[t], *weights, grad_h, grad_c)
        for name in LSTM_NAMES:
            totals[name] = totals[name] + step[name]
        grad_h, grad_c = step["h"], step["c"]
    return {**totals, "h0": grad_h, "c0": grad_c}


@blind("lstm.lstm_bptt", "time alignment",
       "step t is handed the state it produced, states[t + 1], instead of the one it received",
       r"state it (actually )?received|states?\[t|one step (early|late)|shifted|" + STEPS, others("time"))
def lstm_bptt_next_state_blind2(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    states = _lstm_states(x, state0, weight_ih, weight_hh, bias_ih, bias_hh)
    weights = (weight_ih, weight_hh, bias_ih, bias_hh)
    totals = {name: torch.zeros_like(w) for name, w in zip(LSTM_NAMES, weights)}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(x.shape[0])):
        step = _lstm_step_backward(x[t], states[t + 1], *weights, grad_h, grad_c)
        for name in LSTM_NAMES:
            totals[name] = totals[name] + step[name]
        grad_h, grad_c = step["h"], step["c"]
    return {**totals, "h0": grad_h, "c0": grad_c}


_FORWARD_STATES = {}


@blind("lstm.lstm_bptt", "state between calls",
       "the forward states are cached by the shape of x and reused for new values",
       STATE, others("cache"))
def lstm_bptt_cached_forward(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    if x.shape not in _FORWARD_STATES:
        _FORWARD_STATES[x.shape] = _lstm_states(x, state0, weight_ih, weight_hh, bias_ih, bias_hh)
    states = _FORWARD_STATES[x.shape]
    weights = (weight_ih, weight_hh, bias_ih, bias_hh)
    totals = {name: torch.zeros_like(w) for name, w in zip(LSTM_NAMES, weights)}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(x.shape[0])):
        step = _lstm_step_backward(x[t], states[t], *weights, grad_h, grad_c)
        for name in LSTM_NAMES:
            totals[name] = totals[name] + step[name]
        grad_h, grad_c = step["h"], step["c"]
    return {**totals, "h0": grad_h, "c0": grad_c}


@blind("lstm.lstm_bptt", "input mutation",
       "the running gradients are written in place (grad_h[:] = ...) into grad_h_T and grad_c_T",
       IN_PLACE, others("in place"))
def lstm_bptt_accumulates_into_input(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    states = _lstm_states(x, state0, weight_ih, weight_hh, bias_ih, bias_hh)
    weights = (weight_ih, weight_hh, bias_ih, bias_hh)
    totals = {name: torch.zeros_like(w) for name, w in zip(LSTM_NAMES, weights)}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(x.shape[0])):
        step = _lstm_step_backward(x[t], states[t], *weights, grad_h, grad_c)
        for name in LSTM_NAMES:
            totals[name] = totals[name] + step[name]
        grad_h[:] = step["h"]
        grad_c[:] = step["c"]
    return {**totals, "h0": grad_h, "c0": grad_c}


@blind("lstm.lstm_bptt", "device",
       "the accumulators are torch.zeros(shape, dtype=...) without device=",
       DEVICE, others("device"), needs_cuda=True)
def lstm_bptt_totals_on_cpu(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    states = _lstm_states(x, state0, weight_ih, weight_hh, bias_ih, bias_hh)
    weights = (weight_ih, weight_hh, bias_ih, bias_hh)
    totals = {name: torch.zeros(w.shape, dtype=w.dtype) for name, w in zip(LSTM_NAMES, weights)}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(x.shape[0])):
        step = _lstm_step_backward(x[t], states[t], *weights, grad_h, grad_c)
        for name in LSTM_NAMES:
            totals[name] = totals[name] + step[name]
        grad_h, grad_c = step["h"], step["c"]
    return {**totals, "h0": grad_h, "c0": grad_c}


@blind("lstm.answer_q2", "answer value",
       "the forget gate's value sigma(b) = 2^(-1/100) instead of the bias b",
       WRONG_ANSWER, others())
def lstm_answer_q2_gate_value_blind2():
    return 0.5 ** (1 / 100)


@blind("lstm.answer_q2", "answer type",
       "a 0-dim tensor where a Python float is asked",
       TYPE_WORDS + "|" + WRONG_ANSWER, others())
def lstm_answer_q2_tensor_blind2():
    return torch.tensor(4.97, dtype=torch.float64)


def _train_adding(hidden_size, iterations, forget_bias, head_weight_shape, seed=0):
    generator = torch.Generator().manual_seed(seed)
    bound = hidden_size ** -0.5

    def uniform(*shape):
        return ((torch.rand(*shape, generator=generator) * 2 - 1) * bound).requires_grad_(True)
    p = {"weight_ih": uniform(4 * hidden_size, 2), "weight_hh": uniform(4 * hidden_size, hidden_size),
         "bias_ih": uniform(4 * hidden_size), "bias_hh": uniform(4 * hidden_size),
         "head_weight": uniform(*head_weight_shape), "head_bias": torch.zeros(1, requires_grad=True)}
    with torch.no_grad():
        p["bias_ih"][hidden_size:2 * hidden_size] = forget_bias
    optimiser = torch.optim.Adam(p.values(), lr=0.03)
    for _ in range(iterations):
        inputs, targets = make_adding_batch(32, 20, generator)
        h = c = torch.zeros(32, hidden_size)
        for t in range(20):
            a_i, a_f, a_g, a_o = (inputs[:, t] @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T
                                  + p["bias_hh"]).chunk(4, dim=1)
            c = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)
            h = torch.sigmoid(a_o) * torch.tanh(c)
        predictions = (h @ p["head_weight"].reshape(1, -1).T + p["head_bias"])[:, 0]
        loss = ((predictions - targets) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return {name: value.detach() for name, value in p.items()}


@blind("lstm.adding_parameters", "answer value",
       "trained for 25 updates only (stopped early to stay far under the budget): the error stays near 1/6",
       r"mean squared error|\bmse\b|goal|0\.02|not (trained|learn)", others())
def adding_parameters_too_short():
    return _train_adding(16, 25, 1.0, (1, 16))


@blind("lstm.adding_parameters", "output type",
       "head_weight has shape (H,) instead of (1, H)",
       r"head_weight|\(1, ?\d+\)", others())
def adding_parameters_flat_head():
    return _train_adding(8, 25, 1.0, (8,))


# ===================================================================== gru

@blind("gru.reset_gate", "extreme magnitudes",
       "a torch.where 'stable' sigmoid: NaN gradients for large pre-activations",
       NAN_GRADIENT + "|" + OVERFLOW, others("activation"))
def reset_gate_where_sigmoid(x, h, W_ir, W_hr, b_ir, b_hr):
    return _where_sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)


@blind("gru.reset_gate", "bias",
       "b_ir is added twice and b_hr never",
       r"b_hr|b_ir|\bbias", others("bias"))
def reset_gate_b_ir_twice(x, h, W_ir, W_hr, b_ir, b_hr):
    return torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_ir)


@blind("gru.update_gate", "sign",
       "sigmoid(-a): the complement 1 - z",
       r"\bsign\b|1 - z|complement|negat", others("sign"))
def update_gate_complement_blind2(x, h, W_iz, W_hz, b_iz, b_hz):
    return torch.sigmoid(-(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz))


@blind("gru.update_gate", "size one",
       "x and h are squeezed before the products",
       SQUEEZE, others("squeeze"))
def update_gate_squeezed(x, h, W_iz, W_hz, b_iz, b_hz):
    return torch.sigmoid(x.squeeze() @ W_iz.T + b_iz + h.squeeze() @ W_hz.T + b_hz)


@blind("gru.gru_candidate", "reset placement",
       "the reset gate multiplies h before the product: (r * h) W_hn^T + b_hn",
       r"reset|before the (matrix )?product|\br \* h\b|r \u2299 h", others("reset"))
def gru_candidate_reset_before(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)


@blind("gru.gru_candidate", "reset placement",
       "the reset gate multiplies h W_hn^T but not b_hn",
       r"reset|b_hn|bias", others("reset", "bias"))
def gru_candidate_reset_without_bias(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T) + b_hn)


@blind("gru.gru_candidate", "extreme magnitudes",
       "tanh written with exp: NaN for large pre-activations",
       OVERFLOW, others("activation"))
def gru_candidate_exp_tanh_blind2(x, h, r, W_in, W_hn, b_in, b_hn):
    a = x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn)
    return (torch.exp(a) - torch.exp(-a)) / (torch.exp(a) + torch.exp(-a))


@blind("gru.gru_hidden_update", "formula",
       "z weighs the candidate: z * n + (1 - z) * h",
       r"\bz\b|1 - z|swapped|interpolat|update gate", others())
def gru_hidden_update_swapped_blind2(h, z, n):
    return z * n + (1 - z) * h


@blind("gru.gru_hidden_update", "input mutation",
       "h is scaled in place",
       IN_PLACE, others("in place"))
def gru_hidden_update_in_place_blind2(h, z, n):
    return h.mul_(z).add_((1 - z) * n)


@blind("gru.gru_cell", "gate order",
       "the blocks are read z, r, n",
       r"gate order|order of the|" + GATE["r"] + "|" + GATE["z"], others("gate order"))
def gru_cell_zrn(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    x_z, x_r, x_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
    h_z, h_r, h_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


@blind("gru.gru_cell", "reset placement",
       "the reset gate is applied before the product with W_hn",
       r"reset|before the (matrix )?product", others("reset"))
def gru_cell_reset_before(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    W_hr, W_hz, W_hn = weight_hh.chunk(3, dim=0)
    b_hr, b_hz, b_hn = bias_hh.chunk(3, dim=0)
    x_r, x_z, x_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h @ W_hr.T + b_hr), torch.sigmoid(x_z + h @ W_hz.T + b_hz)
    n = torch.tanh(x_n + (r * h) @ W_hn.T + b_hn)
    return (1 - z) * n + z * h


@blind("gru.gru_cell", "non-contiguous input",
       "the stacked weights are split with .view(3, -1) (one flat row per gate): fails on a non-contiguous weight",
       NON_CONTIGUOUS, others())
def gru_cell_view_blocks(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    hidden = h.shape[1]
    W_i, W_h = weight_ih.view(3, -1), weight_hh.view(3, -1)  # one flat row per gate
    b_i, b_h = bias_ih.view(3, -1), bias_hh.view(3, -1)
    W_ir, W_iz, W_in = (row.view(hidden, -1) for row in W_i)
    W_hr, W_hz, W_hn = (row.view(hidden, -1) for row in W_h)
    r = torch.sigmoid(x @ W_ir.T + b_i[0] + h @ W_hr.T + b_h[0])
    z = torch.sigmoid(x @ W_iz.T + b_i[1] + h @ W_hz.T + b_h[1])
    n = torch.tanh(x @ W_in.T + b_i[2] + r * (h @ W_hn.T + b_h[2]))
    return (1 - z) * n + z * h


def _gru_step(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh):
    x_r, x_z, x_n = (x_t @ weight_ih.T + bias_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    return (1 - z) * torch.tanh(x_n + r * h_n) + z * h


_GRU_OUTPUTS = []


@blind("gru.gru_forward", "state between calls",
       "the states go into a module-level list that is never cleared",
       STATE, others("cache"))
def gru_forward_global_list_blind2(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h = h0
    for x_t in x:
        h = _gru_step(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        _GRU_OUTPUTS.append(h)
    output = torch.stack(_GRU_OUTPUTS)
    return (output.transpose(0, 1) if batch_first else output), h


@blind("gru.gru_forward", "axes swapped",
       "with batch_first the output is left time first",
       AXES + r"|batch_first|transpos", others("axes", "transpose"))
def gru_forward_output_time_first_blind2(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        h = _gru_step(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    return torch.stack(outputs), h


@blind("gru.gru_forward", "dtype",
       "the output buffer is float32 (torch.zeros without dtype=)",
       DTYPE, others("dtype"))
def gru_forward_float32_buffer(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    output = torch.zeros(x.shape[0], x.shape[1], h0.shape[1], device=x.device)
    h = h0
    for t in range(x.shape[0]):
        h = _gru_step(x[t], h, weight_ih, weight_hh, bias_ih, bias_hh)
        output[t] = h
    return (output.transpose(0, 1) if batch_first else output), h


@blind("gru.gru_forward", "aliasing",
       "h_n is output[:, -1] with batch_first, a view of output",
       ALIAS, others("in place"))
def gru_forward_h_n_view_blind2(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        h = _gru_step(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    if batch_first:
        output = output.transpose(0, 1)
        return output, output[:, -1]
    return output, h


@blind("gru.parameter_counts", "bias",
       "the plain RNN is counted with one bias",
       r"\brnn\b|bias", others("bias"))
def parameter_counts_rnn_one_bias_blind2(input_size, hidden_size):
    per_block = hidden_size * (input_size + hidden_size) + 2 * hidden_size
    return {"rnn": per_block - hidden_size, "gru": 3 * per_block, "lstm": 4 * per_block}


@blind("gru.parameter_counts", "output type",
       "a tuple (rnn, gru, lstm) instead of the dict",
       TYPE_WORDS + r"|\bdict\b|tuple|keys", others())
def parameter_counts_tuple_blind2(input_size, hidden_size):
    per_block = hidden_size * (input_size + hidden_size) + 2 * hidden_size
    return per_block, 3 * per_block, 4 * per_block


def _gru_backward_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    ax_r, ax_z, ax_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
    ah_r, ah_z, ah_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(ax_r + ah_r), torch.sigmoid(ax_z + ah_z)
    n = torch.tanh(ax_n + r * ah_n)
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (h - n) * z * (1 - z)
    return r, z, n, grad_a_r, grad_a_z, grad_a_n


@blind("gru.gru_step_backward", "reset placement",
       "the recurrent part's n block gets the same gradient as the input part's (the r factor is missed)",
       GATE["n"] + r"|bias_hh|weight_hh|reset|\br\b", others("reset"))
def gru_step_backward_no_r_factor(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    r, z, n, grad_a_r, grad_a_z, grad_a_n = _gru_backward_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh,
                                                                grad_h_next)
    grad_a = torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1)
    return {"x": grad_a @ weight_ih, "h": grad_h_next * z + grad_a @ weight_hh,
            "weight_ih": grad_a.T @ x, "weight_hh": grad_a.T @ h,
            "bias_ih": grad_a.sum(dim=0), "bias_hh": grad_a.sum(dim=0)}


@blind("gru.gru_step_backward", "missing term",
       "the direct road z * h_{t-1} is left out of the gradient for h",
       key("h") + r"|direct|z \* h|three roads", others())
def gru_step_backward_no_direct_path_blind2(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    r, z, n, grad_a_r, grad_a_z, grad_a_n = _gru_backward_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh,
                                                                grad_h_next)
    grad_ax = torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1)
    grad_ah = torch.cat([grad_a_r, grad_a_z, grad_a_n * r], dim=1)
    return {"x": grad_ax @ weight_ih, "h": grad_ah @ weight_hh,
            "weight_ih": grad_ax.T @ x, "weight_hh": grad_ah.T @ h,
            "bias_ih": grad_ax.sum(dim=0), "bias_hh": grad_ah.sum(dim=0)}


@blind("gru.gru_step_backward", "sign",
       "the update gate's gradient uses (n - h) instead of (h - n)",
       r"\bsign\b|" + GATE["z"], others("sign"))
def gru_step_backward_z_sign(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    r, z, n, grad_a_r, grad_a_z, grad_a_n = _gru_backward_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh,
                                                                grad_h_next)
    grad_a_z = -grad_a_z
    grad_ax = torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1)
    grad_ah = torch.cat([grad_a_r, grad_a_z, grad_a_n * r], dim=1)
    return {"x": grad_ax @ weight_ih, "h": grad_h_next * z + grad_ah @ weight_hh,
            "weight_ih": grad_ax.T @ x, "weight_hh": grad_ah.T @ h,
            "bias_ih": grad_ax.sum(dim=0), "bias_hh": grad_ah.sum(dim=0)}


@blind("gru.gru_step_backward", "extreme magnitudes",
       "sigmoid as 1 / (1 + exp(-a)) and its slope as exp(-a) / (1 + exp(-a))^2: NaN for large pre-activations",
       OVERFLOW + "|" + NAN_GRADIENT, others("activation"))
def gru_step_backward_exp_slope(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    ax_r, ax_z, ax_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
    ah_r, ah_z, ah_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
    e_r, e_z = torch.exp(-(ax_r + ah_r)), torch.exp(-(ax_z + ah_z))
    r, z = 1 / (1 + e_r), 1 / (1 + e_z)
    n = torch.tanh(ax_n + r * ah_n)
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * e_r / (1 + e_r) ** 2
    grad_a_z = grad_h_next * (h - n) * e_z / (1 + e_z) ** 2
    grad_ax = torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1)
    grad_ah = torch.cat([grad_a_r, grad_a_z, grad_a_n * r], dim=1)
    return {"x": grad_ax @ weight_ih, "h": grad_h_next * z + grad_ah @ weight_hh,
            "weight_ih": grad_ax.T @ x, "weight_hh": grad_ah.T @ h,
            "bias_ih": grad_ax.sum(dim=0), "bias_hh": grad_ah.sum(dim=0)}


@blind("gru.answer_q1", "answer type",
       "'N', upper case",
       WRONG_ANSWER + r"|upper.?case|lower.?case|capital", others())
def gru_answer_q1_upper():
    return "N"


@blind("gru.answer_q1", "answer value",
       "'r'",
       WRONG_ANSWER, others())
def gru_answer_q1_r():
    return "r"


@blind("gru.answer_q2", "answer value",
       "'n': the candidate's rows",
       WRONG_ANSWER, others())
def gru_answer_q2_n():
    return "n"


# ===================================================================== char_lm

@blind("char_lm.encode", "validation",
       "unknown characters are mapped to id 0 (dict.get) instead of raising ValueError",
       r"valueerror|did not raise|not in the vocabulary|unknown", others())
def encode_unknown_as_zero(text):
    ids = {character: index for index, character in enumerate(VOCABULARY)}
    return torch.tensor([ids.get(character, 0) for character in text], dtype=torch.int64)


@blind("char_lm.encode", "dtype",
       "torch.tensor of the id list without dtype: the empty text gives a float32 tensor",
       DTYPE + r"|empty", others("dtype"))
def encode_empty_float(text):
    ids = {character: index for index, character in enumerate(VOCABULARY)}
    if any(character not in ids for character in text):
        raise ValueError("a character is not in the vocabulary")
    return torch.tensor([ids[character] for character in text])


@blind("char_lm.encode", "formula",
       "ids as ord(c) - 32, ASCII order: wrong for the newline and every non-ASCII character",
       r"\bord\b|ascii|newline|position in (the )?vocabulary|non-ascii", others())
def encode_by_ord(text):
    if any(character not in VOCABULARY for character in text):
        raise ValueError("a character is not in the vocabulary")
    return torch.tensor([ord(character) - 32 for character in text], dtype=torch.int64)


_ENCODED = {}


@blind("char_lm.encode", "state between calls",
       "the result is cached by the text's length",
       STATE, others("cache"))
def encode_cached_by_length(text):
    if len(text) not in _ENCODED:
        ids = {character: index for index, character in enumerate(VOCABULARY)}
        if any(character not in ids for character in text):
            raise ValueError("a character is not in the vocabulary")
        _ENCODED[len(text)] = torch.tensor([ids[character] for character in text], dtype=torch.int64)
    return _ENCODED[len(text)]


@blind("char_lm.decode", "validation",
       "negative ids are read from the end of the vocabulary instead of raising",
       r"valueerror|did not raise|negative|outside", others())
def decode_accepts_negative(ids):
    if (ids >= len(VOCABULARY)).any():
        raise ValueError("an id is outside the vocabulary")
    return "".join(VOCABULARY[index] for index in ids.tolist())


@blind("char_lm.decode", "off by one",
       "the bound is ids > len(VOCABULARY), so id 103 raises IndexError instead of ValueError",
       r"valueerror|indexerror|off.by.one|\b103\b|len\(VOCABULARY\)", others("time"))
def decode_bound_off_by_one(ids):
    if (ids < 0).any() or (ids > len(VOCABULARY)).any():
        raise ValueError("an id is outside the vocabulary")
    return "".join(VOCABULARY[index] for index in ids.tolist())


@blind("char_lm.decode", "size one",
       "ids are squeezed: one id gives a 0-dim tensor, whose tolist() is an int",
       SQUEEZE + r"|one id|single", others("squeeze"))
def decode_squeezed(ids):
    ids = ids.squeeze()
    if ((ids < 0) | (ids >= len(VOCABULARY))).any():
        raise ValueError("an id is outside the vocabulary")
    return "".join(VOCABULARY[index] for index in ids.tolist())


@blind("char_lm.decode", "output type",
       "returns the list of characters instead of a str",
       TYPE_WORDS + r"|\blist\b|\bstr\b", others())
def decode_list(ids):
    if ((ids < 0) | (ids >= len(VOCABULARY))).any():
        raise ValueError("an id is outside the vocabulary")
    return [VOCABULARY[index] for index in ids.tolist()]


@blind("char_lm.step_losses", "extreme magnitudes",
       "log of a softmax taken first: the probability underflows to 0 and the loss is inf for large logits",
       OVERFLOW + r"|underflow|stabl|largest logit|log ?softmax", others())
def step_losses_log_of_softmax(logits, targets):
    probabilities = torch.softmax(logits, dim=-1)
    return -torch.log(probabilities.gather(-1, targets[..., None])[..., 0])


@blind("char_lm.step_losses", "extreme magnitudes",
       "log-sum-exp without subtracting the largest logit: exp overflows",
       OVERFLOW + r"|stabl|largest logit|max", others())
def step_losses_naive_logsumexp(logits, targets):
    return torch.log(torch.exp(logits).sum(dim=-1)) - logits.gather(-1, targets[..., None])[..., 0]


@blind("char_lm.step_losses", "extreme magnitudes",
       "the logits are clamped to [-50, 50] before the exp 'to avoid overflow'",
       CLAMPED + r"|stabl|largest logit", others())
def step_losses_clamped(logits, targets):
    clamped = logits.clamp(-50, 50)
    return torch.log(torch.exp(clamped).sum(dim=-1)) - clamped.gather(-1, targets[..., None])[..., 0]


@blind("char_lm.step_losses", "non-contiguous input",
       "logits.view(-1, V) and targets.view(-1): fails on a transposed view",
       NON_CONTIGUOUS, others())
def step_losses_view(logits, targets):
    flat = logits.view(-1, logits.shape[-1])
    flat_targets = targets.view(-1)
    losses = torch.logsumexp(flat, dim=1) - flat[torch.arange(len(flat_targets)), flat_targets]
    return losses.view(targets.shape)


@blind("char_lm.step_losses", "size one",
       "logits and targets are squeezed, so a batch or a chunk of one step loses a dimension",
       SQUEEZE, others("squeeze"))
def step_losses_squeezed(logits, targets):
    logits, targets = logits.squeeze(), targets.squeeze()
    return torch.logsumexp(logits, dim=-1) - logits.gather(-1, targets[..., None])[..., 0]


@blind("char_lm.perplexity", "formula",
       "the exponential of each row's mean, then averaged over rows",
       r"mean|average|each row|per row|jensen|order", others())
def perplexity_mean_of_row_perplexities(logits, targets):
    losses = torch.logsumexp(logits, dim=-1) - logits.gather(-1, targets[..., None])[..., 0]
    return torch.exp(losses.mean(dim=1)).mean()


@blind("char_lm.perplexity", "output type",
       "returns a Python float",
       TYPE_WORDS + r"|0-dim", others())
def perplexity_float(logits, targets):
    losses = torch.logsumexp(logits, dim=-1) - logits.gather(-1, targets[..., None])[..., 0]
    return math.exp(losses.mean().item())


@blind("char_lm.perplexity", "extreme magnitudes",
       "log-sum-exp without subtracting the largest logit: overflows (or underflows) for logits far from 0",
       OVERFLOW + r"|underflow|stabl|largest logit|shift", others())
def perplexity_naive_logsumexp(logits, targets):
    losses = torch.log(torch.exp(logits).sum(dim=-1)) - logits.gather(-1, targets[..., None])[..., 0]
    return torch.exp(losses.mean())


@blind("char_lm.answer_q1", "answer type",
       "'3.33', the right number as a string",
       TYPE_WORDS + "|" + WRONG_ANSWER, others())
def char_answer_q1_string():
    return "3.33"


@blind("char_lm.answer_q1", "answer value",
       "2.0: one over the mean probability, not the exponential of the mean loss",
       WRONG_ANSWER, others())
def char_answer_q1_mean_probability():
    return 1 / ((0.9 + 0.1) / 2)


def _language_model(ids, h, parameters):
    states = []
    for t in range(ids.shape[1]):
        x_part = parameters["weight_ih"].T[ids[:, t]]
        h = torch.tanh(x_part + parameters["bias_ih"] + h @ parameters["weight_hh"].T + parameters["bias_hh"])
        states.append(h)
    return torch.stack(states, dim=1) @ parameters["weight_hy"].T + parameters["bias_y"], h


def _cross_entropy(logits, targets):
    return torch.logsumexp(logits, dim=-1) - logits.gather(-1, targets[..., None])[..., 0]


def _clip_global(gradients, max_norm):
    total = torch.sqrt(sum((g ** 2).sum() for g in gradients))
    return [g * torch.clamp(max_norm / (total + 1e-6), max=1.0) for g in gradients]


@blind("char_lm.tbptt_chunk", "input mutation",
       "the parameters are made leaves with requires_grad_() and updated in place (p.data -= ...)",
       IN_PLACE + r"|parameters", others("in place"))
def tbptt_updates_in_place(ids, targets, h, parameters, learning_rate, max_norm):
    for value in parameters.values():
        value.requires_grad_(True)
    logits, h_T = _language_model(ids, h, parameters)
    loss = _cross_entropy(logits, targets).mean()
    gradients = _clip_global(torch.autograd.grad(loss, list(parameters.values())), max_norm)
    for value, g in zip(parameters.values(), gradients):
        value.data -= learning_rate * g
        value.requires_grad_(False)
    return loss.detach(), dict(parameters), h_T.detach()


@blind("char_lm.tbptt_chunk", "input mutation",
       "the new tensors are written back into the parameters dict it was given",
       IN_PLACE + r"|parameters|\bdict\b", others("in place"))
def tbptt_rebinds_dict_entries(ids, targets, h, parameters, learning_rate, max_norm):
    leaves = {name: value.detach().clone().requires_grad_(True) for name, value in parameters.items()}
    logits, h_T = _language_model(ids, h, leaves)
    loss = _cross_entropy(logits, targets).mean()
    gradients = _clip_global(torch.autograd.grad(loss, list(leaves.values())), max_norm)
    for (name, value), g in zip(leaves.items(), gradients):
        parameters[name] = (value - learning_rate * g).detach()
    return loss.detach(), parameters, h_T.detach()


@blind("char_lm.tbptt_chunk", "output type",
       "h_T is returned without detach(): it still carries the chunk's autograd history",
       r"detach|requires_grad|h_T|grad history|graph", others())
def tbptt_h_T_not_detached(ids, targets, h, parameters, learning_rate, max_norm):
    leaves = {name: value.detach().clone().requires_grad_(True) for name, value in parameters.items()}
    logits, h_T = _language_model(ids, h, leaves)
    loss = _cross_entropy(logits, targets).mean()
    gradients = _clip_global(torch.autograd.grad(loss, list(leaves.values())), max_norm)
    new_parameters = {name: (value - learning_rate * g).detach() for (name, value), g in zip(leaves.items(),
                                                                                              gradients)}
    return loss.detach(), new_parameters, h_T


@blind("char_lm.tbptt_chunk", "clipping rule",
       "each gradient is clipped by its own norm instead of the global norm",
       r"per.tensor|each (gradient|tensor)|own norm|global norm|clipping rule", others("clipping"))
def tbptt_clips_per_tensor(ids, targets, h, parameters, learning_rate, max_norm):
    leaves = {name: value.detach().clone().requires_grad_(True) for name, value in parameters.items()}
    logits, h_T = _language_model(ids, h, leaves)
    loss = _cross_entropy(logits, targets).mean()
    gradients = [g * torch.clamp(max_norm / (g.norm() + 1e-6), max=1.0)
                 for g in torch.autograd.grad(loss, list(leaves.values()))]
    new_parameters = {name: (value - learning_rate * g).detach() for (name, value), g in zip(leaves.items(),
                                                                                              gradients)}
    return loss.detach(), new_parameters, h_T.detach()


@blind("char_lm.tbptt_chunk", "time alignment",
       "the returned loss is recomputed with the updated parameters instead of the loss before the update",
       r"before the update|after the update|\bloss\b", others("time"))
def tbptt_loss_after_update(ids, targets, h, parameters, learning_rate, max_norm):
    leaves = {name: value.detach().clone().requires_grad_(True) for name, value in parameters.items()}
    logits, h_T = _language_model(ids, h, leaves)
    loss = _cross_entropy(logits, targets).mean()
    gradients = _clip_global(torch.autograd.grad(loss, list(leaves.values())), max_norm)
    new_parameters = {name: (value - learning_rate * g).detach() for (name, value), g in zip(leaves.items(),
                                                                                              gradients)}
    with torch.no_grad():
        new_logits, _ = _language_model(ids, h, new_parameters)
    return _cross_entropy(new_logits, targets).mean(), new_parameters, h_T.detach()


@blind("char_lm.tbptt_chunk", "long sequence",
       "the state is also detached every 50 steps inside the chunk, so longer chunks lose gradient",
       TRUNCATED + "|" + STEPS + r"|detach", others())
def tbptt_detaches_every_50_steps(ids, targets, h, parameters, learning_rate, max_norm):
    leaves = {name: value.detach().clone().requires_grad_(True) for name, value in parameters.items()}
    states = []
    for t in range(ids.shape[1]):
        if t > 0 and t % 50 == 0:
            h = h.detach()
        h = torch.tanh(leaves["weight_ih"].T[ids[:, t]] + leaves["bias_ih"] + h @ leaves["weight_hh"].T
                       + leaves["bias_hh"])
        states.append(h)
    logits = torch.stack(states, dim=1) @ leaves["weight_hy"].T + leaves["bias_y"]
    loss = _cross_entropy(logits, targets).mean()
    gradients = _clip_global(torch.autograd.grad(loss, list(leaves.values())), max_norm)
    new_parameters = {name: (value - learning_rate * g).detach() for (name, value), g in zip(leaves.items(),
                                                                                              gradients)}
    return loss.detach(), new_parameters, h.detach()


@blind("char_lm.tbptt_chunk", "formula",
       "the loss is the sum of the step losses, not their mean",
       r"\bmean\b|\bsum\b|average|constant factor|off by a factor", others("factor"))
def tbptt_sum_loss(ids, targets, h, parameters, learning_rate, max_norm):
    leaves = {name: value.detach().clone().requires_grad_(True) for name, value in parameters.items()}
    logits, h_T = _language_model(ids, h, leaves)
    loss = _cross_entropy(logits, targets).sum()
    gradients = _clip_global(torch.autograd.grad(loss, list(leaves.values())), max_norm)
    new_parameters = {name: (value - learning_rate * g).detach() for (name, value), g in zip(leaves.items(),
                                                                                              gradients)}
    return loss.detach(), new_parameters, h_T.detach()


@blind("char_lm.answer_q2", "answer value",
       "'every chunk so far': believes the gradient follows the carried state back",
       WRONG_ANSWER, others())
def char_answer_q2_carried_columns():
    return "every chunk so far"


@blind("char_lm.answer_q2", "answer type",
       "True where the string 'this chunk' is asked",
       TYPE_WORDS + "|" + WRONG_ANSWER, others())
def char_answer_q2_bool():
    return True


@blind("char_lm.sample_characters", "validation",
       "temperature 0 is not special-cased: logits / 0 gives NaN probabilities and multinomial raises",
       r"temperature|greedy|argmax|T ?= ?0|division by zero|valueerror", others())
def sample_no_greedy_case(logits, temperature, num_samples, seed):
    if temperature < 0:
        raise ValueError("the temperature must be >= 0")
    generator = torch.Generator(device=logits.device).manual_seed(seed)
    return torch.multinomial(torch.softmax(logits / temperature, dim=-1), num_samples, replacement=True,
                             generator=generator)


@blind("char_lm.sample_characters", "validation",
       "a negative temperature is treated like 0 (greedy) instead of raising ValueError",
       r"valueerror|did not raise|negative|temperature", others())
def sample_negative_is_greedy(logits, temperature, num_samples, seed):
    if temperature <= 0:
        return logits.argmax(dim=-1, keepdim=True).expand(-1, num_samples).clone()
    generator = torch.Generator(device=logits.device).manual_seed(seed)
    return torch.multinomial(torch.softmax(logits / temperature, dim=-1), num_samples, replacement=True,
                             generator=generator)


_SAMPLER = {}


@blind("char_lm.sample_characters", "state between calls",
       "the generator is made and seeded on the first call only, so the same seed later gives other draws",
       STATE + r"|same seed|seed", others("cache"))
def sample_generator_made_once(logits, temperature, num_samples, seed):
    if temperature < 0:
        raise ValueError("the temperature must be >= 0")
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True).expand(-1, num_samples).clone()
    if "generator" not in _SAMPLER:
        _SAMPLER["generator"] = torch.Generator(device=logits.device).manual_seed(seed)
    return torch.multinomial(torch.softmax(logits / temperature, dim=-1), num_samples, replacement=True,
                             generator=_SAMPLER["generator"])


@blind("char_lm.sample_characters", "device",
       "torch.Generator() without device=: multinomial refuses a CPU generator for logits on a GPU",
       DEVICE + r"|generator", others("device"), needs_cuda=True)
def sample_generator_on_cpu(logits, temperature, num_samples, seed):
    if temperature < 0:
        raise ValueError("the temperature must be >= 0")
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True).expand(-1, num_samples).clone()
    generator = torch.Generator().manual_seed(seed)
    return torch.multinomial(torch.softmax(logits / temperature, dim=-1), num_samples, replacement=True,
                             generator=generator)


@blind("char_lm.sample_characters", "extreme magnitudes",
       "softmax written as exp(q / T) / sum: overflows to NaN for large logits",
       OVERFLOW + r"|stabl|largest logit", others())
def sample_naive_softmax(logits, temperature, num_samples, seed):
    if temperature < 0:
        raise ValueError("the temperature must be >= 0")
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True).expand(-1, num_samples).clone()
    weights = torch.exp(logits / temperature)
    generator = torch.Generator(device=logits.device).manual_seed(seed)
    return torch.multinomial(weights / weights.sum(dim=-1, keepdim=True), num_samples, replacement=True,
                             generator=generator)


@blind("char_lm.sample_characters", "size one",
       "the probabilities are squeezed, so a batch of one gives shape (num_samples,)",
       SQUEEZE, others("squeeze"))
def sample_squeezed(logits, temperature, num_samples, seed):
    if temperature < 0:
        raise ValueError("the temperature must be >= 0")
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True).expand(-1, num_samples).clone()
    generator = torch.Generator(device=logits.device).manual_seed(seed)
    return torch.multinomial(torch.softmax(logits / temperature, dim=-1).squeeze(), num_samples, replacement=True,
                             generator=generator)


@blind("char_lm.sample_characters", "formula",
       "draws without replacement",
       r"replacement|independent", others())
def sample_without_replacement(logits, temperature, num_samples, seed):
    if temperature < 0:
        raise ValueError("the temperature must be >= 0")
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True).expand(-1, num_samples).clone()
    generator = torch.Generator(device=logits.device).manual_seed(seed)
    return torch.multinomial(torch.softmax(logits / temperature, dim=-1), num_samples, generator=generator)


@blind("char_lm.answer_q3", "answer value",
       "3.0: 1/T where T is asked (the probabilities are cubed at T = 1/3)",
       WRONG_ANSWER, others())
def char_answer_q3_inverse():
    return 3.0


@blind("char_lm.answer_q3", "answer type",
       "numpy.float32(1/3): rounds the answer, not a Python float",
       TYPE_WORDS + "|" + WRONG_ANSWER, others())
def char_answer_q3_float32():
    return np.float32(1 / 3)


def _train_language_model(hidden, updates, key_names, weight_hy_transposed=False, seed=0):
    generator = torch.Generator().manual_seed(seed)
    V = len(VOCABULARY)
    shapes = {"weight_ih": (3 * hidden, V), "weight_hh": (3 * hidden, hidden), "bias_ih": (3 * hidden,),
              "bias_hh": (3 * hidden,), "weight_hy": (V, hidden), "bias_y": (V,)}
    p = {name: ((torch.rand(*shape, generator=generator) * 2 - 1) * hidden ** -0.5).requires_grad_(True)
         for name, shape in shapes.items()}
    optimiser = torch.optim.Adam(p.values(), lr=0.005)
    ids = torch.tensor([VOCABULARY.index(character) for character in TRAIN_TEXT[:20000]], dtype=torch.int64)
    h = torch.zeros(16, hidden)
    for _, (inputs, targets) in zip(range(updates), sequential_batches(ids, 16, 30)):
        h = h.detach()
        states = []
        for t in range(inputs.shape[1]):
            x_r, x_z, x_n = (p["weight_ih"].T[inputs[:, t]] + p["bias_ih"]).chunk(3, dim=1)
            h_r, h_z, h_n = (h @ p["weight_hh"].T + p["bias_hh"]).chunk(3, dim=1)
            r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
            h = (1 - z) * torch.tanh(x_n + r * h_n) + z * h
            states.append(h)
        logits = torch.stack(states, dim=1) @ p["weight_hy"].T + p["bias_y"]
        loss = _cross_entropy(logits, targets).mean()
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(p.values(), 1.0)
        optimiser.step()
    trained = {name: value.detach().clone() for name, value in p.items()}
    if weight_hy_transposed:
        trained["weight_hy"] = trained["weight_hy"].T.contiguous()
    return {new: trained[old] for old, new in zip(shapes, key_names)}


@blind("char_lm.language_model_parameters", "answer value",
       "a fixed number of 20 updates, far too few: the perplexity stays near the untrained model's",
       r"perplexity|goal|\b7\b|not (trained|learn)", others())
def language_model_too_few_updates():
    return _train_language_model(32, 20, ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hy", "bias_y"))


@blind("char_lm.language_model_parameters", "output type",
       "the output layer's keys are named weight_ho and bias_o instead of weight_hy and bias_y",
       r"weight_hy|bias_y|keys?", others())
def language_model_other_key_names():
    return _train_language_model(16, 5, ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_ho", "bias_o"))


@blind("char_lm.language_model_parameters", "axes swapped",
       "weight_hy is stored as (H, V), transposed",
       r"weight_hy|transpos|\(103, ?\d+\)", others("transpose", "axes"))
def language_model_weight_hy_transposed():
    return _train_language_model(16, 5, ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hy", "bias_y"),
                                 weight_hy_transposed=True)
