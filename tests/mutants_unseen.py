"""Wrong solutions written after the explanation code was frozen (commit 10c068d), to measure it honestly.

Nothing in autograder/ was written against these. Each entry: (check id, mutant, phrases); the
explanation "names or pins" the mistake when one of the phrases (written before the first run) is in
the message after its first line. An empty tuple means: any explanation would have to guess.

First measure at 10c068d: 30/30 lose points (hidden and visible), 18/30 named or pinned, 1 wrong hint.
Entries marked "since ..." got their phrase when a later, general explanation named them correctly.
"""
import torch

import reference_solutions as right


# ----- sequence_models -----

def ar_windows_shifted(x, tau):
    right.ar_design_matrix(x, tau)
    X = torch.stack([x[i + 1:i + 1 + tau] for i in range(len(x) - tau - 1)] + [x[-tau:]])
    return X, x[tau:]


def ar_refuses_last_valid_tau(x, tau):
    if tau < 1 or tau >= len(x) - 1:
        raise ValueError("tau out of range")
    return right.ar_design_matrix(x, tau)


def fit_ar_intercept_as_vector(x, tau):
    w, b = right.fit_ar(x, tau)
    return w, b.reshape(1)


def predict_drops_newest(history, w, b, k):
    window = history[-len(w):].clone()
    predictions = []
    for _ in range(k):
        value = window @ w + b
        predictions.append(value)
        window = torch.cat([value[None], window[:-1]])
    return torch.stack(predictions)


def transition_laplace_smoothed(states, n_states):
    counts = torch.ones(n_states, n_states, dtype=torch.float64)
    for a, b in zip(states[:-1], states[1:]):
        counts[a, b] += 1
    return counts / counts.sum(dim=1, keepdim=True)


def markov_initial_over_all_states(states, P, p0):
    return torch.log(p0[states]).sum() + torch.log(P[states[:-1], states[1:]]).sum()


def latent_B_untransposed(h, x, A, B):
    return h @ A.T + x @ B


# ----- rnn -----

def rnn_cell_relu_then_tanh(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    if nonlinearity == "relu":
        return torch.tanh(torch.relu(pre))
    return right.rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity)


def rnn_forward_stacks_batch_first(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    output, h = right.rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)
    return output.transpose(0, 1), h


def rnn_forward_first_state_as_h_n(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    output, _ = right.rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)
    return output, (output[:, 0] if batch_first else output[0])


def bptt_grad_h0_one_step_short(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    """grad_h0 is the gradient carried to h_1: the last multiplication by W_hh is skipped."""
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(x_t @ weight_ih.T + bias_ih + states[-1] @ weight_hh.T + bias_hh))
    g_ih, g_hh, g_b = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(bias_ih)
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        pre = grad_h * (1 - states[t] ** 2)
        g_ih, g_hh, g_b = g_ih + pre.T @ x[t - 1], g_hh + pre.T @ states[t - 1], g_b + pre.sum(0)
        if t > 1:
            grad_h = pre @ weight_hh
    return g_ih, g_hh, g_b, g_b.clone(), grad_h


def bptt_bias_not_summed_over_batch(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(x_t @ weight_ih.T + bias_ih + states[-1] @ weight_hh.T + bias_hh))
    g_ih, g_hh, g_b = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(h0)
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        pre = grad_h * (1 - states[t] ** 2)
        g_ih, g_hh, g_b = g_ih + pre.T @ x[t - 1], g_hh + pre.T @ states[t - 1], g_b + pre
        grad_h = pre @ weight_hh
    return g_ih, g_hh, g_b, g_b.clone(), grad_h


