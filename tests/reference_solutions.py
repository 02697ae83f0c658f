"""Correct solutions to every exercise, written the way a student would (plain tensor operations).

Used by tests/test_checks.py (they must pass every check) and tests/test_mutants.py (each mutant is
one of these with one realistic mistake).
"""
import torch


# ----- sequence_models -----

def ar_design_matrix(x, tau):
    if tau < 1 or tau >= len(x):
        raise ValueError(f"tau must satisfy 1 <= tau < T, got tau={tau}, T={len(x)}")
    X = torch.stack([x[i:i + tau] for i in range(len(x) - tau)])
    return X, x[tau:]


def fit_ar(x, tau):
    X, y = ar_design_matrix(x, tau)
    X1 = torch.cat([X, torch.ones(len(y), 1, dtype=x.dtype, device=x.device)], dim=1)
    solution = torch.linalg.lstsq(X1, y[:, None]).solution[:, 0]
    return solution[:-1], solution[-1]


def predict_ahead(history, w, b, k):
    window = history[-len(w):].clone()
    predictions = []
    for _ in range(k):
        value = window @ w + b
        predictions.append(value)
        window = torch.cat([window[1:], value[None]])
    return torch.stack(predictions)


def transition_matrix(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64, device=states.device)
    for a, b in zip(states[:-1], states[1:]):
        counts[a, b] += 1
    totals = counts.sum(dim=1, keepdim=True)
    P = counts / torch.where(totals == 0, torch.ones_like(totals), totals)
    P[totals[:, 0] == 0] = 1.0 / n_states
    return P


def markov_log_likelihood(states, P, p0):
    return torch.log(p0[states[0]]) + torch.log(P[states[:-1], states[1:]]).sum()


def latent_update(h, x, A, B):
    return h @ A.T + x @ B.T


# ----- rnn -----

def rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    if nonlinearity == "tanh":
        return torch.tanh(pre)
    if nonlinearity == "relu":
        return torch.relu(pre)
    raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


def rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        h = rnn_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


def rnn_bptt(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
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
        grad_h = grad_pre @ weight_hh
    return grad_w_ih, grad_w_hh, grad_b, grad_b.clone(), grad_h


def hidden_gradient_norms(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
    jacobian = torch.eye(len(h0), dtype=h0.dtype, device=h0.device)
    norms = [torch.linalg.matrix_norm(jacobian)]
    for t in range(len(x), 0, -1):
        jacobian = jacobian @ ((1 - states[t] ** 2)[:, None] * weight_hh)
        norms.append(torch.linalg.matrix_norm(jacobian))
    return torch.stack(norms[::-1])


def clip_grad_norm(grads, max_norm):
    total_norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    return [g * scale for g in grads], total_norm


# ----- lstm -----

def _gate(x, h, W_x, W_h, b_x, b_h):
    return x @ W_x.T + b_x + h @ W_h.T + b_h


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    return torch.sigmoid(_gate(x, h, W_if, W_hf, b_if, b_hf))


def input_gate(x, h, W_ii, W_hi, b_ii, b_hi):
    return torch.sigmoid(_gate(x, h, W_ii, W_hi, b_ii, b_hi))


def candidate(x, h, W_ig, W_hg, b_ig, b_hg):
    return torch.tanh(_gate(x, h, W_ig, W_hg, b_ig, b_hg))


def cell_update(c, f, i, g):
    return f * c + i * g


def output_gate_and_hidden(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.sigmoid(_gate(x, h, W_io, W_ho, b_io, b_ho))
    return o, o * torch.tanh(c_next)


def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    blocks = [w.chunk(4, dim=0) for w in (weight_ih, weight_hh, bias_ih, bias_hh)]
    i_w, f_w, g_w, o_w = zip(*blocks)
    i = input_gate(x, h, *i_w)
    f = forget_gate(x, h, *f_w)
    g = candidate(x, h, *g_w)
    c_next = cell_update(c, f, i, g)
    _, h_next = output_gate_and_hidden(x, h, c_next, *o_w)
    return h_next, c_next


def lstm_forward(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    state, outputs = state0, []
    for x_t in x:
        state = lstm_cell(x_t, state, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(state[0])
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), tuple(state)


def lstm_param_count(input_size, hidden_size):
    return 4 * (hidden_size * input_size + hidden_size * hidden_size + 2 * hidden_size)


# ----- gru -----

def reset_gate(x, h, W_ir, W_hr, b_ir, b_hr):
    return torch.sigmoid(_gate(x, h, W_ir, W_hr, b_ir, b_hr))


def update_gate(x, h, W_iz, W_hz, b_iz, b_hz):
    return torch.sigmoid(_gate(x, h, W_iz, W_hz, b_iz, b_hz))


def gru_candidate(x, h, r, W_in, W_hn, b_in, b_hn):
    return torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))


def gru_hidden_update(h, z, n):
    return (1 - z) * n + z * h


def gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    r_w, z_w, n_w = zip(*[w.chunk(3, dim=0) for w in (weight_ih, weight_hh, bias_ih, bias_hh)])
    r = reset_gate(x, h, *r_w)
    z = update_gate(x, h, *z_w)
    n = gru_candidate(x, h, r, *n_w)
    return gru_hidden_update(h, z, n)


def gru_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        h = gru_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


def parameter_counts(input_size, hidden_size):
    per_block = hidden_size * (input_size + hidden_size) + 2 * hidden_size
    return {"rnn": per_block, "gru": 3 * per_block, "lstm": 4 * per_block}


BY_CHECK_ID = {
    f"{assignment}.{fn.__name__}": fn
    for assignment, fns in {
        "sequence_models": [ar_design_matrix, fit_ar, predict_ahead, transition_matrix, markov_log_likelihood,
                            latent_update],
        "rnn": [rnn_cell, rnn_forward, rnn_bptt, hidden_gradient_norms, clip_grad_norm],
        "lstm": [forget_gate, input_gate, candidate, cell_update, output_gate_and_hidden, lstm_cell,
                 lstm_forward, lstm_param_count],
        "gru": [reset_gate, update_gate, gru_candidate, gru_hidden_update, gru_cell, gru_forward,
                parameter_counts],
    }.items()
    for fn in fns
}
