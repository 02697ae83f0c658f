"""A catalogue of realistic wrong solutions: each must fail its hidden check, and most must be named.

Each mutant is a correct solution (tests/reference_solutions.py) with one mistake a student makes.
`expected` is a phrase the diagnosis should contain when it recognises the mistake.
"""
import torch
import pytest

import reference_solutions as right
from autograder.assess import run_check


# ----- sequence_models -----

def ar_target_is_last_input(x, tau):
    right.ar_design_matrix(x, tau)  # keeps the ValueError
    X = torch.stack([x[i:i + tau] for i in range(len(x) - tau)])
    return X, x[tau - 1:-1]


def ar_newest_first(x, tau):
    X, y = right.ar_design_matrix(x, tau)
    return X.flip(1), y


def ar_without_value_error(x, tau):
    X = torch.stack([x[i:i + tau] for i in range(len(x) - tau)]) if tau < len(x) else x[:0, None]
    return X, x[tau:]


def fit_ar_without_intercept(x, tau):
    X, y = right.ar_design_matrix(x, tau)
    return torch.linalg.lstsq(X, y[:, None]).solution[:, 0], torch.zeros((), dtype=x.dtype)


def predict_without_feedback(history, w, b, k):
    value = history[-len(w):] @ w + b
    return value.repeat(k)


def predict_from_first_window(history, w, b, k):
    return right.predict_ahead(history[:len(w)], w, b, k)


def transition_counts_transposed(states, n_states):
    return right.transition_matrix(states.flip(0), n_states)


def transition_zero_rows(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64)
    for a, b in zip(states[:-1], states[1:]):
        counts[a, b] += 1
    return counts / counts.sum(dim=1, keepdim=True).clamp(min=1)


def transition_nan_rows(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64)
    for a, b in zip(states[:-1], states[1:]):
        counts[a, b] += 1
    return counts / counts.sum(dim=1, keepdim=True)


def markov_without_initial(states, P, p0):
    return torch.log(P[states[:-1], states[1:]]).sum()


def markov_transposed(states, P, p0):
    return torch.log(p0[states[0]]) + torch.log(P[states[1:], states[:-1]]).sum()


def latent_A_untransposed(h, x, A, B):
    return h @ A + x @ B.T


# ----- rnn -----