def norms_product_in_wrong_order(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
    jacobian = torch.eye(len(h0), dtype=h0.dtype)
    norms = [torch.linalg.matrix_norm(jacobian)]
    for t in range(len(x), 0, -1):
        jacobian = ((1 - states[t] ** 2)[:, None] * weight_hh) @ jacobian
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


def clip_total_is_sum_of_norms(grads, max_norm):
    total = sum(g.norm() for g in grads)
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    return [g * scale for g in grads], total


def clip_new_list_same_tensors(grads, max_norm):
    clipped, total = right.clip_grad_norm(grads, max_norm)
    if total <= max_norm:
        return [g for g in grads], total
    return clipped, total


# ----- lstm -----

def forget_gate_bias_subtracted(x, h, W_if, W_hf, b_if, b_hf):
    return torch.sigmoid(x @ W_if.T - b_if + h @ W_hf.T - b_hf)


def input_gate_weights_swapped(x, h, W_ii, W_hi, b_ii, b_hi):
    return torch.sigmoid(x @ W_hi.T + b_ii + h @ W_ii.T + b_hi)


def candidate_bias_outside(x, h, W_ig, W_hg, b_ig, b_hg):
    return torch.tanh(x @ W_ig.T + h @ W_hg.T) + b_ig + b_hg


def cell_update_input_inside(c, f, i, g):
    return f * (c + i * g)


def output_pair_swapped(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o, h_next = right.output_gate_and_hidden(x, h, c_next, W_io, W_ho, b_io, b_ho)
    return h_next, o


def lstm_cell_tanh_of_old_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    h_next, c_next = right.lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    o = torch.sigmoid(x @ weight_ih.chunk(4)[3].T + bias_ih.chunk(4)[3] + h @ weight_hh.chunk(4)[3].T
                      + bias_hh.chunk(4)[3])
    return o * torch.tanh(c), c_next


def lstm_forward_state_order(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    output, (h_n, c_n) = right.lstm_forward(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)
    return output, (c_n, h_n)


def lstm_forward_from_zero_state(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    zeros = (torch.zeros_like(state0[0]), torch.zeros_like(state0[1]))
    return right.lstm_forward(x, zeros, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)


def lstm_param_count_without_recurrent(input_size, hidden_size):
    return 4 * (hidden_size * input_size + 2 * hidden_size)


# ----- gru -----

def update_gate_complement(x, h, W_iz, W_hz, b_iz, b_hz):
    return 1 - torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)


def gru_candidate_reset_on_input(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.tanh(r * (x @ W_in.T + b_in) + h @ W_hn.T + b_hn)


def gru_update_without_z_on_h(h, z, n):
    return (1 - z) * n + h


def gru_cell_reset_is_update(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    r_w, z_w, n_w = zip(*[w.chunk(3, dim=0) for w in (weight_ih, weight_hh, bias_ih, bias_hh)])
    z = right.update_gate(x, h, *z_w)
    n = right.gru_candidate(x, h, z, *n_w)
    return right.gru_hidden_update(h, z, n)


def gru_forward_layer_axis(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    output, h_n = right.gru_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)
    return output, h_n[None]


def parameter_counts_as_floats(input_size, hidden_size):
    return {key: float(value) for key, value in right.parameter_counts(input_size, hidden_size).items()}


UNSEEN = [
    ("sequence_models.ar_design_matrix", ar_windows_shifted, ("right: `y`",)),
    ("sequence_models.ar_design_matrix", ar_refuses_last_valid_tau, ("tau = T - 1",)),
    ("sequence_models.fit_ar", fit_ar_intercept_as_vector, ("`b` has shape",)),
    ("sequence_models.predict_ahead", predict_drops_newest, ("predictions from",)),
    ("sequence_models.transition_matrix", transition_laplace_smoothed, ()),
    ("sequence_models.markov_log_likelihood", markov_initial_over_all_states, ()),
    ("sequence_models.latent_update", latent_B_untransposed, ("`B` is used transposed",)),
    ("rnn.rnn_cell", rnn_cell_relu_then_tanh, ("nonlinearity='relu'",)),
    ("rnn.rnn_forward", rnn_forward_stacks_batch_first, ("swapped",)),
    ("rnn.rnn_forward", rnn_forward_first_state_as_h_n, ("right: `output`",)),
    ("rnn.rnn_bptt", bptt_grad_h0_one_step_short, ("wrong: `grad_h0`",)),
    ("rnn.rnn_bptt", bptt_bias_not_summed_over_batch, ("`grad_bias_ih` has shape",)),
    ("rnn.hidden_gradient_norms", norms_product_in_wrong_order, ()),
    ("rnn.clip_grad_norm", clip_total_is_sum_of_norms, ("`total_norm`",)),
    ("rnn.clip_grad_norm", clip_new_list_same_tensors, ("holds the input object",)),
    ("lstm.forget_gate", forget_gate_bias_subtracted, ("wrong sign",)),  # named since 1f07c6e+1
    ("lstm.input_gate", input_gate_weights_swapped, ("swapped", "multiplies h")),
    ("lstm.candidate", candidate_bias_outside, ()),
    ("lstm.cell_update", cell_update_input_inside, ()),
    ("lstm.output_gate_and_hidden", output_pair_swapped, ("order",)),
    ("lstm.lstm_cell", lstm_cell_tanh_of_old_cell, ("right: `c_next`",)),
    ("lstm.lstm_forward", lstm_forward_state_order, ("order",)),
    ("lstm.lstm_forward", lstm_forward_from_zero_state, ("state0",)),
    ("lstm.lstm_param_count", lstm_param_count_without_recurrent, ("leaves out weight_hh",)),  # since 1f07c6e+1
    ("gru.update_gate", update_gate_complement, ("1 minus", "1-z", "complement")),
    ("gru.gru_candidate", gru_candidate_reset_on_input, ()),
    ("gru.gru_hidden_update", gru_update_without_z_on_h, ()),
    ("gru.gru_cell", gru_cell_reset_is_update, ()),
    ("gru.gru_forward", gru_forward_layer_axis, ("extra axis",)),
    ("gru.parameter_counts", parameter_counts_as_floats, ("Python int",)),
]
