"""A held-out set of realistic wrong implementations of every exercise, for measuring the checks.

Written from the notebooks' texts and the PyTorch equations only, without reading the hint code
(autograder/diagnose.py, autograder/mistaken_kernels.py, tests/test_mutants.py or any other explanation
module), so that it measures how well the hidden checks, the visible checks and the "Likely mistake" hints
generalise to mistakes nobody catalogued. tests/heldout/test_heldout.py runs it.

Each entry is `HeldOut(check_id, fn, mistake, where, wrong_names, needs_cuda)`:
- `mistake`: the mistake in plain words;
- `where`: a case-insensitive regex that a message naming this mistake, or pinning it to its exact place
  (gate, step, row, term, rule), would match;
- `wrong_names`: a regex matching hints that would name a *different* mistake;
- `needs_cuda`: the function is wrong only when its inputs live on a GPU (measured only where CUDA exists).

Every function is something a student could write after reading the notebook: the signature is the
notebook's, the code is plain tensor operations, and exactly one thing is wrong. Some are right on typical
random inputs and wrong only at the edges of the contract (batch of 1, steps == batch, a state seen only
at the end, a norm between sqrt(max_norm) and max_norm, a long sequence in float32, k = 0, tau = T).
"""
import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

import reference_solutions as right
import reference_solutions_new_parts as right_new


@dataclass(frozen=True)
class HeldOut:
    check_id: str
    fn: Callable
    mistake: str
    where: str
    wrong_names: str | None = None
    needs_cuda: bool = False

    @property
    def name(self):
        return self.fn.__name__


HELD_OUT = []


def wrong(check_id, mistake, where, wrong_names=None, needs_cuda=False):
    """Register the decorated function as a HeldOut entry of `check_id`."""
    def register(fn):
        HELD_OUT.append(HeldOut(check_id, fn, mistake, where, wrong_names, needs_cuda))
        return fn
    return register


# Regexes for hints that name a mistake of another family; combined per entry below.
TRANSPOSE = r"transpos"
BIAS = r"\bbias|b_h\w|b_i\w"
ACTIVATION = r"sigmoid|tanh|relu|activation|nonlinearit"
IN_PLACE = r"in.?place"
GATE_ORDER = r"gate order|block order|permut|swapped blocks"
TIME_SHIFT = r"shift|off.by.one|revers"
GRADIENT = r"gradient|differentiab|detach|no_grad|autograd"
DTYPE = r"dtype|float32|float64"


def others(*families):
    return "|".join(families)


def only_wrong(*outputs):
    """A message that reports exactly these outputs wrong, and the others right, pins the mistake to them."""
    listed = ", ".join(f"`{re.escape(name)}`" for name in outputs)
    return rf"right: [^\n]*wrong: {listed}(?![,\w])|only {listed} (is|are) wrong"


# ============================================================== sequence_models

@wrong("sequence_models.ar_design_matrix", "one row too many: windows for i in range(T - tau + 1), so the "
       "last window has no target", r"shape|T ?- ?tau rows|one (extra|too many)|extra row|too many rows",
       others(TRANSPOSE, IN_PLACE, DTYPE))