def rnn_cell_without_bias_hh(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    return right.rnn_cell(x, h, weight_ih, weight_hh, bias_ih, torch.zeros_like(bias_hh), nonlinearity)


def rnn_cell_always_tanh(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    return torch.tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)


def rnn_cell_untransposed(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    return torch.tanh(x @ weight_ih + bias_ih + h @ weight_hh + bias_hh)


def rnn_forward_ignores_batch_first(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    return right.rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False)


def rnn_forward_outputs_previous_state(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        outputs.append(h)
        h = right.rnn_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


def _bptt(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, carry=True, derivative=True, use_h_t=False):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(x_t @ weight_ih.T + bias_ih + states[-1] @ weight_hh.T + bias_hh))
    grads = [torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(bias_ih)]
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        grad_pre = grad_h * (1 - states[t] ** 2) if derivative else grad_h
        grads[0] += grad_pre.T @ x[t - 1]
        grads[1] += grad_pre.T @ (states[t] if use_h_t else states[t - 1])
        grads[2] += grad_pre.sum(0)
        grad_h = grad_pre @ weight_hh if (carry or t == 1) else grad_h_T
    return grads[0], grads[1], grads[2], grads[2].clone(), grad_h


def bptt_without_recursive_term(*args):
    return _bptt(*args, carry=False)


def bptt_without_tanh_derivative(*args):
    return _bptt(*args, derivative=False)


def bptt_weight_gradient_with_h_t(*args):
    return _bptt(*args, use_h_t=True)


def norms_reversed(*args):
    return right.hidden_gradient_norms(*args).flip(0)


def norms_without_tanh_derivative(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    norms = [torch.linalg.matrix_norm(torch.eye(len(h0), dtype=h0.dtype))]
    jacobian = torch.eye(len(h0), dtype=h0.dtype)
    for _ in range(len(x)):
        jacobian = jacobian @ weight_hh
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


def clip_per_element(grads, max_norm):
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    return [g.clamp(-max_norm, max_norm) for g in grads], total


def clip_each_tensor(grads, max_norm):
    clipped = [g * torch.clamp(max_norm / (g.norm() + 1e-6), max=1.0) for g in grads]
    return clipped, torch.sqrt(sum((g ** 2).sum() for g in grads))


def clip_without_eps(grads, max_norm):
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    return [g * torch.clamp(max_norm / total, max=1.0) for g in grads], total


def clip_always_rescales(grads, max_norm):
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    return [g * (max_norm / (total + 1e-6)) for g in grads], total


def clip_in_place(grads, max_norm):
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    return [g.mul_(scale) for g in grads], total


# ----- lstm -----

def forget_gate_with_tanh(x, h, W_if, W_hf, b_if, b_hf):
    return torch.tanh(x @ W_if.T + b_if + h @ W_hf.T + b_hf)


def input_gate_without_b_hi(x, h, W_ii, W_hi, b_ii, b_hi):
    return torch.sigmoid(x @ W_ii.T + b_ii + h @ W_hi.T)


def candidate_with_sigmoid(x, h, W_ig, W_hg, b_ig, b_hg):
    return torch.sigmoid(x @ W_ig.T + b_ig + h @ W_hg.T + b_hg)


def forget_gate_untransposed(x, h, W_if, W_hf, b_if, b_hf):
    return torch.sigmoid(x @ W_if + b_if + h @ W_hf + b_hf)


def cell_update_gates_swapped(c, f, i, g):
    return i * c + f * g


def output_uses_c_not_tanh_c(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho)
    return o, o * c_next


def _lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh, order="ifgo", g_act=torch.tanh,
               out_tanh=True, use_bias_hh=True):
    h, c = state
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + (bias_hh if use_bias_hh else 0)
    gates = dict(zip(order, pre.chunk(4, dim=1)))
    i, f, o = (torch.sigmoid(gates[k]) for k in "ifo")
    g = g_act(gates["g"])
    c_next = f * c + i * g
    return o * (torch.tanh(c_next) if out_tanh else c_next), c_next


def lstm_cell_tensorflow_gate_order(*args):
    return _lstm_cell(*args, order="igfo")


def lstm_cell_forget_first(*args):
    return _lstm_cell(*args, order="figo")


def lstm_cell_candidate_sigmoid(*args):
    return _lstm_cell(*args, g_act=torch.sigmoid)


def lstm_cell_hidden_from_c(*args):
    return _lstm_cell(*args, out_tanh=False)


def lstm_cell_without_bias_hh(*args):
    return _lstm_cell(*args, use_bias_hh=False)


def lstm_cell_returns_c_then_h(*args):
    return right.lstm_cell(*args)[::-1]


def lstm_forward_gate_order(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    state, outputs = state0, []
    for x_t in x:
        state = _lstm_cell(x_t, state, weight_ih, weight_hh, bias_ih, bias_hh, order="ifog")
        outputs.append(state[0])
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), state


def lstm_param_count_one_bias(input_size, hidden_size):
    return 4 * (hidden_size * (input_size + hidden_size) + hidden_size)


# ----- gru -----

def update_gate_without_b_hz(x, h, W_iz, W_hz, b_iz, b_hz):
    return torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T)


def gru_candidate_reset_before_product(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)


def gru_candidate_b_hn_folded(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.tanh(x @ W_in.T + (b_in + b_hn) + r * (h @ W_hn.T))


def gru_hidden_update_z_swapped(h, z, n):
    return z * n + (1 - z) * h


def _gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, order="rzn", swap_z=False, reset_before=False):
    wx = dict(zip(order, weight_ih.chunk(3)))
    wh = dict(zip(order, weight_hh.chunk(3)))
    bx = dict(zip(order, bias_ih.chunk(3)))
    bh = dict(zip(order, bias_hh.chunk(3)))
    r = torch.sigmoid(x @ wx["r"].T + bx["r"] + h @ wh["r"].T + bh["r"])
    z = torch.sigmoid(x @ wx["z"].T + bx["z"] + h @ wh["z"].T + bh["z"])
    hidden_part = (r * h) @ wh["n"].T + bh["n"] if reset_before else r * (h @ wh["n"].T + bh["n"])
    n = torch.tanh(x @ wx["n"].T + bx["n"] + hidden_part)
    return z * n + (1 - z) * h if swap_z else (1 - z) * n + z * h


def gru_cell_z_swapped(*args):
    return _gru_cell(*args, swap_z=True)


def gru_cell_order_zrn(*args):
    return _gru_cell(*args, order="zrn")


def gru_cell_reset_before_product(*args):
    return _gru_cell(*args, reset_before=True)


def gru_forward_z_swapped(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        h = _gru_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh, swap_z=True)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


def parameter_counts_gru_four_blocks(input_size, hidden_size):
    counts = right.parameter_counts(input_size, hidden_size)
    return {**counts, "gru": counts["lstm"]}


def parameter_counts_one_bias(input_size, hidden_size):
    per_block = hidden_size * (input_size + hidden_size) + hidden_size
    return {"rnn": per_block, "gru": 3 * per_block, "lstm": 4 * per_block}


# ----- kinds a catalogue of value mistakes misses (contract, edge cases, branches) -----

def gru_cell_squeezed(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    return right.gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh).squeeze()


def rnn_forward_guesses_layout(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    batch_first = x.shape[0] == h0.shape[0]  # "the batch is first when the first axis has batch rows"
    return right.rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)


def forget_gate_detached(x, h, W_if, W_hf, b_if, b_hf):
    return right.forget_gate(x, h, W_if, W_hf, b_if, b_hf).detach()


def gru_cell_under_no_grad(*args):
    with torch.no_grad():
        return right.gru_cell(*args)


def latent_update_through_numpy(h, x, A, B):
    values = h.detach().numpy() @ A.detach().numpy().T + x.detach().numpy() @ B.detach().numpy().T
    return torch.from_numpy(values).to(h.dtype)


def clip_returns_inputs_when_small(grads, max_norm):
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    if total <= max_norm:
        return grads, total
    return right.clip_grad_norm(grads, max_norm)


def lstm_param_count_as_tensor(input_size, hidden_size):
    return torch.tensor(right.lstm_param_count(input_size, hidden_size))


def transition_matrix_float32(states, n_states):
    return right.transition_matrix(states, n_states).float()


def rnn_cell_falls_back_to_tanh(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    return torch.relu(pre) if nonlinearity == "relu" else torch.tanh(pre)


def transition_totals_from_occurrences(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64)
    for a, b in zip(states[:-1], states[1:]):
        counts[a, b] += 1
    occurrences = torch.bincount(states, minlength=n_states).double()[:, None]
    P = counts / occurrences.clamp(min=1)
    P[occurrences[:, 0] == 0] = 1.0 / n_states
    return P


def transition_counts_in_float32(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float32)
    for a, b in zip(states[:-1], states[1:]):
        counts[a, b] += 1
    totals = counts.sum(dim=1, keepdim=True)
    P = torch.where(totals > 0, counts / totals.clamp(min=1), torch.full_like(counts, 1.0 / n_states))
    return P.double()


def clip_compares_squared_norm(grads, max_norm):
    squared = sum((g ** 2).sum() for g in grads)
    total = torch.sqrt(squared)
    if squared <= max_norm:
        return [g.clone() for g in grads], total
    return [g * (max_norm / (total + 1e-6)) for g in grads], total


def lstm_cell_returns_list(*args):
    return list(right.lstm_cell(*args))


def rnn_forward_reshapes_layout(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.reshape(x.shape[1], x.shape[0], x.shape[2])  # reshape is not a transpose
    output, h = right.rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    return (output.reshape(output.shape[1], output.shape[0], -1) if batch_first else output), h


def lstm_forward_state_not_carried(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    outputs = []
    for x_t in x:
        state = right.lstm_cell(x_t, state0, weight_ih, weight_hh, bias_ih, bias_hh)  # never state0 = state
        outputs.append(state[0])
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), state


def gru_forward_stacks_on_dim_1(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        h = right.gru_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    return torch.stack(outputs, dim=0 if batch_first else 1), h


def lstm_cell_forget_gate_tanh(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    i, f, g, o = (x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
    c_next = torch.tanh(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


def gru_forward_reads_previous_input(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for t in range(x.shape[0]):
        h = right.gru_cell(x[t - 1], h, weight_ih, weight_hh, bias_ih, bias_hh)  # off by one
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


MUTANTS = [
    ("sequence_models.ar_design_matrix", ar_target_is_last_input, "off-by-one"),
    ("sequence_models.ar_design_matrix", ar_newest_first, "newest first"),
    ("sequence_models.ar_design_matrix", ar_without_value_error, "should raise ValueError"),
    ("sequence_models.fit_ar", fit_ar_without_intercept, "no intercept"),
    ("sequence_models.predict_ahead", predict_without_feedback, "not fed back"),
    ("sequence_models.predict_ahead", predict_from_first_window, "last* tau values"),
    ("sequence_models.transition_matrix", transition_counts_transposed, "transposed"),
    ("sequence_models.transition_matrix", transition_zero_rows, "uniform"),
    ("sequence_models.transition_matrix", transition_nan_rows, "uniform"),
    ("sequence_models.markov_log_likelihood", markov_without_initial, "initial term"),
    ("sequence_models.markov_log_likelihood", markov_transposed, "A[s_t, s_{t-1}]"),
    ("sequence_models.latent_update", latent_A_untransposed, "not transposed"),
    ("rnn.rnn_cell", rnn_cell_without_bias_hh, "bias_hh is missing"),
    ("rnn.rnn_cell", rnn_cell_always_tanh, "nonlinearity argument is ignored"),
    ("rnn.rnn_cell", rnn_cell_untransposed, "transposed weights"),
    ("rnn.rnn_forward", rnn_forward_ignores_batch_first, "batch_first"),
    ("rnn.rnn_forward", rnn_forward_outputs_previous_state, "state before each step"),
    ("rnn.rnn_bptt", bptt_without_recursive_term, "recursive term"),
    ("rnn.rnn_bptt", bptt_without_tanh_derivative, "tanh derivative"),
    ("rnn.rnn_bptt", bptt_weight_gradient_with_h_t, "h_{t-1}"),
    ("rnn.hidden_gradient_norms", norms_reversed, "reverse order"),
    ("rnn.hidden_gradient_norms", norms_without_tanh_derivative, "tanh derivative"),
    ("rnn.clip_grad_norm", clip_per_element, "per element"),
    ("rnn.clip_grad_norm", clip_each_tensor, "its own norm"),
    ("rnn.clip_grad_norm", clip_without_eps, "1e-6 is missing"),
    ("rnn.clip_grad_norm", clip_always_rescales, "min(1, ...)"),
    ("rnn.clip_grad_norm", clip_in_place, "in place"),
    ("lstm.forget_gate", forget_gate_with_tanh, "tanh used where the gate needs sigmoid"),
    ("lstm.forget_gate", forget_gate_untransposed, "transposed weights"),
    ("lstm.input_gate", input_gate_without_b_hi, "hidden bias"),
    ("lstm.candidate", candidate_with_sigmoid, "sigmoid used where the gate needs tanh"),
    ("lstm.cell_update", cell_update_gates_swapped, "swapped"),
    ("lstm.output_gate_and_hidden", output_uses_c_not_tanh_c, "tanh(c_next)"),
    ("lstm.lstm_cell", lstm_cell_tensorflow_gate_order, "gate order"),
    ("lstm.lstm_cell", lstm_cell_forget_first, "gate order"),
    ("lstm.lstm_cell", lstm_cell_candidate_sigmoid, "g uses sigmoid"),
    ("lstm.lstm_cell", lstm_cell_hidden_from_c, "tanh(c_next)"),
    ("lstm.lstm_cell", lstm_cell_without_bias_hh, "bias_hh is missing"),
    ("lstm.lstm_cell", lstm_cell_returns_c_then_h, "(h_next, c_next)"),
    ("lstm.lstm_forward", lstm_forward_gate_order, "gate order"),
    ("lstm.lstm_param_count", lstm_param_count_one_bias, "one bias"),
    ("gru.update_gate", update_gate_without_b_hz, "hidden bias"),
    ("gru.gru_candidate", gru_candidate_reset_before_product, "reset applied before the product"),
    ("gru.gru_candidate", gru_candidate_b_hn_folded, "b_hn folded into b_in"),
    ("gru.gru_hidden_update", gru_hidden_update_z_swapped, "z and 1-z swapped"),
    ("gru.gru_cell", gru_cell_z_swapped, "z and 1-z swapped"),
    ("gru.gru_cell", gru_cell_order_zrn, "gate order"),
    ("gru.gru_cell", gru_cell_reset_before_product, "reset applied before the product"),
    ("gru.gru_forward", gru_forward_z_swapped, "z and 1-z swapped"),
    ("gru.parameter_counts", parameter_counts_gru_four_blocks, "4 gate blocks"),
    ("gru.parameter_counts", parameter_counts_one_bias, "one bias"),
    # contract, edge cases and branches
    ("gru.gru_cell", gru_cell_squeezed, "size 1 is missing"),
    ("rnn.rnn_forward", rnn_forward_guesses_layout, "guessed from the shapes"),
    ("lstm.forget_gate", forget_gate_detached, "carries no gradient"),
    ("gru.gru_cell", gru_cell_under_no_grad, "carries no gradient"),
    ("sequence_models.latent_update", latent_update_through_numpy, "numpy round trips"),
    ("rnn.clip_grad_norm", clip_returns_inputs_when_small, "holds the input object"),
    ("lstm.lstm_param_count", lstm_param_count_as_tensor, "should be a Python int"),
    ("sequence_models.transition_matrix", transition_matrix_float32, "expected torch.float64"),
    ("rnn.rnn_cell", rnn_cell_falls_back_to_tanh, "should raise ValueError"),
    ("sequence_models.transition_matrix", transition_totals_from_occurrences, "from_state indices [3] is wrong"),
    ("sequence_models.transition_matrix", transition_counts_in_float32, "float32 precision"),
    ("rnn.clip_grad_norm", clip_compares_squared_norm, "squared norm is compared"),
    ("lstm.lstm_cell", lstm_cell_returns_list, "expected a tuple"),
    ("rnn.rnn_forward", rnn_forward_reshapes_layout, "reshape/view"),
    ("lstm.lstm_forward", lstm_forward_state_not_carried, "not carried"),
    ("gru.gru_forward", gru_forward_stacks_on_dim_1, "time and batch axes swapped"),
    ("lstm.lstm_cell", lstm_cell_forget_gate_tanh, "gate f uses tanh"),
    ("gru.gru_forward", gru_forward_reads_previous_input, "off by one"),
]

REQUIRED_NAMING_RATE = 0.8


@pytest.fixture(scope="module")
def verdicts():
    return [(check_id, mutant.__name__, expected, run_check(check_id, mutant, device="cpu"))
            for check_id, mutant, expected in MUTANTS]


def test_catalogue_is_large_and_covers_every_notebook():
    assert len(MUTANTS) >= 30
    assert {check_id.split(".")[0] for check_id, _, _ in MUTANTS} == {"sequence_models", "rnn", "lstm", "gru"}


@pytest.mark.parametrize("check_id, mutant, expected", MUTANTS, ids=[m.__name__ for _, m, _ in MUTANTS])
def test_every_mutant_loses_points(check_id, mutant, expected):
    result = run_check(check_id, mutant, device="cpu")
    assert not result.passed, f"{mutant.__name__} passed {check_id}"
    assert result.message.startswith(check_id)


def _names_mistake(result, expected):
    """The phrase must be in the explanation, not in the first line (which describes the case)."""
    explanation = result.message.split("\n", 1)[1]
    return expected in explanation


def test_most_mutants_get_a_message_naming_the_mistake(verdicts):
    named = [name for _, name, expected, result in verdicts if _names_mistake(result, expected)]
    unnamed = [(name, result.message) for _, name, expected, result in verdicts
               if not _names_mistake(result, expected)]
    rate = len(named) / len(verdicts)
    print(f"\n{len(named)} of {len(verdicts)} mutants named ({rate:.0%}); not named: "
          f"{[name for name, _ in unnamed]}")
    assert rate >= REQUIRED_NAMING_RATE, "\n\n".join(f"{name}:\n{message}" for name, message in unnamed)


# ----- no hint may name a mistake that is not there -----

def _one_entry_off(fn, index):
    """fn with one output entry changed: no simple transformation explains it, so nothing may be named."""
    def wrong(*args, **kwargs):
        result = fn(*args, **kwargs)
        first = result[0] if isinstance(result, tuple) else result
        first = first.clone()
        first.view(-1)[index % first.numel()] += 0.1
        return (first, *result[1:]) if isinstance(result, tuple) else first
    return wrong


ARBITRARY = [
    ("lstm.lstm_cell", _one_entry_off(right.lstm_cell, 3)),
    ("gru.gru_forward", _one_entry_off(right.gru_forward, 7)),
    ("rnn.rnn_cell", _one_entry_off(right.rnn_cell, 0)),
    ("sequence_models.latent_update", _one_entry_off(right.latent_update, 5)),
    ("rnn.clip_grad_norm", lambda grads, max_norm: (right.clip_grad_norm(grads, max_norm)[0],
                                                     right.clip_grad_norm(grads, max_norm)[1] * 1.01 + 0.01)),
]


@pytest.mark.parametrize("check_id, fn", ARBITRARY, ids=[c for c, _ in ARBITRARY])
def test_an_arbitrary_error_gets_a_place_but_no_named_mistake(check_id, fn):
    result = run_check(check_id, fn, device="cpu")
    assert not result.passed and result.hint is None, result.message
    assert "Likely mistake" not in result.message



# ----- measured on mistakes the explanation code was not written against -----

HIDDEN_LOSS_RATE, VISIBLE_LOSS_RATE, UNSEEN_NAMING_RATE = 1.0, 0.9, 0.6


def test_unseen_mistakes_lose_points_and_most_are_named_or_pinned(capsys):
    """tests/mutants_unseen.py was written after the explanation code was frozen: the rates below are
    the honest measure of how the explanations generalise. Where no phrase is listed, nothing may be
    named (a new correct hint there should add its phrase)."""
    from autograder.selfcheck import check
    from mutants_unseen import UNSEEN
    hidden_lost = visible_lost = named = 0
    wrongly_named = []
    for check_id, mutant, phrases in UNSEEN:
        result = run_check(check_id, mutant, device="cpu")
        hidden_lost += not result.passed
        try:
            with capsys.disabled(), open("/dev/null", "w") as sink, __import__("contextlib").redirect_stdout(sink):
                check(check_id, mutant)
        except AssertionError:
            visible_lost += 1
        explanation = result.message.split("\n", 1)[-1]
        named += any(phrase in explanation for phrase in phrases)
        if not phrases and result.hint:
            wrongly_named.append((mutant.__name__, result.hint))
    total = len(UNSEEN)
    with capsys.disabled():
        print(f"\nunseen mutants: {total}; lose points hidden {hidden_lost}, visible {visible_lost}; "
              f"named or pinned {named} ({named / total:.0%})")
    assert hidden_lost >= HIDDEN_LOSS_RATE * total and visible_lost >= VISIBLE_LOSS_RATE * total
    assert named >= UNSEEN_NAMING_RATE * total
    assert not wrongly_named, wrongly_named
