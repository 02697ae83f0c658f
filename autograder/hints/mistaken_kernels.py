"""Configurable cell kernels that can reproduce the usual mistakes (used only to diagnose failures).

Each kernel follows PyTorch's equations when called with its defaults; a flag switches on one mistake.
"""
import torch

SIGMOID, TANH = torch.sigmoid, torch.tanh


def linear(x, weight, bias=None, transposed=False):
    """x W^T + b, or x W + b when the weight is (wrongly) used untransposed."""
    out = x @ (weight if transposed else weight.T)
    return out if bias is None else out + bias


def gate(x, h, w_x, w_h, b_x, b_h, activation=SIGMOID, drop_b_x=False, drop_b_h=False, transposed=False,
         swap_weights=False):
    """One gate: activation(x W_x^T + b_x + h W_h^T + b_h), with optional mistakes."""
    if swap_weights:
        w_x, w_h = w_h, w_x
    return activation(linear(x, w_x, None if drop_b_x else b_x, transposed)
                      + linear(h, w_h, None if drop_b_h else b_h, transposed))


def blocks(weights, n_blocks):
    """Per-gate (w_x, w_h, b_x, b_h) tuples from (weight_ih, weight_hh, bias_ih, bias_hh)."""
    return list(zip(*(w.chunk(n_blocks, dim=0) for w in weights)))


def rnn_step(x, h, weights, activation=TANH, **mistakes):
    return gate(x, h, *weights, activation=activation, **mistakes)


def lstm_step(x, state, weights, order=(0, 1, 2, 3), activations=(SIGMOID, SIGMOID, TANH, SIGMOID),
              output_tanh=True, drop_b_x=False, drop_b_h=False, swap_f_i=False):
    """order[k] is the row block used for gate k of (i, f, g, o)."""
    h, c = state
    parts = blocks(weights, 4)
    i, f, g, o = (gate(x, h, *parts[order[k]], activation=activations[k], drop_b_x=drop_b_x,
                       drop_b_h=drop_b_h) for k in range(4))
    if swap_f_i:
        i, f = f, i
    c_next = f * c + i * g
    return o * (torch.tanh(c_next) if output_tanh else c_next), c_next


def gru_step(x, h, weights, order=(0, 1, 2), reset_before_product=False, b_hn_outside_reset=False,
             swap_z=False, no_reset=False, drop_b_x=False, drop_b_h=False, candidate_activation=TANH,
             gate_activations=(SIGMOID, SIGMOID)):
    """order[k] is the row block used for gate k of (r, z, n); gate_activations those of r and z."""
    parts = blocks(weights, 3)
    r = gate(x, h, *parts[order[0]], activation=gate_activations[0], drop_b_x=drop_b_x, drop_b_h=drop_b_h)
    z = gate(x, h, *parts[order[1]], activation=gate_activations[1], drop_b_x=drop_b_x, drop_b_h=drop_b_h)
    w_in, w_hn, b_in, b_hn = parts[order[2]]
    b_in = None if drop_b_x else b_in
    b_hn = None if drop_b_h else b_hn
    n = candidate_activation(gru_candidate_preactivation(x, h, r, w_in, w_hn, b_in, b_hn, reset_before_product,
                                                         b_hn_outside_reset, no_reset))
    return z * n + (1 - z) * h if swap_z else (1 - z) * n + z * h


def gru_candidate_preactivation(x, h, r, w_in, w_hn, b_in, b_hn, reset_before_product=False,
                                b_hn_outside_reset=False, no_reset=False):
    from_x = linear(x, w_in, b_in)
    if no_reset:
        return from_x + linear(h, w_hn, b_hn)
    if reset_before_product:
        return from_x + linear(r * h, w_hn, b_hn)
    if b_hn_outside_reset:
        return from_x + (0 if b_hn is None else b_hn) + r * linear(h, w_hn)
    return from_x + r * linear(h, w_hn, b_hn)


def unroll(step, x, state, batch_first=False, ignore_batch_first=False, emit_previous=False,
           state_not_carried=False):
    """Run `step(x_t, state) -> state` over time; returns (output, final state) like torch.nn.RNN/LSTM/GRU.

    ignore_batch_first: the mistake of reading a batch-first input as time-first.
    emit_previous: the mistake of recording the state *before* each step in the output.
    state_not_carried: the mistake of starting every step from the initial state.
    """
    sequence = x.transpose(0, 1) if batch_first and not ignore_batch_first else x
    outputs = []
    initial = state
    for x_t in sequence:
        previous = state
        state = step(x_t, initial if state_not_carried else state)
        hidden = (previous if emit_previous else state)
        outputs.append(hidden[0] if isinstance(hidden, tuple) else hidden)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first and not ignore_batch_first else output), state


def rnn_bptt(x, h0, weights, grad_h_T, recursion="full", tanh_derivative=True, weight_uses_current=False):
    """Manual BPTT of the tanh RNN, with optional mistakes; returns the five gradients.

    recursion: "full" (right), "last_step_only" (stops after step T), "not_propagated" (every step
    receives grad_h_T instead of the gradient carried back through W_hh).
    """
    weight_hh = weights[1]
    states = [h0]
    for x_t in x:
        states.append(rnn_step(x_t, states[-1], weights))
    grads = [torch.zeros_like(w) for w in weights]
    grad_h = grad_h_T
    for t in range(len(x), 0, -1):
        h_t, h_prev = states[t], states[t - 1]
        grad_pre = grad_h * (1 - h_t ** 2) if tanh_derivative else grad_h
        grads[0] += grad_pre.T @ x[t - 1]
        grads[1] += grad_pre.T @ (h_t if weight_uses_current else h_prev)
        grads[2] += grad_pre.sum(0)
        grads[3] += grad_pre.sum(0)
        carried = grad_pre @ weight_hh
        if recursion == "last_step_only":
            return (*grads, carried if t == 1 else torch.zeros_like(h0))
        grad_h = grad_h_T if recursion == "not_propagated" and t > 1 else carried
    return (*grads, grad_h)


def step_jacobian_norms(x, h0, weights, derivative=True, transposed=False, shifted=False, norm="fro",
                        reverse=False):
    """Norms of d h_T / d h_t from products of step Jacobians, with optional mistakes."""
    weight_hh = weights[1]
    states = [h0[None]]
    for x_t in x:
        states.append(rnn_step(x_t[None], states[-1], weights))
    states = [s[0] for s in states]
    steps = len(x)
    eye = torch.eye(h0.shape[0], dtype=h0.dtype, device=h0.device)
    product, norms = eye, [torch.linalg.matrix_norm(eye, ord=norm)]
    for t in range(steps, 0, -1):
        h_used = states[t - 1] if shifted else states[t]
        scale = (1 - h_used ** 2) if derivative else torch.ones_like(h_used)
        step = scale[:, None] * (weight_hh.T if transposed else weight_hh)
        product = product @ step
        norms.append(torch.linalg.matrix_norm(product, ord=norm))
    norms = torch.stack(norms)
    return norms if reverse else norms.flip(0)