def ar_design_one_row_too_many(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau out of range")
    X = torch.stack([x[i:i + tau] for i in range(len(x) - tau + 1)])
    return X, x[tau:]


@wrong("sequence_models.ar_design_matrix", "each window newest value first (columns reversed)",
       r"revers|flip|column|oldest|newest|order"
       + "|" + only_wrong("X"), others(BIAS, IN_PLACE, DTYPE))
def ar_design_newest_first(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau out of range")
    X = torch.stack([x[i:i + tau].flip(0) for i in range(len(x) - tau)])
    return X, x[tau:]


@wrong("sequence_models.ar_design_matrix", "no ValueError for tau < 1 or tau >= T (returns empty or "
       "short tensors)", r"ValueError|invalid|raise", others(TRANSPOSE, ACTIVATION, DTYPE))
def ar_design_no_validation(x, tau):
    columns = [x[lag:len(x) - tau + lag] for lag in range(tau)]
    X = torch.stack(columns, dim=1) if columns else x.new_zeros(len(x) - tau, 0)
    return X, x[tau:]


@wrong("sequence_models.ar_design_matrix", "the range test is tau > T instead of tau >= T, so tau == T "
       "returns empty tensors instead of raising", r"ValueError|invalid|raise|tau ?(>=|==) ?T",
       others(TRANSPOSE, DTYPE))
def ar_design_off_by_one_validation(x, tau):
    if tau < 1 or tau > len(x):
        raise ValueError("tau out of range")
    X = x.unfold(0, tau, 1)[:-1]
    return X, x[tau:]


@wrong("sequence_models.ar_design_matrix", "the target is the last value of the window, x[i + tau - 1], "
       "not the next one", r"\by\b.*(shift|one|previous|last)|shift|off.by.one|x\[i ?\+ ?tau"
       + "|" + only_wrong("y"),
       others(TRANSPOSE, DTYPE, IN_PLACE))
def ar_design_target_inside_window(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau out of range")
    X = torch.stack([x[i:i + tau] for i in range(len(x) - tau)])
    return X, x[tau - 1:-1]


@wrong("sequence_models.ar_design_matrix", "rows built through Python lists and torch.tensor, which makes "
       "float32 whatever the input dtype", r"dtype|float32|float64", others(TRANSPOSE, TIME_SHIFT))
def ar_design_through_lists(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau out of range")
    X = torch.tensor([x[i:i + tau].tolist() for i in range(len(x) - tau)], device=x.device)
    y = torch.tensor(x[tau:].tolist(), device=x.device)
    return X, y


@wrong("sequence_models.fit_ar", "no column of ones: the least-squares fit has no intercept (b returned as 0)",
       r"intercept|column of ones|ones column|constant", others(TRANSPOSE, DTYPE, IN_PLACE))
def fit_ar_without_intercept(x, tau):
    X, y = right.ar_design_matrix(x, tau)
    w = torch.linalg.lstsq(X, y[:, None]).solution[:, 0]
    return w, torch.zeros((), dtype=x.dtype, device=x.device)


@wrong("sequence_models.fit_ar", "the column of ones is put first, but the intercept is read from the last "
       "coefficient", r"intercept|first (coefficient|column)|last coefficient|column of ones|shift|order",
       others(TRANSPOSE, DTYPE))
def fit_ar_ones_first(x, tau):
    X, y = right.ar_design_matrix(x, tau)
    design = torch.cat([torch.ones(len(y), 1, dtype=x.dtype, device=x.device), X], dim=1)
    solution = torch.linalg.lstsq(design, y[:, None]).solution[:, 0]
    return solution[:-1], solution[-1]


@wrong("sequence_models.fit_ar", "solved with numpy: the result is float64 on the CPU whatever the input",
       r"dtype|float32|float64|numpy|device", others(TRANSPOSE, BIAS))
def fit_ar_with_numpy(x, tau):
    X, y = right.ar_design_matrix(x, tau)
    design = np.hstack([X.cpu().numpy().astype(np.float64), np.ones((len(y), 1))])
    solution, *_ = np.linalg.lstsq(design, y.cpu().numpy().astype(np.float64), rcond=None)
    solution = torch.from_numpy(solution)
    return solution[:-1], solution[-1]


@wrong("sequence_models.fit_ar", "the intercept returned as a 1-element tensor (shape (1,)) instead of "
       "a 0-dim tensor", r"shape|0-dim|scalar|\(1,\)", others(TRANSPOSE, DTYPE))
def fit_ar_intercept_shape_one(x, tau):
    X, y = right.ar_design_matrix(x, tau)
    design = torch.cat([X, torch.ones(len(y), 1, dtype=x.dtype, device=x.device)], dim=1)
    solution = torch.linalg.lstsq(design, y[:, None]).solution[:, 0]
    return solution[:-1], solution[-1:]


@wrong("sequence_models.predict_ahead", "each prediction is put at the front of the window and the newest "
       "value dropped, so the window's order is wrong from the second prediction on",
       r"window|order|oldest|newest|second prediction|from (step |prediction )?1 on|feed",
       others(TRANSPOSE, DTYPE, IN_PLACE))
def predict_prepends_prediction(history, w, b, k):
    window = history[-len(w):]
    predictions = []
    for _ in range(k):
        value = window @ w + b
        predictions.append(value)
        window = torch.cat([value[None], window[:-1]])
    return torch.stack(predictions)


@wrong("sequence_models.predict_ahead", "the window is dotted with w newest value first (reversed)",
       r"revers|flip|order|oldest|newest", others(DTYPE, IN_PLACE))
def predict_reversed_window(history, w, b, k):
    window = history[-len(w):]
    predictions = []
    for _ in range(k):
        value = window.flip(0) @ w + b
        predictions.append(value)
        window = torch.cat([window[1:], value[None]])
    return torch.stack(predictions)


@wrong("sequence_models.predict_ahead", "k = 0 crashes (torch.stack of an empty list) instead of returning "
       "an empty tensor of shape (0,)", r"k ?= ?0|empty|no prediction|zero predictions|shape \(0,?\)",
       others(TRANSPOSE, DTYPE))
def predict_crashes_for_k_zero(history, w, b, k):
    window = history[-len(w):]
    predictions = []
    for _ in range(k):
        value = window @ w + b
        predictions.append(value)
        window = torch.cat([window[1:], value.reshape(1)])
    return torch.stack(predictions)


@wrong("sequence_models.predict_ahead", "the window is a view of history and is shifted in place, so the "
       "caller's history changes", r"in.?place|history|changed|modif", others(TRANSPOSE, DTYPE))
def predict_shifts_history_in_place(history, w, b, k):
    window = history[-len(w):]
    predictions = []
    for _ in range(k):
        value = window @ w + b
        predictions.append(value.clone())
        window[:-1] = window[1:].clone()
        window[-1] = value
    return torch.stack(predictions)


@wrong("sequence_models.predict_ahead", "the window leaves out the last value of history (history[-tau-1:-1])",
       r"window|last value|off.by.one|shift|history\[", others(TRANSPOSE, DTYPE, IN_PLACE))
def predict_window_misses_last_value(history, w, b, k):
    tau = len(w)
    window = history[-tau - 1:-1]
    predictions = []
    for _ in range(k):
        value = window @ w + b
        predictions.append(value)
        window = torch.cat([window[1:], value[None]])
    return torch.stack(predictions)


@wrong("sequence_models.predict_ahead", "predictions written into torch.zeros(k), which is float32 whatever "
       "the input dtype", r"dtype|float32|float64", others(TRANSPOSE, TIME_SHIFT))
def predict_into_float32_buffer(history, w, b, k):
    window = history[-len(w):]
    predictions = torch.zeros(k, device=history.device)
    for step in range(k):
        value = window @ w + b
        predictions[step] = value
        window = torch.cat([window[1:], value[None]])
    return predictions


@wrong("sequence_models.transition_matrix", "uniform rows for states that never occur, but a state seen only "
       "at the very end (never left) gets 0/0 = NaN", r"nan|non-finite|never left|only (at the )?(end|last)|"
       r"last state", others(TRANSPOSE, DTYPE))
def transition_uniform_only_for_unseen_states(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64, device=states.device)
    counts.index_put_((states[:-1], states[1:]), torch.ones(len(states) - 1, dtype=torch.float64,
                                                              device=states.device), accumulate=True)
    seen = torch.bincount(states, minlength=n_states) > 0
    P = counts / counts.sum(dim=1, keepdim=True)
    P[~seen] = 1.0 / n_states
    return P


@wrong("sequence_models.transition_matrix", "rows of states never left stay all zero instead of uniform",
       r"uniform|never left|zero row|row.*(zero|sum)|1 ?/ ?n", others(TRANSPOSE, DTYPE))
def transition_zero_rows(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64, device=states.device)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    return counts / counts.sum(dim=1, keepdim=True).clamp(min=1)


@wrong("sequence_models.transition_matrix", "counts in float32 and returns float32, where the text asks for "
       "float64", r"float64|dtype", others(TRANSPOSE, BIAS))
def transition_float32(states, n_states):
    counts = torch.zeros(n_states, n_states, device=states.device)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    totals = counts.sum(dim=1, keepdim=True)
    return torch.where(totals > 0, counts / totals.clamp(min=1), torch.full_like(counts, 1.0 / n_states))


@wrong("sequence_models.transition_matrix", "counts indexed [to, from]: the result is the transpose",
       r"transpos|\[to, ?from\]|swap|column", others(DTYPE, IN_PLACE))
def transition_counts_transposed(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64, device=states.device)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[b, a] += 1
    totals = counts.sum(dim=1, keepdim=True)
    return torch.where(totals > 0, counts / totals.clamp(min=1), torch.full_like(counts, 1.0 / n_states))


@wrong("sequence_models.transition_matrix", "normalised by column sums instead of row sums",
       r"column|row sums?|normali[sz]|dim ?= ?0|axis", others(DTYPE, IN_PLACE))
def transition_normalised_by_columns(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64, device=states.device)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    totals = counts.sum(dim=0, keepdim=True)
    return torch.where(totals > 0, counts / totals.clamp(min=1), torch.full_like(counts, 1.0 / n_states))


@wrong("sequence_models.transition_matrix", "the loop stops one pair early: the last transition is never "
       "counted", r"last (transition|pair|step)|end of the sequence|off.by.one|"
       r"only from_state indices \[\d+\] (is|are) wrong",
       others(TRANSPOSE, DTYPE))
def transition_misses_last_pair(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64, device=states.device)
    for t in range(1, len(states) - 1):
        counts[states[t - 1], states[t]] += 1
    totals = counts.sum(dim=1, keepdim=True)
    return torch.where(totals > 0, counts / totals.clamp(min=1), torch.full_like(counts, 1.0 / n_states))


@wrong("sequence_models.transition_matrix", "counts made on the CPU (torch.zeros without device), so a CUDA "
       "input gets a CPU result", r"device|cpu|cuda", others(TRANSPOSE, DTYPE), needs_cuda=True)
def transition_on_cpu(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    totals = counts.sum(dim=1, keepdim=True)
    return torch.where(totals > 0, counts / totals.clamp(min=1), torch.full_like(counts, 1.0 / n_states))


@wrong("sequence_models.markov_log_likelihood", "log of the product of probabilities: underflows to -inf on "
       "long sequences", r"underflow|product|-inf|non-finite|long sequence|log of (a|the) product",
       others(TRANSPOSE, BIAS))
def markov_log_of_product(states, P, p0):
    return torch.log(p0[states[0]] * P[states[:-1], states[1:]].prod())


@wrong("sequence_models.markov_log_likelihood", "the initial term log p0[s_0] is left out",
       r"p0|initial|first (state|term)|s_0|start", others(TRANSPOSE, "underflow"))
def markov_without_initial_term(states, P, p0):
    return torch.log(P[states[:-1], states[1:]]).sum()


@wrong("sequence_models.markov_log_likelihood", "P indexed [to, from] (P[s_t, s_{t-1}])",
       r"transpos|P\[|swap|\[to, ?from\]|index order", others("underflow", BIAS))
def markov_transposed_index(states, P, p0):
    return torch.log(p0[states[0]]) + torch.log(P[states[1:], states[:-1]]).sum()


@wrong("sequence_models.markov_log_likelihood", "accumulated with math.log in a Python loop: returns a Python "
       "float, not a 0-dim tensor", r"tensor|python float|0-dim|\btype\b", others(TRANSPOSE, "underflow"))
def markov_python_float(states, P, p0):
    total = math.log(p0[states[0]].item())
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        total += math.log(P[a, b].item())
    return total


@wrong("sequence_models.markov_log_likelihood", "the mean of the transition log-probabilities instead of "
       "their sum", r"mean|average|sum|factor|scal", others(TRANSPOSE, "underflow"))
def markov_mean_instead_of_sum(states, P, p0):
    return torch.log(p0[states[0]]) + torch.log(P[states[:-1], states[1:]]).mean()


@wrong("sequence_models.latent_update", "A used without transposing (h @ A)", r"transpos|A\.T\b|`A`",
       others(BIAS, ACTIVATION, IN_PLACE))
def latent_update_A_not_transposed(h, x, A, B):
    return h @ A + x @ B.T


@wrong("sequence_models.latent_update", "squeezed result: a batch of 1 loses its batch axis",
       r"shape|batch axis|squeeze|batch of 1", others(TRANSPOSE, BIAS))
def latent_update_squeezed(h, x, A, B):
    return (h @ A.T + x @ B.T).squeeze()


@wrong("sequence_models.latent_update", "computed through numpy: right values, but no gradient flows and "
       "CUDA inputs fail", r"numpy|gradient|differentiab|detach|autograd", others(TRANSPOSE, BIAS))
def latent_update_through_numpy(h, x, A, B):
    h_np, x_np, A_np, B_np = (t.detach().cpu().numpy() for t in (h, x, A, B))
    return torch.from_numpy(h_np @ A_np.T + x_np @ B_np.T).to(h.device)


@wrong("sequence_models.latent_update", "column-vector convention of the maths, A h + B x, on batched rows: "
       "the result is (d_h, batch), the transpose of h_next", r"shape|transpos|column|\(d_h, ?batch\)",
       others(BIAS, ACTIVATION))
def latent_update_column_convention(h, x, A, B):
    return A @ h.T + B @ x.T


# ============================================================== rnn

def _rnn_pre_activation(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    return x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh


@wrong("rnn.rnn_cell", "an unknown nonlinearity silently falls back to tanh instead of raising ValueError",
       r"ValueError|invalid|raise|unknown", others(TRANSPOSE, BIAS))
def rnn_cell_falls_back_to_tanh(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = _rnn_pre_activation(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    return torch.relu(pre) if nonlinearity == "relu" else torch.tanh(pre)


@wrong("rnn.rnn_cell", "bias_hh left out (only bias_ih added)", r"bias_hh|b_hh|bias",
       others(TRANSPOSE, ACTIVATION, IN_PLACE))
def rnn_cell_one_bias(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + h @ weight_hh.T + bias_ih
    if nonlinearity == "tanh":
        return torch.tanh(pre)
    if nonlinearity == "relu":
        return torch.relu(pre)
    raise ValueError(nonlinearity)


@wrong("rnn.rnn_cell", "weight_hh used without transposing (h @ weight_hh)",
       r"transpos|weight_hh|W_hh|recurrent weight", others(BIAS, ACTIVATION, IN_PLACE))
def rnn_cell_weight_hh_not_transposed(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh + bias_hh
    if nonlinearity == "tanh":
        return torch.tanh(pre)
    if nonlinearity == "relu":
        return torch.relu(pre)
    raise ValueError(nonlinearity)


@wrong("rnn.rnn_cell", "the nonlinearity argument is ignored: always tanh, even for relu",
       r"relu|nonlinearity|activation", others(TRANSPOSE, BIAS))
def rnn_cell_ignores_relu(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(nonlinearity)
    return torch.tanh(_rnn_pre_activation(x, h, weight_ih, weight_hh, bias_ih, bias_hh))


@wrong("rnn.rnn_cell", "computed under torch.no_grad(): right values, no gradient", GRADIENT,
       others(TRANSPOSE, BIAS, ACTIVATION))
def rnn_cell_under_no_grad(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    with torch.no_grad():
        pre = _rnn_pre_activation(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
        if nonlinearity == "tanh":
            return torch.tanh(pre)
        if nonlinearity == "relu":
            return torch.relu(pre)
    raise ValueError(nonlinearity)


@wrong("rnn.rnn_cell", "the option is lower-cased first, so 'TANH' or 'Relu' is accepted instead of raising "
       "ValueError", r"ValueError|invalid|raise|unknown|upper.?case|lower\(\)|case.?(in)?sensitive",
       others(TRANSPOSE, BIAS))
def rnn_cell_case_insensitive_option(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = _rnn_pre_activation(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    kind = nonlinearity.lower()
    if kind == "tanh":
        return torch.tanh(pre)
    if kind == "relu":
        return torch.relu(pre)
    raise ValueError(nonlinearity)


def _unroll(cell, x, h):
    outputs = []
    for x_t in x:
        h = cell(x_t, h)
        outputs.append(h)
    return torch.stack(outputs), h


def _rnn_step(weight_ih, weight_hh, bias_ih, bias_hh):
    return lambda x_t, h: torch.tanh(_rnn_pre_activation(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh))


@wrong("rnn.rnn_forward", "guesses the layout from the shapes (transposes when x.shape[1] != batch) instead "
       "of reading batch_first: wrong when steps == batch", r"batch_first|layout|guess|steps ?== ?batch",
       others(BIAS, ACTIVATION, IN_PLACE))
def rnn_forward_guesses_layout(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    time_first = x.shape[1] == h0.shape[0]
    if not time_first:
        x = x.transpose(0, 1)
    output, h = _unroll(_rnn_step(weight_ih, weight_hh, bias_ih, bias_hh), x, h0)
    return (output if time_first else output.transpose(0, 1)), h


@wrong("rnn.rnn_forward", "with batch_first the input is transposed but the output is not transposed back",
       r"batch_first|transpos|layout|shape|\(batch, time", others(BIAS, ACTIVATION, IN_PLACE))
def rnn_forward_output_not_transposed_back(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    return _unroll(_rnn_step(weight_ih, weight_hh, bias_ih, bias_hh), x, h0)


@wrong("rnn.rnn_forward", "h_n is the first step's state (outputs[0]) instead of the last",
       r"last (step|state)|final|first step|output\[0\]"
       + "|" + only_wrong("h_n"), others(TRANSPOSE, BIAS, ACTIVATION))
def rnn_forward_returns_first_state(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    output, _ = _unroll(_rnn_step(weight_ih, weight_hh, bias_ih, bias_hh), x, h0)
    return (output.transpose(0, 1) if batch_first else output), output[0]


@wrong("rnn.rnn_forward", "the state is not carried: every step starts again from h0",
       r"carr|previous|h0|t ?= ?1\b|step 1\b|second step|from step 1|recurren", others(TRANSPOSE, BIAS))
def rnn_forward_state_not_carried(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    step = _rnn_step(weight_ih, weight_hh, bias_ih, bias_hh)
    outputs = [step(x_t, h0) for x_t in x]
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), outputs[-1]


@wrong("rnn.rnn_forward", "output stacks the state before each step (h0 .. h_{T-1}) instead of after it",
       r"shift|off.by.one|h0|initial state|one step (early|late)|before (each|the) step"
       + "|" + only_wrong("output"),
       others(TRANSPOSE, BIAS, ACTIVATION))
def rnn_forward_output_shifted(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    step = _rnn_step(weight_ih, weight_hh, bias_ih, bias_hh)
    h, outputs = h0, []
    for x_t in x:
        outputs.append(h)
        h = step(x_t, h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@wrong("rnn.rnn_forward", "the sequence is run from the last step to the first",
       r"revers|flip|backward|order|last to first", others(TRANSPOSE, BIAS, ACTIVATION))
def rnn_forward_reversed(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    output, h = _unroll(_rnn_step(weight_ih, weight_hh, bias_ih, bias_hh), x.flip(0), h0)
    return (output.transpose(0, 1) if batch_first else output), h


@wrong("rnn.rnn_forward", "h_n.squeeze(0) to drop PyTorch's layer axis, which drops the batch axis when "
       "batch is 1", r"shape|batch axis|squeeze|batch of 1", others(TRANSPOSE, BIAS, ACTIVATION))
def rnn_forward_squeezes_h_n(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    output, h = _unroll(_rnn_step(weight_ih, weight_hh, bias_ih, bias_hh), x, h0)
    return (output.transpose(0, 1) if batch_first else output), h.squeeze(0)


@wrong("rnn.rnn_forward", "output preallocated with torch.zeros(T, batch, hidden): float32 whatever the "
       "input dtype", r"dtype|float32|float64", others(TRANSPOSE, TIME_SHIFT))
def rnn_forward_float32_buffer(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    step = _rnn_step(weight_ih, weight_hh, bias_ih, bias_hh)
    output = torch.zeros(x.shape[0], x.shape[1], h0.shape[1], device=x.device)
    h = h0
    for t in range(x.shape[0]):
        h = step(x[t], h)
        output[t] = h
    return (output.transpose(0, 1) if batch_first else output), h


@wrong("rnn.rnn_forward", "each state detached before the next step (truncated backpropagation by habit): "
       "right values, gradients stop at every step", GRADIENT, others(TRANSPOSE, BIAS, ACTIVATION))
def rnn_forward_detaches_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    step = _rnn_step(weight_ih, weight_hh, bias_ih, bias_hh)
    h, outputs = h0, []
    for x_t in x:
        h = step(x_t, h).detach()
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


def _rnn_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(_rnn_pre_activation(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh)))
    return states


@wrong("rnn.rnn_bptt", "the tanh derivative uses the previous state, 1 - h_{t-1}^2, instead of 1 - h_t^2",
       r"derivative|1 ?- ?h|h_\{?t ?- ?1|previous state|off.by.one|shift", others(TRANSPOSE, BIAS))
def bptt_derivative_of_previous_state(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = _rnn_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_w_ih, grad_w_hh, grad_b = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(bias_ih)
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        delta = grad_h * (1 - states[t - 1] ** 2)
        grad_w_ih = grad_w_ih + delta.T @ x[t - 1]
        grad_w_hh = grad_w_hh + delta.T @ states[t - 1]
        grad_b = grad_b + delta.sum(dim=0)
        grad_h = delta @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


@wrong("rnn.rnn_bptt", "the gradient to the previous state uses weight_hh transposed (delta @ W_hh^T)",
       r"transpos|W_hh\^T|weight_hh\.T|previous state", others(BIAS, ACTIVATION))
def bptt_transposed_recurrent_weight(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = _rnn_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_w_ih, grad_w_hh, grad_b = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(bias_ih)
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        delta = grad_h * (1 - states[t] ** 2)
        grad_w_ih = grad_w_ih + delta.T @ x[t - 1]
        grad_w_hh = grad_w_hh + delta.T @ states[t - 1]
        grad_b = grad_b + delta.sum(dim=0)
        grad_h = delta @ weight_hh.T
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


@wrong("rnn.rnn_bptt", "the weight gradients are assigned, not accumulated: only step 1's contribution is kept",
       r"accumulat|sum(med)? over (time|steps)|every step|only (the )?(first|last|one) step|\+="
       + "|" + only_wrong("grad_weight_ih", "grad_weight_hh"),
       others(TRANSPOSE, BIAS))
def bptt_weights_not_accumulated(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = _rnn_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_b = torch.zeros_like(bias_ih)
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        delta = grad_h * (1 - states[t] ** 2)
        grad_w_ih = delta.T @ x[t - 1]
        grad_w_hh = delta.T @ states[t - 1]
        grad_b = grad_b + delta.sum(dim=0)
        grad_h = delta @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


@wrong("rnn.rnn_bptt", "grad_bias_hh returned as zeros (only bias_ih thought to get a gradient)",
       r"both biases|zero|missing|bias_hh (gets|has) (a|the same)"
       + "|" + only_wrong("grad_bias_hh"), others(TRANSPOSE, ACTIVATION))
def bptt_zero_bias_hh_gradient(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    grads = right.rnn_bptt(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T)
    return grads[0], grads[1], grads[2], torch.zeros_like(bias_hh), grads[4]


@wrong("rnn.rnn_bptt", "bias gradients averaged over the batch instead of summed",
       r"mean|average|sum over (the )?batch|batch size|factor"
       + "|" + only_wrong("grad_bias_ih", "grad_bias_hh"), others(TRANSPOSE, ACTIVATION))
def bptt_bias_mean_over_batch(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = _rnn_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_w_ih, grad_w_hh, grad_b = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(bias_ih)
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        delta = grad_h * (1 - states[t] ** 2)
        grad_w_ih = grad_w_ih + delta.T @ x[t - 1]
        grad_w_hh = grad_w_hh + delta.T @ states[t - 1]
        grad_b = grad_b + delta.mean(dim=0)
        grad_h = delta @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


@wrong("rnn.rnn_bptt", "grad_weight_hh uses the current state h_t instead of h_{t-1}",
       r"h_\{?t ?- ?1|previous state|grad_weight_hh.*(shift|state)|off.by.one|shift"
       + "|" + only_wrong("grad_weight_hh"),
       others(TRANSPOSE, BIAS))
def bptt_weight_hh_with_current_state(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = _rnn_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_w_ih, grad_w_hh, grad_b = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(bias_ih)
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        delta = grad_h * (1 - states[t] ** 2)
        grad_w_ih = grad_w_ih + delta.T @ x[t - 1]
        grad_w_hh = grad_w_hh + delta.T @ states[t]
        grad_b = grad_b + delta.sum(dim=0)
        grad_h = delta @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


def _single_sequence_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
    return states


@wrong("rnn.hidden_gradient_norms", "the step Jacobians multiplied on the wrong side (J_{t+1} ... J_T "
       "instead of J_T ... J_{t+1})", r"order|(left|right)[- ]multipl|on the (left|right)|wrong side|revers",
       others(TRANSPOSE, BIAS))
def norms_product_in_wrong_order(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = _single_sequence_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian)]
    for t in range(len(x), 0, -1):
        jacobian = ((1 - states[t] ** 2)[:, None] * weight_hh) @ jacobian
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


@wrong("rnn.hidden_gradient_norms", "norms returned from t = T down to 0 (the list is never reversed)",
       r"revers|order|flip", others(TRANSPOSE, BIAS))
def norms_not_reversed(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = _single_sequence_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian)]
    for t in range(len(x), 0, -1):
        jacobian = jacobian @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms)


@wrong("rnn.hidden_gradient_norms", "the tanh derivative of the previous state (1 - h_{t-1}^2) in each step "
       "Jacobian", r"derivative|1 ?- ?h|h_\{?t ?- ?1|previous state|off.by.one|shift", others(TRANSPOSE, BIAS))
def norms_derivative_of_previous_state(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = _single_sequence_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian)]
    for t in range(len(x), 0, -1):
        jacobian = jacobian @ ((1 - states[t - 1] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


@wrong("rnn.hidden_gradient_norms", "the identity entry for t = T is missing: T norms instead of T + 1",
       r"shape|T ?\+ ?1|identity|last entry", others(TRANSPOSE, BIAS))
def norms_without_identity_entry(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = _single_sequence_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = []
    for t in range(len(x), 0, -1):
        jacobian = jacobian @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


@wrong("rnn.hidden_gradient_norms", "the spectral norm (ord=2) instead of the Frobenius norm",
       r"frobenius|spectral|ord ?=|2-norm|singular", others(TRANSPOSE, BIAS, TIME_SHIFT))
def norms_spectral_instead_of_frobenius(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = _single_sequence_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian, ord=2)]
    for t in range(len(x), 0, -1):
        jacobian = jacobian @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(jacobian, ord=2))
    return torch.stack(norms[::-1])


@wrong("rnn.hidden_gradient_norms", "diag(1 - h^2) applied to the columns of W_hh instead of its rows "
       "(W_hh diag(1 - h^2))", r"diag|column|row|side|transpos", others(BIAS, TIME_SHIFT))
def norms_derivative_on_columns(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = _single_sequence_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian)]
    for t in range(len(x), 0, -1):
        jacobian = jacobian @ (weight_hh * (1 - states[t] ** 2)[None, :])
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


def _total_norm(grads):
    return torch.sqrt(sum((g ** 2).sum() for g in grads))


@wrong("rnn.clip_grad_norm", "scales the caller's gradients in place (g.mul_)", r"in.?place|changed|modif",
       others(TRANSPOSE, "threshold|epsilon"))
def clip_in_place(grads, max_norm):
    total = _total_norm(grads)
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(scale)
    return grads, total


@wrong("rnn.clip_grad_norm", "when no clipping is needed the caller's list is returned as it is, not new "
       "tensors", r"same (object|list|tensor)|input (object|list)|caller|copy|copies|new tensors|alias",
       others(TRANSPOSE, "threshold|epsilon", IN_PLACE))
def clip_returns_input_list(grads, max_norm):
    total = _total_norm(grads)
    if total <= max_norm:
        return grads, total
    scale = max_norm / (total + 1e-6)
    return [g * scale for g in grads], total


@wrong("rnn.clip_grad_norm", "when no clipping is needed the caller's tensors are put in a new list, not "
       "copied", r"same (object|tensor)|input (object|tensor)|caller|copy|copies|new tensors|alias",
       others(TRANSPOSE, "threshold|epsilon", IN_PLACE))
def clip_returns_input_tensors(grads, max_norm):
    total = _total_norm(grads)
    if total <= max_norm:
        return list(grads), total
    scale = max_norm / (total + 1e-6)
    return [g * scale for g in grads], total


@wrong("rnn.clip_grad_norm", "clips when the squared norm exceeds max_norm: wrong for norms between "
       "sqrt(max_norm) and max_norm", r"squared|sqrt|threshold|norm between|should not (be )?clip",
       others(TRANSPOSE, IN_PLACE))
def clip_compares_squared_norm(grads, max_norm):
    squared = sum((g ** 2).sum() for g in grads)
    total = torch.sqrt(squared)
    if squared > max_norm:
        return [g * (max_norm / (total + 1e-6)) for g in grads], total
    return [g.clone() for g in grads], total


@wrong("rnn.clip_grad_norm", "each tensor clipped by its own norm instead of the global norm",
       r"global|total norm|each tensor|per.?tensor|own norm|together|all (the )?(entries|tensors)",
       others(TRANSPOSE, IN_PLACE))
def clip_each_tensor_alone(grads, max_norm):
    total = _total_norm(grads)
    clipped = [g * torch.clamp(max_norm / (g.norm() + 1e-6), max=1.0) for g in grads]
    return clipped, total


@wrong("rnn.clip_grad_norm", "no 1e-6 in the denominator: scale = max_norm / total_norm",
       r"1e-6|1e-06|10\^-6|epsilon|\beps\b", others(TRANSPOSE, IN_PLACE))
def clip_without_epsilon(grads, max_norm):
    total = _total_norm(grads)
    scale = torch.clamp(max_norm / total, max=1.0)
    return [g * scale for g in grads], total


@wrong("rnn.clip_grad_norm", "total_norm returned as a Python float (.item()), not a 0-dim tensor",
       r"tensor|python float|0-dim|\btype\b", others(TRANSPOSE, IN_PLACE))
def clip_total_norm_as_float(grads, max_norm):
    total = _total_norm(grads)
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    return [g * scale for g in grads], total.item()


@wrong("rnn.clip_grad_norm", "the factor clamped from below (min=1) instead of above: never shrinks, and "
       "scales small gradients up", r"clamp|min\(|max\(|scal(e|es|ing) up|never clip|above 1|factor",
       others(TRANSPOSE, IN_PLACE))
def clip_clamps_from_below(grads, max_norm):
    total = _total_norm(grads)
    scale = torch.clamp(max_norm / (total + 1e-6), min=1.0)
    return [g * scale for g in grads], total


@wrong("rnn.clip_grad_norm", "the total norm summed as Python floats and wrapped in torch.tensor: float32 "
       "whatever the gradients' dtype", r"dtype|float32|float64", others(TRANSPOSE, IN_PLACE))
def clip_total_norm_float32(grads, max_norm):
    total = torch.tensor(math.sqrt(sum(float((g ** 2).sum()) for g in grads)), device=grads[0].device)
    scale = min(1.0, max_norm / (float(total) + 1e-6))
    return [g * scale for g in grads], total


# ============================================================== lstm

def _affine(x, h, W_x, W_h, b_x, b_h):
    return x @ W_x.T + b_x + h @ W_h.T + b_h


@wrong("lstm.forget_gate", "only one bias: b_hf left out", r"b_hf|bias", others(TRANSPOSE, ACTIVATION))
def forget_gate_one_bias(x, h, W_if, W_hf, b_if, b_hf):
    return torch.sigmoid(x @ W_if.T + h @ W_hf.T + b_if)


@wrong("lstm.forget_gate", "tanh instead of sigmoid", r"sigmoid|tanh|activation|nonlinearit",
       others(TRANSPOSE, BIAS))
def forget_gate_tanh(x, h, W_if, W_hf, b_if, b_hf):
    return torch.tanh(_affine(x, h, W_if, W_hf, b_if, b_hf))


@wrong("lstm.forget_gate", "W_hf used without transposing (h @ W_hf)", r"transpos|W_hf",
       others(BIAS, ACTIVATION))
def forget_gate_W_hf_not_transposed(x, h, W_if, W_hf, b_if, b_hf):
    return torch.sigmoid(x @ W_if.T + b_if + h @ W_hf + b_hf)


@wrong("lstm.forget_gate", "squeezed result: a batch of 1 loses its batch axis", r"shape|batch axis|squeeze|batch of 1",
       others(TRANSPOSE, BIAS, ACTIVATION))
def forget_gate_squeezed(x, h, W_if, W_hf, b_if, b_hf):
    return torch.sigmoid(_affine(x, h, W_if, W_hf, b_if, b_hf)).squeeze()


@wrong("lstm.input_gate", "1 - sigmoid(...) (the gate's complement)", r"1 ?-|complement|sign|negat|invert",
       others(TRANSPOSE, BIAS))
def input_gate_complement(x, h, W_ii, W_hi, b_ii, b_hi):
    return 1 - torch.sigmoid(_affine(x, h, W_ii, W_hi, b_ii, b_hi))


@wrong("lstm.input_gate", "the input and recurrent weights swapped (x @ W_hi.T, h @ W_ii.T)",
       r"swap|W_ii|W_hi|exchang|input weight multiplies h|hidden weight multiplies x", others(BIAS, ACTIVATION))
def input_gate_weights_swapped(x, h, W_ii, W_hi, b_ii, b_hi):
    return torch.sigmoid(x @ W_hi.T + b_ii + h @ W_ii.T + b_hi)


@wrong("lstm.input_gate", "detached result: right values, no gradient", GRADIENT,
       others(TRANSPOSE, BIAS, ACTIVATION))
def input_gate_detached(x, h, W_ii, W_hi, b_ii, b_hi):
    return torch.sigmoid(_affine(x, h, W_ii, W_hi, b_ii, b_hi)).detach()


@wrong("lstm.candidate", "sigmoid instead of tanh", r"tanh|sigmoid|activation|nonlinearit",
       others(TRANSPOSE, BIAS))
def candidate_sigmoid(x, h, W_ig, W_hg, b_ig, b_hg):
    return torch.sigmoid(_affine(x, h, W_ig, W_hg, b_ig, b_hg))


@wrong("lstm.candidate", "b_ig added twice, b_hg never", r"b_hg|b_ig|bias", others(TRANSPOSE, ACTIVATION))
def candidate_input_bias_twice(x, h, W_ig, W_hg, b_ig, b_hg):
    return torch.tanh(x @ W_ig.T + b_ig + h @ W_hg.T + b_ig)


@wrong("lstm.candidate", "the recurrent term h W_hg^T is left out", r"\bh\b|W_hg|recurrent|hidden term|"
       r"missing term|h @", others(TRANSPOSE, ACTIVATION))
def candidate_without_recurrent_term(x, h, W_ig, W_hg, b_ig, b_hg):
    return torch.tanh(x @ W_ig.T + b_ig + b_hg)


@wrong("lstm.candidate", "cast to float32 with .float(): float64 inputs get a float32 result",
       r"dtype|float32|float64", others(TRANSPOSE, BIAS, ACTIVATION))
def candidate_float32(x, h, W_ig, W_hg, b_ig, b_hg):
    return torch.tanh(_affine(x, h, W_ig, W_hg, b_ig, b_hg)).float()


@wrong("lstm.cell_update", "f and i multiply the wrong terms: f * g + i * c",
       r"swap|f ?\* ?g|i ?\* ?c|\bc\b.*\bg\b|\bg\b.*\bc\b", others(IN_PLACE, ACTIVATION))
def cell_update_terms_swapped(c, f, i, g):
    return f * g + i * c


@wrong("lstm.cell_update", "updates c in place (c.mul_(f).add_(i * g)) and returns the caller's tensor",
       r"in.?place|changed|modif|same (object|tensor)|\bc\b", others(ACTIVATION, "swap"))
def cell_update_in_place(c, f, i, g):
    return c.mul_(f).add_(i * g)


@wrong("lstm.cell_update", "the input gate left out: f * c + g", r"\bi\b|input gate|missing", others(IN_PLACE,
       ACTIVATION, "swap"))
def cell_update_without_input_gate(c, f, i, g):
    return f * c + g


@wrong("lstm.cell_update", "the GRU's interpolation used by mistake: (1 - f) * c + i * g",
       r"1 ?- ?f|forget|complement", others(IN_PLACE, "swap"))
def cell_update_complement_of_forget(c, f, i, g):
    return (1 - f) * c + i * g


@wrong("lstm.output_gate_and_hidden", "h_next = o * c_next (tanh left out)", r"tanh"
       + "|" + only_wrong("h_next"),
       others(TRANSPOSE, BIAS, "swap|order"))
def output_gate_without_tanh(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid(_affine(x, h, W_io, W_ho, b_io, b_ho))
    return o, o * c_next


@wrong("lstm.output_gate_and_hidden", "returns (h_next, o) instead of (o, h_next)", r"order|swap|revers",
       others(TRANSPOSE, BIAS, ACTIVATION))
def output_gate_pair_swapped(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid(_affine(x, h, W_io, W_ho, b_io, b_ho))
    return o * torch.tanh(c_next), o


@wrong("lstm.output_gate_and_hidden", "tanh applied to the product: h_next = tanh(o * c_next)",
       r"tanh"
       + "|" + only_wrong("h_next"), others(TRANSPOSE, BIAS, "swap|order"))
def output_gate_tanh_of_product(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid(_affine(x, h, W_io, W_ho, b_io, b_ho))
    return o, torch.tanh(o * c_next)


@wrong("lstm.output_gate_and_hidden", "returns only h_next, not the pair (o, h_next)",
       r"tuple|pair|two values|\(o, h_next\)", others(TRANSPOSE, BIAS, ACTIVATION))
def output_gate_returns_only_hidden(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid(_affine(x, h, W_io, W_ho, b_io, b_ho))
    return o * torch.tanh(c_next)


def _lstm_blocks(weight_ih, weight_hh, bias_ih, bias_hh):
    """Per-gate (W_x, W_h, b_x, b_h) in PyTorch's row order i, f, g, o."""
    return list(zip(weight_ih.chunk(4), weight_hh.chunk(4), bias_ih.chunk(4), bias_hh.chunk(4)))


@wrong("lstm.lstm_cell", "gate blocks read in the order i, f, o, g (output gate and candidate swapped)",
       r"order|block|rows|\bg\b|\bo\b|candidate|output gate|swap|permut", others(TRANSPOSE, BIAS, IN_PLACE))
def lstm_cell_order_ifog(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    i_w, f_w, o_w, g_w = _lstm_blocks(weight_ih, weight_hh, bias_ih, bias_hh)
    i, f = torch.sigmoid(_affine(x, h, *i_w)), torch.sigmoid(_affine(x, h, *f_w))
    g, o = torch.tanh(_affine(x, h, *g_w)), torch.sigmoid(_affine(x, h, *o_w))
    c_next = f * c + i * g
    return o * torch.tanh(c_next), c_next


@wrong("lstm.lstm_cell", "gate blocks read in the order f, i, g, o (input and forget gates swapped)",
       r"order|block|rows|forget|input gate|\bf\b|\bi\b|swap|permut", others(TRANSPOSE, BIAS, IN_PLACE))
def lstm_cell_order_figo(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    f_w, i_w, g_w, o_w = _lstm_blocks(weight_ih, weight_hh, bias_ih, bias_hh)
    i, f = torch.sigmoid(_affine(x, h, *i_w)), torch.sigmoid(_affine(x, h, *f_w))
    g, o = torch.tanh(_affine(x, h, *g_w)), torch.sigmoid(_affine(x, h, *o_w))
    c_next = f * c + i * g
    return o * torch.tanh(c_next), c_next


@wrong("lstm.lstm_cell", "h_next = o * tanh(c) with the old cell state instead of the updated one",
       r"old cell|previous cell|updated cell|not the updated|tanh\(c\)"
       + "|" + only_wrong("h_next"), others(TRANSPOSE, BIAS,
                                                                                          GATE_ORDER))
def lstm_cell_hidden_from_old_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    i_w, f_w, g_w, o_w = _lstm_blocks(weight_ih, weight_hh, bias_ih, bias_hh)
    i, f = torch.sigmoid(_affine(x, h, *i_w)), torch.sigmoid(_affine(x, h, *f_w))
    g, o = torch.tanh(_affine(x, h, *g_w)), torch.sigmoid(_affine(x, h, *o_w))
    c_next = f * c + i * g
    return o * torch.tanh(c), c_next


@wrong("lstm.lstm_cell", "bias_hh left out (only bias_ih added)", r"bias_hh|b_h|bias|both biases",
       others(TRANSPOSE, ACTIVATION, GATE_ORDER))
def lstm_cell_one_bias(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T
    i, f, g, o = pre.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


@wrong("lstm.lstm_cell", "returns (c_next, h_next) instead of (h_next, c_next)", r"order|swap|revers",
       others(TRANSPOSE, BIAS, ACTIVATION))
def lstm_cell_returns_cell_first(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h_next, c_next = right.lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    return c_next, h_next


@wrong("lstm.lstm_cell", "gates taken from interleaved rows (reshape(hidden, 4, -1)[:, k]) instead of "
       "contiguous blocks of rows", r"interleav|contiguous|block|rows|reshape|split|chunk",
       others(TRANSPOSE, BIAS, ACTIVATION))
def lstm_cell_interleaved_rows(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    hidden = h.shape[1]
    w_x = weight_ih.reshape(hidden, 4, -1)
    w_h = weight_hh.reshape(hidden, 4, -1)
    b_x, b_h = bias_ih.reshape(hidden, 4), bias_hh.reshape(hidden, 4)
    i, f, g, o = (_affine(x, h, w_x[:, k], w_h[:, k], b_x[:, k], b_h[:, k]) for k in range(4))
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


@wrong("lstm.lstm_cell", "computed under torch.no_grad(): right values, no gradient", GRADIENT,
       others(TRANSPOSE, BIAS, GATE_ORDER))
def lstm_cell_under_no_grad(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    with torch.no_grad():
        return right.lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh)


@wrong("lstm.lstm_cell", "both results squeezed: a batch of 1 loses its batch axis",
       r"shape|batch axis|squeeze|batch of 1",
       others(TRANSPOSE, BIAS, GATE_ORDER))
def lstm_cell_squeezed(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h_next, c_next = right.lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    return h_next.squeeze(), c_next.squeeze()


@wrong("lstm.lstm_cell", "a forget-gate bias of +1 added by habit (Keras' unit_forget_bias)",
       r"forget|\bf\b|\+ ?1|constant|offset", others(TRANSPOSE, GATE_ORDER))
def lstm_cell_forget_bias_plus_one(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    i_w, f_w, g_w, o_w = _lstm_blocks(weight_ih, weight_hh, bias_ih, bias_hh)
    i, f = torch.sigmoid(_affine(x, h, *i_w)), torch.sigmoid(_affine(x, h, *f_w) + 1.0)
    g, o = torch.tanh(_affine(x, h, *g_w)), torch.sigmoid(_affine(x, h, *o_w))
    c_next = f * c + i * g
    return o * torch.tanh(c_next), c_next


@wrong("lstm.lstm_cell", "the state unpacked as (c, h) instead of (h, c)", r"\(h, ?c\)|\(c, ?h\)|unpack|swap|order",
       others(TRANSPOSE, BIAS))
def lstm_cell_state_unpacked_backwards(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    c, h = state
    return right.lstm_cell(x, (h, c), weight_ih, weight_hh, bias_ih, bias_hh)


def _lstm_layer(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    outputs = []
    for x_t in x:
        state = right.lstm_cell(x_t, state, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(state[0])
    return torch.stack(outputs), state


@wrong("lstm.lstm_forward", "output stacks the cell states c_t instead of the hidden states h_t",
       r"cell state|\bc_?t\b|\bc\b|c_t instead|hidden state"
       + "|" + only_wrong("output"), others(TRANSPOSE, BIAS, GATE_ORDER))
def lstm_forward_outputs_cell_states(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    state, outputs = state0, []
    for x_t in x:
        state = right.lstm_cell(x_t, state, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(state[1])
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), state


@wrong("lstm.lstm_forward", "the final state returned as a list [h_n, c_n], where the text asks for the "
       "tuple (h_n, c_n)", r"tuple|list|container|\btype\b", others(TRANSPOSE, BIAS))
def lstm_forward_state_as_list(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    output, (h, c) = _lstm_layer(x, state0, weight_ih, weight_hh, bias_ih, bias_hh)
    return (output.transpose(0, 1) if batch_first else output), [h, c]


@wrong("lstm.lstm_forward", "guesses the layout (x.shape[0] == batch means batch first) instead of reading "
       "batch_first: wrong when steps == batch", r"batch_first|layout|guess|steps ?== ?batch",
       others(BIAS, GATE_ORDER, IN_PLACE))
def lstm_forward_guesses_layout(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    looks_batch_first = x.shape[0] == state0[0].shape[0]
    if looks_batch_first:
        x = x.transpose(0, 1)
    output, state = _lstm_layer(x, state0, weight_ih, weight_hh, bias_ih, bias_hh)
    return (output.transpose(0, 1) if looks_batch_first else output), state


@wrong("lstm.lstm_forward", "the state is not carried: every step starts from state0",
       r"carr|previous|state0|h0|t ?= ?1\b|step 1\b|second step|from step 1|recurren", others(TRANSPOSE, BIAS))
def lstm_forward_state_not_carried(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    states = [right.lstm_cell(x_t, state0, weight_ih, weight_hh, bias_ih, bias_hh) for x_t in x]
    output = torch.stack([h for h, _ in states])
    return (output.transpose(0, 1) if batch_first else output), states[-1]


@wrong("lstm.lstm_forward", "the loop starts at t = 1: the first step is skipped",
       r"shape|first step|step 0|t ?= ?0\b|skip|one step", others(TRANSPOSE, BIAS, GATE_ORDER))
def lstm_forward_skips_first_step(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    state, outputs = state0, []
    for t in range(1, x.shape[0]):
        state = right.lstm_cell(x[t], state, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(state[0])
    output = torch.stack(outputs) if outputs else x.new_zeros(0, x.shape[1], state0[0].shape[1])
    return (output.transpose(0, 1) if batch_first else output), tuple(state)


@wrong("lstm.lstm_forward", "with batch_first the output is left time first (not transposed back)",
       r"batch_first|transpos|layout|shape|\(batch, time", others(BIAS, GATE_ORDER, IN_PLACE))
def lstm_forward_output_not_transposed_back(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    output, state = _lstm_layer(x, state0, weight_ih, weight_hh, bias_ih, bias_hh)
    return output, tuple(state)


@wrong("lstm.lstm_forward", "c_n is the initial c0 (only h is taken from the loop)",
       r"final cell|last cell|c0|state0\[1\]|initial|not updated"
       + "|" + only_wrong("c_n"), others(TRANSPOSE, BIAS, GATE_ORDER))
def lstm_forward_returns_initial_cell(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    output, (h, _) = _lstm_layer(x, state0, weight_ih, weight_hh, bias_ih, bias_hh)
    return (output.transpose(0, 1) if batch_first else output), (h, state0[1])


@wrong("lstm.lstm_forward", "output squeezed after stacking: one step or a batch of 1 loses an axis",
       r"shape|squeeze|batch axis|batch of 1|one step|single step", others(TRANSPOSE, BIAS, GATE_ORDER))
def lstm_forward_squeezes_output(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    output, state = _lstm_layer(x, state0, weight_ih, weight_hh, bias_ih, bias_hh)
    output = output.squeeze()
    return (output.transpose(0, 1) if batch_first else output), tuple(state)


@wrong("lstm.lstm_forward", "each step's state detached (truncated backpropagation by habit): gradients "
       "stop at every step", GRADIENT, others(TRANSPOSE, BIAS, GATE_ORDER))
def lstm_forward_detaches_states(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    state, outputs = state0, []
    for x_t in x:
        h, c = right.lstm_cell(x_t, state, weight_ih, weight_hh, bias_ih, bias_hh)
        state = (h.detach(), c.detach())
        outputs.append(state[0])
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), state


@wrong("lstm.lstm_param_count", "only one bias per gate: 4 (H I + H H + H)", r"bias|two biases|both",
       others("tensor|float"))
def lstm_param_count_one_bias(input_size, hidden_size):
    return 4 * (hidden_size * input_size + hidden_size * hidden_size + hidden_size)


@wrong("lstm.lstm_param_count", "returns a 0-dim tensor instead of a Python int", r"\bint\b|tensor|\btype\b",
       others(BIAS, "gate|block"))
def lstm_param_count_tensor(input_size, hidden_size):
    sizes = torch.tensor([input_size, hidden_size])
    return 4 * (hidden_size * sizes.sum() + 2 * hidden_size)


@wrong("lstm.lstm_param_count", "the factor 4 for the four gates is left out", r"\b4\b|four|gates?|blocks?",
       others(BIAS, "tensor|float"))
def lstm_param_count_one_gate(input_size, hidden_size):
    return hidden_size * input_size + hidden_size * hidden_size + 2 * hidden_size


@wrong("lstm.lstm_param_count", "a float (2.0 * biases): right number, wrong type", r"\bint\b|float|\btype\b",
       others(BIAS, "gate|block"))
def lstm_param_count_float(input_size, hidden_size):
    return 4 * hidden_size * (input_size + hidden_size + 2.0)


@wrong("lstm.lstm_param_count", "weight_hh counted as hidden x input: right only when input == hidden",
       r"weight_hh|hidden.?(x|\*|by).?hidden|recurrent|H ?\* ?H|H\^2", others(BIAS, "tensor|float"))
def lstm_param_count_square_assumption(input_size, hidden_size):
    return 4 * (2 * hidden_size * input_size + 2 * hidden_size)


# ============================================================== gru

@wrong("gru.reset_gate", "tanh instead of sigmoid", r"sigmoid|tanh|activation|nonlinearit",
       others(TRANSPOSE, BIAS))
def reset_gate_tanh(x, h, W_ir, W_hr, b_ir, b_hr):
    return torch.tanh(_affine(x, h, W_ir, W_hr, b_ir, b_hr))


@wrong("gru.reset_gate", "only one bias: b_hr left out", r"b_hr|bias", others(TRANSPOSE, ACTIVATION))
def reset_gate_one_bias(x, h, W_ir, W_hr, b_ir, b_hr):
    return torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T)


@wrong("gru.reset_gate", "W_hr used without transposing (h @ W_hr)", r"transpos|W_hr",
       others(BIAS, ACTIVATION))
def reset_gate_W_hr_not_transposed(x, h, W_ir, W_hr, b_ir, b_hr):
    return torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr + b_hr)


@wrong("gru.reset_gate", "squeezed result: a batch of 1 loses its batch axis", r"shape|batch axis|squeeze|batch of 1",
       others(TRANSPOSE, BIAS, ACTIVATION))
def reset_gate_squeezed(x, h, W_ir, W_hr, b_ir, b_hr):
    return torch.sigmoid(_affine(x, h, W_ir, W_hr, b_ir, b_hr)).squeeze(0)


@wrong("gru.update_gate", "1 - sigmoid(...): z confused with 1 - z", r"1 ?-|complement|sign|negat|invert",
       others(TRANSPOSE, BIAS))
def update_gate_complement(x, h, W_iz, W_hz, b_iz, b_hz):
    return 1 - torch.sigmoid(_affine(x, h, W_iz, W_hz, b_iz, b_hz))


@wrong("gru.update_gate", "the sigmoid is left out: returns the pre-activation",
       r"sigmoid|activation|nonlinearit|squash", others(TRANSPOSE, BIAS))
def update_gate_without_sigmoid(x, h, W_iz, W_hz, b_iz, b_hz):
    return _affine(x, h, W_iz, W_hz, b_iz, b_hz)


@wrong("gru.update_gate", "the sigmoid computed in numpy: right values, no gradient, CPU only",
       r"numpy|gradient|differentiab|detach|autograd", others(TRANSPOSE, BIAS, ACTIVATION))
def update_gate_numpy_sigmoid(x, h, W_iz, W_hz, b_iz, b_hz):
    pre = _affine(x, h, W_iz, W_hz, b_iz, b_hz).detach().cpu().numpy()
    return torch.from_numpy(1.0 / (1.0 + np.exp(-pre))).to(x.device)


@wrong("gru.update_gate", "the two biases folded with b_iz.add_(b_hz): the caller's b_iz changes",
       r"in.?place|b_iz|changed|modif", others(TRANSPOSE, ACTIVATION))
def update_gate_folds_biases_in_place(x, h, W_iz, W_hz, b_iz, b_hz):
    bias = b_iz.add_(b_hz)
    return torch.sigmoid(x @ W_iz.T + h @ W_hz.T + bias)


@wrong("gru.gru_candidate", "the reset applied before the product, to h (Cho et al. v3 / d2l): "
       "(r * h) W_hn^T + b_hn", r"reset|before|after|\br\b|product|d2l|cho",
       others(TRANSPOSE, ACTIVATION, IN_PLACE))
def gru_candidate_reset_before_product(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)


@wrong("gru.gru_candidate", "b_hn added outside the reset: r * (h W_hn^T) + b_hn", r"b_hn|bias|reset|\br\b",
       others(TRANSPOSE, ACTIVATION, IN_PLACE))
def gru_candidate_bias_outside_reset(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T) + b_hn)


@wrong("gru.gru_candidate", "the reset multiplies the input term instead of the recurrent one",
       r"reset|\br\b|input term|x term|W_in|recurrent term", others(TRANSPOSE, ACTIVATION, IN_PLACE))
def gru_candidate_reset_on_input_term(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.tanh(r * (x @ W_in.T + b_in) + h @ W_hn.T + b_hn)


@wrong("gru.gru_candidate", "sigmoid instead of tanh", r"tanh|sigmoid|activation|nonlinearit",
       others(TRANSPOSE, BIAS, "reset"))
def gru_candidate_sigmoid(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.sigmoid(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))


@wrong("gru.gru_hidden_update", "z and 1 - z swapped: (1 - z) * h + z * n", r"\bz\b|1 ?- ?z|swap|update gate|"
       r"interpolat", others(IN_PLACE, ACTIVATION))
def gru_hidden_update_swapped(h, z, n):
    return (1 - z) * h + z * n


@wrong("gru.gru_hidden_update", "h updated in place (h.mul_(z).add_(...)) and returned",
       r"in.?place|changed|modif|same (object|tensor)|\bh\b", others(ACTIVATION, "swap"))
def gru_hidden_update_in_place(h, z, n):
    return h.mul_(z).add_((1 - z) * n)


@wrong("gru.gru_hidden_update", "z left out of the old-state term: (1 - z) * n + h", r"\bz\b|z ?\* ?h|missing|"
       r"old state", others(IN_PLACE, "swap"))
def gru_hidden_update_without_z_on_h(h, z, n):
    return (1 - z) * n + h


@wrong("gru.gru_hidden_update", "1 - z built from torch.ones(z.shape) on the CPU: CUDA inputs fail",
       r"device|cpu|cuda", others(IN_PLACE, "swap"), needs_cuda=True)
def gru_hidden_update_ones_on_cpu(h, z, n):
    return (torch.ones(z.shape, dtype=z.dtype) - z) * n + z * h


def _gru_blocks(weight_ih, weight_hh, bias_ih, bias_hh):
    """Per-gate (W_x, W_h, b_x, b_h) in PyTorch's row order r, z, n."""
    return list(zip(weight_ih.chunk(3), weight_hh.chunk(3), bias_ih.chunk(3), bias_hh.chunk(3)))


def _gru_from_blocks(x, h, r_w, z_w, n_w):
    r = torch.sigmoid(_affine(x, h, *r_w))
    z = torch.sigmoid(_affine(x, h, *z_w))
    W_in, W_hn, b_in, b_hn = n_w
    n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    return (1 - z) * n + z * h


@wrong("gru.gru_cell", "gate blocks read in the order z, r, n (reset and update swapped)",
       r"order|block|rows|reset|update|\br\b|\bz\b|swap|permut", others(TRANSPOSE, BIAS, IN_PLACE))
def gru_cell_order_zrn(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    z_w, r_w, n_w = _gru_blocks(weight_ih, weight_hh, bias_ih, bias_hh)
    return _gru_from_blocks(x, h, r_w, z_w, n_w)


@wrong("gru.gru_cell", "the reset applied to h before the product (d2l's GRU)", r"reset|before|after|\br\b|"
       r"product|d2l|cho", others(TRANSPOSE, GATE_ORDER, IN_PLACE))
def gru_cell_reset_before_product(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    r_w, z_w, (W_in, W_hn, b_in, b_hn) = _gru_blocks(weight_ih, weight_hh, bias_ih, bias_hh)
    r = torch.sigmoid(_affine(x, h, *r_w))
    z = torch.sigmoid(_affine(x, h, *z_w))
    n = torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
    return (1 - z) * n + z * h


@wrong("gru.gru_cell", "the interpolation reversed: z * n + (1 - z) * h", r"\bz\b|1 ?- ?z|update|swap|"
       r"interpolat", others(TRANSPOSE, GATE_ORDER, IN_PLACE))
def gru_cell_interpolation_reversed(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    r_w, z_w, (W_in, W_hn, b_in, b_hn) = _gru_blocks(weight_ih, weight_hh, bias_ih, bias_hh)
    r = torch.sigmoid(_affine(x, h, *r_w))
    z = torch.sigmoid(_affine(x, h, *z_w))
    n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    return z * n + (1 - z) * h


@wrong("gru.gru_cell", "bias_hh ignored (only bias_ih added in every gate)", r"bias_hh|b_h|bias|both biases",
       others(TRANSPOSE, GATE_ORDER))
def gru_cell_one_bias(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    return _gru_from_blocks(x, h, *_gru_blocks(weight_ih, weight_hh, bias_ih, torch.zeros_like(bias_hh)))


@wrong("gru.gru_cell", "computed under torch.no_grad(): right values, no gradient", GRADIENT,
       others(TRANSPOSE, BIAS, GATE_ORDER))
def gru_cell_under_no_grad(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    with torch.no_grad():
        return _gru_from_blocks(x, h, *_gru_blocks(weight_ih, weight_hh, bias_ih, bias_hh))


@wrong("gru.gru_cell", "squeezed result: a batch of 1 loses its batch axis", r"shape|batch axis|squeeze|batch of 1",
       others(TRANSPOSE, BIAS, GATE_ORDER))
def gru_cell_squeezed(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    return _gru_from_blocks(x, h, *_gru_blocks(weight_ih, weight_hh, bias_ih, bias_hh)).squeeze()


@wrong("gru.gru_cell", "b_hn added outside the reset in the candidate: r * (h W_hn^T) + b_hn",
       r"b_hn|bias|reset|\br\b|candidate|\bn\b", others(TRANSPOSE, GATE_ORDER))
def gru_cell_candidate_bias_outside_reset(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    r_w, z_w, (W_in, W_hn, b_in, b_hn) = _gru_blocks(weight_ih, weight_hh, bias_ih, bias_hh)
    r = torch.sigmoid(_affine(x, h, *r_w))
    z = torch.sigmoid(_affine(x, h, *z_w))
    n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T) + b_hn)
    return (1 - z) * n + z * h


def _gru_layer(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    outputs = []
    for x_t in x:
        h = right.gru_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    return torch.stack(outputs), h


@wrong("gru.gru_forward", "h_n read as output[-1] after the output is transposed back: with batch_first "
       "that is the last batch row, not the last step", r"batch_first|last (step|state)|final|shape"
       + "|" + only_wrong("h_n"),
       others(BIAS, GATE_ORDER, IN_PLACE))
def gru_forward_h_n_from_output(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    output, _ = _gru_layer(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    if batch_first:
        output = output.transpose(0, 1)
    return output, output[-1]


@wrong("gru.gru_forward", "the sequence is run from the last step to the first",
       r"revers|flip|backward|order|last to first", others(TRANSPOSE, BIAS, GATE_ORDER))
def gru_forward_reversed(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    output, h = _gru_layer(x.flip(0), h0, weight_ih, weight_hh, bias_ih, bias_hh)
    return (output.transpose(0, 1) if batch_first else output), h


@wrong("gru.gru_forward", "guesses the layout (batch first when x.shape[0] == batch) instead of reading "
       "batch_first: wrong when steps == batch", r"batch_first|layout|guess|steps ?== ?batch",
       others(BIAS, GATE_ORDER, IN_PLACE))
def gru_forward_guesses_layout(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    looks_batch_first = x.shape[0] == h0.shape[0]
    if looks_batch_first:
        x = x.transpose(0, 1)
    output, h = _gru_layer(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    return (output.transpose(0, 1) if looks_batch_first else output), h


@wrong("gru.gru_forward", "the state is not carried: every step starts from h0",
       r"carr|previous|h0|t ?= ?1\b|step 1\b|second step|from step 1|recurren", others(TRANSPOSE, BIAS))
def gru_forward_state_not_carried(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    outputs = [right.gru_cell(x_t, h0, weight_ih, weight_hh, bias_ih, bias_hh) for x_t in x]
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), outputs[-1]


@wrong("gru.gru_forward", "output preallocated with torch.zeros(T, batch, hidden): float32 whatever the "
       "input dtype", r"dtype|float32|float64", others(TRANSPOSE, TIME_SHIFT))
def gru_forward_float32_buffer(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    output = torch.zeros(x.shape[0], x.shape[1], h0.shape[1], device=x.device)
    h = h0
    for t in range(x.shape[0]):
        h = right.gru_cell(x[t], h, weight_ih, weight_hh, bias_ih, bias_hh)
        output[t] = h
    return (output.transpose(0, 1) if batch_first else output), h


@wrong("gru.gru_forward", "each state detached before the next step: gradients stop at every step",
       GRADIENT, others(TRANSPOSE, BIAS, GATE_ORDER))
def gru_forward_detaches_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        h = right.gru_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh).detach()
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@wrong("gru.gru_forward", "output stacks the state before each step (h0 .. h_{T-1})",
       r"shift|off.by.one|h0|initial state|one step (early|late)|before (each|the) step"
       + "|" + only_wrong("output"),
       others(TRANSPOSE, BIAS, GATE_ORDER))
def gru_forward_output_shifted(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        outputs.append(h)
        h = right.gru_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@wrong("gru.parameter_counts", "the GRU counted with four blocks like the LSTM", r"three|block|gates?",
       others(BIAS, "tensor|float|key"))
def counts_gru_with_four_blocks(input_size, hidden_size):
    per_block = hidden_size * (input_size + hidden_size) + 2 * hidden_size
    return {"rnn": per_block, "gru": 4 * per_block, "lstm": 4 * per_block}


@wrong("gru.parameter_counts", "the counts are 0-dim tensors, not Python ints", r"\bint\b|tensor|\btype\b",
       others(BIAS, "block|gate|key"))
def counts_as_tensors(input_size, hidden_size):
    per_block = torch.tensor(hidden_size * (input_size + hidden_size) + 2 * hidden_size)
    return {"rnn": per_block, "gru": 3 * per_block, "lstm": 4 * per_block}


@wrong("gru.parameter_counts", "the keys are 'RNN', 'GRU', 'LSTM' instead of 'rnn', 'gru', 'lstm'",
       r"key|upper|lower.?case|capital", others(BIAS, "block|gate|tensor|float"))
def counts_upper_case_keys(input_size, hidden_size):
    per_block = hidden_size * (input_size + hidden_size) + 2 * hidden_size
    return {"RNN": per_block, "GRU": 3 * per_block, "LSTM": 4 * per_block}


@wrong("gru.parameter_counts", "the plain RNN counted with one bias", r"bias", others("block|gate|tensor|float"))
def counts_rnn_one_bias(input_size, hidden_size):
    per_block = hidden_size * (input_size + hidden_size) + 2 * hidden_size
    return {"rnn": per_block - hidden_size, "gru": 3 * per_block, "lstm": 4 * per_block}


@wrong("gru.parameter_counts", "the LSTM count derived as gru / 3 * 4: a float", r"\bint\b|float|\btype\b",
       others(BIAS, "block|gate|key"))
def counts_lstm_as_float(input_size, hidden_size):
    per_block = hidden_size * (input_size + hidden_size) + 2 * hidden_size
    gru = 3 * per_block
    return {"rnn": per_block, "gru": gru, "lstm": gru / 3 * 4}


# ============================================================== less common mistakes, all notebooks
# Kinds a catalogue is less likely to hold: a constant factor, a function applied twice, a term added or
# left out, an index one step off, a reshape instead of a transpose, a state reset, a smoothing habit.

@wrong("sequence_models.ar_design_matrix", "unfold's step taken as tau: non-overlapping windows (x.unfold(0, "
       "tau, tau)), too few rows unless tau == 1", r"shape|overlap|stride|too few rows",
       others(TRANSPOSE, DTYPE, IN_PLACE))
def ar_design_non_overlapping_windows(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau out of range")
    return x.unfold(0, tau, tau)[:-1], x[tau:]


@wrong("sequence_models.fit_ar", "a small ridge term added to the normal equations 'for stability'",
       r"regulari[sz]|ridge|penalt|normal equations|least.squares", others(TRANSPOSE, DTYPE, IN_PLACE))
def fit_ar_with_ridge(x, tau):
    X, y = right.ar_design_matrix(x, tau)
    design = torch.cat([X, torch.ones(len(y), 1, dtype=x.dtype, device=x.device)], dim=1)
    gram = design.T @ design + 1e-3 * torch.eye(tau + 1, dtype=x.dtype, device=x.device)
    solution = torch.linalg.solve(gram, design.T @ y)
    return solution[:-1], solution[-1]


@wrong("sequence_models.predict_ahead", "the window is never moved: every prediction comes from the last tau "
       "values of history", r"feed|fed back|not (updated|moved|shifted)|same window|constant|repeat",
       others(TRANSPOSE, DTYPE, IN_PLACE))
def predict_window_never_moves(history, w, b, k):
    window = history[-len(w):]
    return torch.stack([window @ w + b for _ in range(k)])


@wrong("sequence_models.transition_matrix", "add-one (Laplace) smoothing of the counts",
       r"smooth|laplace|add.one|pseudo.?count|\+ ?1", others(TRANSPOSE, DTYPE))
def transition_add_one_smoothing(states, n_states):
    counts = torch.ones(n_states, n_states, dtype=torch.float64, device=states.device)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    return counts / counts.sum(dim=1, keepdim=True)


@wrong("sequence_models.transition_matrix", "the number of states taken from the data (states.max() + 1) "
       "instead of n_states: too small when the highest states never occur",
       r"shape|n_states|never (occur|appear)|max", others(TRANSPOSE, DTYPE))
def transition_size_from_data(states, n_states):
    n = int(states.max()) + 1
    counts = torch.zeros(n, n, dtype=torch.float64, device=states.device)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[a, b] += 1
    totals = counts.sum(dim=1, keepdim=True)
    return torch.where(totals > 0, counts / totals.clamp(min=1), torch.full_like(counts, 1.0 / n))


@wrong("sequence_models.markov_log_likelihood", "log2 instead of the natural log", r"log2|base|natural|\bln\b|"
       r"factor|scal", others(TRANSPOSE, "underflow"))
def markov_log_base_two(states, P, p0):
    return torch.log2(p0[states[0]]) + torch.log2(P[states[:-1], states[1:]]).sum()


@wrong("sequence_models.markov_log_likelihood", "the last transition is left out (P[states[:-2], states[1:-1]])",
       r"last (transition|step|pair)|off.by.one|misses", others(TRANSPOSE, "underflow"))
def markov_misses_last_transition(states, P, p0):
    return torch.log(p0[states[0]]) + torch.log(P[states[:-2], states[1:-1]]).sum()


@wrong("sequence_models.markov_log_likelihood", "the transition terms stacked from a Python list: a sequence of "
       "one state (no transition) crashes", r"one state|length 1|single|empty|no transition",
       others(TRANSPOSE, "underflow"))
def markov_stacks_pairs(states, P, p0):
    terms = [torch.log(P[a, b]) for a, b in zip(states[:-1], states[1:])]
    return torch.log(p0[states[0]]) + torch.stack(terms).sum()


@wrong("sequence_models.latent_update", "h added back (a residual): h + h A^T + x B^T",
       r"extra|residual|identity|\+ ?h\b|added h|old state", others(TRANSPOSE, BIAS))
def latent_update_residual(h, x, A, B):
    return h + h @ A.T + x @ B.T


@wrong("sequence_models.latent_update", "a tanh from the next chapter: tanh(h A^T + x B^T)",
       r"tanh|nonlinear|activation|linear", others(TRANSPOSE, BIAS))
def latent_update_with_tanh(h, x, A, B):
    return torch.tanh(h @ A.T + x @ B.T)


@wrong("rnn.rnn_cell", "leaky_relu for 'relu'", r"relu|leaky|negative", others(TRANSPOSE, BIAS))
def rnn_cell_leaky_relu(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = _rnn_pre_activation(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    if nonlinearity == "tanh":
        return torch.tanh(pre)
    if nonlinearity == "relu":
        return torch.nn.functional.leaky_relu(pre)
    raise ValueError(nonlinearity)


@wrong("rnn.rnn_forward", "step t reads x[t - 1]: the inputs are rotated by one step",
       r"rotat|shift|x\[-1\]|x\[t ?- ?1\]|last input|off.by.one|one step (early|late)", others(TRANSPOSE, BIAS))
def rnn_forward_input_index_off_by_one(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    step = _rnn_step(weight_ih, weight_hh, bias_ih, bias_hh)
    h, outputs = h0, []
    for t in range(x.shape[0]):
        h = step(x[t - 1], h)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@wrong("rnn.rnn_forward", "batch_first handled with reshape instead of transpose: the entries are scrambled",
       r"reshape|view|transpos|scrambl|order of (the )?(elements|entries)", others(BIAS, ACTIVATION))
def rnn_forward_reshape_instead_of_transpose(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.reshape(x.shape[1], x.shape[0], x.shape[2])
    output, h = _unroll(_rnn_step(weight_ih, weight_hh, bias_ih, bias_hh), x, h0)
    if batch_first:
        output = output.reshape(output.shape[1], output.shape[0], output.shape[2])
    return output, h


@wrong("rnn.rnn_bptt", "grad_h0 is one step short: the last delta is returned without the product with W_hh",
       r"grad_h0 (misses|lacks)|times W_hh|@ ?weight_hh|last (multiplication|product)|one step short|delta|"
       r"pre-?activation"
       + "|" + only_wrong("grad_h0"), others(TRANSPOSE, BIAS))
def bptt_grad_h0_one_step_short(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = _rnn_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_w_ih, grad_w_hh, grad_b = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(bias_ih)
    grad_h, delta = grad_h_T, grad_h_T
    for t in range(len(x), 0, -1):
        delta = grad_h * (1 - states[t] ** 2)
        grad_w_ih = grad_w_ih + delta.T @ x[t - 1]
        grad_w_hh = grad_w_hh + delta.T @ states[t - 1]
        grad_b = grad_b + delta.sum(dim=0)
        grad_h = delta @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), delta


@wrong("rnn.hidden_gradient_norms", "the tanh derivative left out: products of W_hh alone",
       r"derivative|1 ?- ?h|diag|tanh'|saturat", others(TRANSPOSE, BIAS))
def norms_without_tanh_derivative(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian)]
    for _ in range(len(x)):
        jacobian = jacobian @ weight_hh
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


@wrong("rnn.clip_grad_norm", "always rescales to max_norm, also when the norm is already below it (no min with 1)",
       r"min\(|never (scale|grow)|scal(e|es|ing) up|above 1|clamp|only when|not needed|below max_norm",
       others(TRANSPOSE, IN_PLACE))
def clip_always_rescales(grads, max_norm):
    total = _total_norm(grads)
    return [g * (max_norm / (total + 1e-6)) for g in grads], total


@wrong("rnn.clip_grad_norm", "the L1 norm (sum of absolute values) instead of the 2-norm",
       r"L1|abs|2-norm|square|euclid", others(TRANSPOSE, IN_PLACE))
def clip_with_l1_norm(grads, max_norm):
    total = sum(g.abs().sum() for g in grads)
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    return [g * scale for g in grads], total


@wrong("rnn.clip_grad_norm", "total_norm is the norm after clipping, not before",
       r"before clipping|after clipping|original|clipped norm"
       + "|" + only_wrong("total_norm"), others(TRANSPOSE, IN_PLACE))
def clip_returns_norm_after_clipping(grads, max_norm):
    scale = torch.clamp(max_norm / (_total_norm(grads) + 1e-6), max=1.0)
    clipped = [g * scale for g in grads]
    return clipped, _total_norm(clipped)


@wrong("lstm.forget_gate", "the biases added after the sigmoid (misplaced parenthesis)",
       r"bias.*(outside|inside|after|before)|outside the sigmoid|inside|parenthes", others(TRANSPOSE))
def forget_gate_biases_outside_sigmoid(x, h, W_if, W_hf, b_if, b_hf):
    return torch.sigmoid(x @ W_if.T + h @ W_hf.T) + b_if + b_hf


@wrong("lstm.input_gate", "sigmoid applied twice (once in a helper, once again)",
       r"twice|double|sigmoid\(sigmoid|applied again", others(TRANSPOSE, BIAS))
def input_gate_sigmoid_twice(x, h, W_ii, W_hi, b_ii, b_hi):
    return torch.sigmoid(torch.sigmoid(_affine(x, h, W_ii, W_hi, b_ii, b_hi)))


@wrong("lstm.candidate", "relu instead of tanh", r"tanh|relu|activation|nonlinearit", others(TRANSPOSE, BIAS))
def candidate_relu(x, h, W_ig, W_hg, b_ig, b_hg):
    return torch.relu(_affine(x, h, W_ig, W_hg, b_ig, b_hg))


@wrong("lstm.cell_update", "the new cell squashed by tanh: tanh(f * c + i * g)", r"tanh|squash|activation|"
       r"nonlinear", others(IN_PLACE, "swap"))
def cell_update_with_tanh(c, f, i, g):
    return torch.tanh(f * c + i * g)


@wrong("lstm.output_gate_and_hidden", "h_next = o * sigmoid(c_next)", r"tanh|sigmoid"
       + "|" + only_wrong("h_next"),
       others(TRANSPOSE, BIAS, "swap|order"))
def output_gate_sigmoid_of_cell(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid(_affine(x, h, W_io, W_ho, b_io, b_ho))
    return o, o * torch.sigmoid(c_next)


@wrong("lstm.lstm_cell", "the stacked pre-activation split along the batch axis (chunk(4, dim=0))",
       r"chunk|dim(ension)?|split|axis|batch rows", others(TRANSPOSE, BIAS))
def lstm_cell_chunks_batch_axis(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    i, f, g, o = pre.chunk(4, dim=0)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


@wrong("lstm.lstm_cell", "one sigmoid over all four blocks: the candidate g gets a sigmoid instead of tanh",
       r"tanh|candidate|\bg\b|sigmoid", others(TRANSPOSE, BIAS, GATE_ORDER))
def lstm_cell_all_sigmoid(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    i, f, g, o = torch.sigmoid(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
    c_next = f * c + i * g
    return o * torch.tanh(c_next), c_next


@wrong("lstm.lstm_forward", "only h is carried: the cell state restarts from c0 at every step",
       r"cell state|\bc\b|c0|carr|t ?= ?1\b|step 1\b", others(TRANSPOSE, BIAS, GATE_ORDER))
def lstm_forward_cell_not_carried(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, c, outputs = state0[0], state0[1], []
    for x_t in x:
        h, c = right.lstm_cell(x_t, (h, state0[1]), weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), (h, c)


@wrong("lstm.lstm_forward", "state0 ignored: starts from zeros, as nn.LSTM does without a state",
       r"state0|h0|c0|initial|zeros|step 0|t ?= ?0\b|first step", others(TRANSPOSE, BIAS, GATE_ORDER))
def lstm_forward_ignores_state0(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    zeros = torch.zeros_like(state0[0])
    output, state = _lstm_layer(x, (zeros, zeros), weight_ih, weight_hh, bias_ih, bias_hh)
    return (output.transpose(0, 1) if batch_first else output), tuple(state)


@wrong("lstm.lstm_param_count", "the biases counted once for the layer, not per gate: 4 (H I + H H) + 2 H",
       r"bias.*(4|four|gate|block)|per gate|each gate", others("tensor|float"))
def lstm_param_count_biases_once(input_size, hidden_size):
    return 4 * (input_size * hidden_size + hidden_size * hidden_size) + 2 * hidden_size


@wrong("gru.gru_candidate", "1 - r instead of r on the recurrent term", r"1 ?- ?r|reset|complement|\br\b",
       others(TRANSPOSE, ACTIVATION, IN_PLACE))
def gru_candidate_one_minus_reset(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.tanh(x @ W_in.T + b_in + (1 - r) * (h @ W_hn.T + b_hn))


@wrong("gru.gru_cell", "a typo in the unpacking: the update gate reuses the reset gate's block",
       r"update|\bz\b|block|rows", others(TRANSPOSE, BIAS, IN_PLACE))
def gru_cell_update_uses_reset_block(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    blocks = _gru_blocks(weight_ih, weight_hh, bias_ih, bias_hh)
    return _gru_from_blocks(x, h, blocks[0], blocks[0], blocks[2])


@wrong("gru.gru_cell", "the reset gate never used: n = tanh(x W_in^T + b_in + h W_hn^T + b_hn)",
       r"reset|\br\b|missing", others(TRANSPOSE, BIAS, GATE_ORDER))
def gru_cell_without_reset(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    _, z_w, n_w = _gru_blocks(weight_ih, weight_hh, bias_ih, bias_hh)
    z = torch.sigmoid(_affine(x, h, *z_w))
    n = torch.tanh(_affine(x, h, *n_w))
    return (1 - z) * n + z * h


@wrong("gru.gru_forward", "h0 ignored: starts from zeros, as nn.GRU does without a state",
       r"h0|initial|zeros|step 0|t ?= ?0\b|first step", others(TRANSPOSE, BIAS, GATE_ORDER))
def gru_forward_ignores_h0(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    output, h = _gru_layer(x, torch.zeros_like(h0), weight_ih, weight_hh, bias_ih, bias_hh)
    return (output.transpose(0, 1) if batch_first else output), h



@wrong("sequence_models.ar_design_matrix", "X squeezed 'to be safe': a single row (tau = T - 1) or a single lag "
       "(tau = 1) loses an axis", r"shape|squeeze|single (row|lag|column)", others(TRANSPOSE, DTYPE, IN_PLACE))
def ar_design_squeezed(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError("tau out of range")
    return torch.stack([x[i:i + tau] for i in range(len(x) - tau)]).squeeze(), x[tau:]


@wrong("sequence_models.transition_matrix", "pairs counted with torch.bincount without minlength: the count "
       "vector is too short unless the last pair (n-1, n-1) occurs", r"minlength|bincount|shape|size",
       others(TRANSPOSE, DTYPE))
def transition_bincount_without_minlength(states, n_states):
    counts = torch.bincount(states[:-1] * n_states + states[1:]).to(torch.float64).reshape(n_states, n_states)
    totals = counts.sum(dim=1, keepdim=True)
    return torch.where(totals > 0, counts / totals.clamp(min=1), torch.full_like(counts, 1.0 / n_states))


@wrong("sequence_models.markov_log_likelihood", "a small constant added inside the log 'to avoid log(0)': an "
       "impossible transition gets a finite log-likelihood instead of -inf",
       r"-inf|zero probabilit|impossible|epsilon|1e-12|log\(0\)", others(TRANSPOSE, "underflow"))
def markov_log_with_epsilon(states, P, p0):
    return torch.log(p0[states[0]] + 1e-12) + torch.log(P[states[:-1], states[1:]] + 1e-12).sum()


@wrong("rnn.rnn_bptt", "the bias gradient split in half between bias_ih and bias_hh (they 'share' it)",
       r"half|factor|split|both biases|twice|double"
       + "|" + only_wrong("grad_bias_ih", "grad_bias_hh"), others(TRANSPOSE, ACTIVATION))
def bptt_bias_gradient_split(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    grads = right.rnn_bptt(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T)
    return grads[0], grads[1], grads[2] / 2, grads[3] / 2, grads[4]


@wrong("rnn.rnn_bptt", "the tanh derivative with its sign flipped: h^2 - 1", r"sign|negat|1 ?- ?h|h\^?2 ?- ?1|"
       r"derivative", others(TRANSPOSE, BIAS))
def bptt_derivative_sign_flipped(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = _rnn_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_w_ih, grad_w_hh, grad_b = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(bias_ih)
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        delta = grad_h * (states[t] ** 2 - 1)
        grad_w_ih = grad_w_ih + delta.T @ x[t - 1]
        grad_w_hh = grad_w_hh + delta.T @ states[t - 1]
        grad_b = grad_b + delta.sum(dim=0)
        grad_h = delta @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h



# ============================================================== backward passes by hand (lstm, gru)

def _lstm_step_parts(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    """The forward quantities one LSTM step's backward needs: i, f, g, o, c, c_next, tanh(c_next)."""
    h, c = state
    a_i, a_f, a_g, a_o = (x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
    c_next = f * c + i * g
    return i, f, g, o, c, c_next, torch.tanh(c_next)


def _lstm_step_gradients(x, h, weight_ih, weight_hh, grad_pre, grad_c):
    return {"x": grad_pre @ weight_ih, "h": grad_pre @ weight_hh, "c": grad_c,
            "weight_ih": grad_pre.T @ x, "weight_hh": grad_pre.T @ h,
            "bias_ih": grad_pre.sum(dim=0), "bias_hh": grad_pre.sum(dim=0)}


@wrong("lstm.lstm_step_backward", "the cell's gradient leaves out the path through h_next: dL/dc_next is "
       "taken as grad_c_next alone, without grad_h_next * o * (1 - tanh(c_next)^2)",
       r"h_next|through (the )?hidden|path|1 ?- ?tanh|tanh\(c", others(TRANSPOSE, GATE_ORDER))
def lstm_step_backward_cell_path_only(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    i, f, g, o, c, c_next, tanh_c = _lstm_step_parts(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_c_total = grad_c_next
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * o * (1 - o)], dim=1)
    return _lstm_step_gradients(x, state[0], weight_ih, weight_hh, grad_pre, grad_c_total * f)


@wrong("lstm.lstm_step_backward", "the gates' sigmoid derivative written as 1 - s^2 (tanh's) instead of s (1 - s)",
       r"sigmoid|derivative|s ?\(1 ?- ?s\)|1 ?- ?s\^?2", others(TRANSPOSE, GATE_ORDER))
def lstm_step_backward_tanh_derivative_for_gates(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next,
                                                 grad_c_next):
    i, f, g, o, c, c_next, tanh_c = _lstm_step_parts(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * (1 - i ** 2), grad_c_total * c * (1 - f ** 2),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * (1 - o ** 2)], dim=1)
    return _lstm_step_gradients(x, state[0], weight_ih, weight_hh, grad_pre, grad_c_total * f)


@wrong("lstm.lstm_step_backward", "the gradient for the old cell state is dL/dc_next itself, not times f",
       r"forget|\bf\b|times f|\* ?f\b" + "|" + only_wrong("grads['c']"), others(TRANSPOSE, GATE_ORDER))
def lstm_step_backward_old_cell_without_f(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next,
                                          grad_c_next):
    i, f, g, o, c, c_next, tanh_c = _lstm_step_parts(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * o * (1 - o)], dim=1)
    return _lstm_step_gradients(x, state[0], weight_ih, weight_hh, grad_pre, grad_c_total)


@wrong("lstm.lstm_bptt", "each step's backward is handed the state after the step instead of the one it "
       "received", r"state (it|each step) received|states?\[t ?\+ ?1\]|off.by.one|shift|after the step",
       others(TRANSPOSE, GATE_ORDER))
def lstm_bptt_state_after_the_step(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    states = [tuple(state0)]
    for x_t in x:
        states.append(right.lstm_cell(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh))
    totals = {name: torch.zeros_like(w) for name, w in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"),
                                                             (weight_ih, weight_hh, bias_ih, bias_hh))}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(x.shape[0])):
        step = right_new.lstm_step_backward(x[t], states[t + 1], weight_ih, weight_hh, bias_ih, bias_hh, grad_h, grad_c)
        totals = {name: total + step[name] for name, total in totals.items()}
        grad_h, grad_c = step["h"], step["c"]
    return {**totals, "h0": grad_h, "c0": grad_c}


@wrong("lstm.lstm_bptt", "the weight gradients are overwritten at every step, not summed over the steps",
       r"sum|accumulat|every step|over (the )?steps|\+=|shared", others(TRANSPOSE, GATE_ORDER))
def lstm_bptt_weights_not_summed(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    states = [tuple(state0)]
    for x_t in x:
        states.append(right.lstm_cell(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh))
    grad_h, grad_c, step = grad_h_T, grad_c_T, {}
    for t in reversed(range(x.shape[0])):
        step = right_new.lstm_step_backward(x[t], states[t], weight_ih, weight_hh, bias_ih, bias_hh, grad_h, grad_c)
        grad_h, grad_c = step["h"], step["c"]
    return {name: step[name] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")} | {"h0": grad_h,
                                                                                               "c0": grad_c}


@wrong("lstm.lstm_bptt", "the gradients of h0 and c0 returned under each other's key", r"swap|each other|exchang",
       others(TRANSPOSE, GATE_ORDER))
def lstm_bptt_initial_gradients_swapped(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    grads = right_new.lstm_bptt(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T)
    return {**grads, "h0": grads["c0"], "c0": grads["h0"]}


def _gru_step_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    ax_r, ax_z, ax_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
    ah_r, ah_z, ah_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(ax_r + ah_r), torch.sigmoid(ax_z + ah_z)
    return r, z, torch.tanh(ax_n + r * ah_n), ah_n


def _gru_step_gradients(x, h, weight_ih, weight_hh, grad_ax, grad_ah, grad_h_direct):
    return {"x": grad_ax @ weight_ih, "h": grad_h_direct + grad_ah @ weight_hh,
            "weight_ih": grad_ax.T @ x, "weight_hh": grad_ah.T @ h,
            "bias_ih": grad_ax.sum(dim=0), "bias_hh": grad_ah.sum(dim=0)}


@wrong("gru.gru_step_backward", "dL/dh leaves out the direct path z * grad_h_next (h' = ... + z * h)",
       r"direct|z ?\* ?grad|z ?\* ?h|update gate|\bz\b" + "|" + only_wrong("grads['h']"),
       others(TRANSPOSE, GATE_ORDER))
def gru_step_backward_without_direct_path(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    r, z, n, ah_n = _gru_step_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (h - n) * z * (1 - z)
    return _gru_step_gradients(x, h, weight_ih, weight_hh, torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1),
                               torch.cat([grad_a_r, grad_a_z, grad_a_n * r], dim=1), 0)


@wrong("gru.gru_step_backward", "the reset left out of the recurrent n block: bias_hh and weight_hh of n get "
       "grad_a_n instead of r * grad_a_n", r"reset|\br\b|\bn\b block|rows 2H|candidate",
       others(TRANSPOSE, GATE_ORDER))
def gru_step_backward_reset_missing_in_n_block(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    r, z, n, ah_n = _gru_step_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (h - n) * z * (1 - z)
    grad_ax = torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1)
    return _gru_step_gradients(x, h, weight_ih, weight_hh, grad_ax, grad_ax, grad_h_next * z)


@wrong("gru.gru_step_backward", "the update gate's gradient with the sign flipped: (n - h) instead of (h - n)",
       r"sign|h ?- ?n|n ?- ?h|update|\bz\b", others(TRANSPOSE, GATE_ORDER))
def gru_step_backward_update_sign(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    r, z, n, ah_n = _gru_step_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (n - h) * z * (1 - z)
    return _gru_step_gradients(x, h, weight_ih, weight_hh, torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1),
                               torch.cat([grad_a_r, grad_a_z, grad_a_n * r], dim=1), grad_h_next * z)


# The table reads by notebook and function, in the notebooks' order.
ORDER = [*right.BY_CHECK_ID, *right_new.BY_CHECK_ID]
HELD_OUT.sort(key=lambda entry: ORDER.index(entry.check_id))
