"""Reference results for every exercise, computed by PyTorch's own modules wherever one exists.

Cells and sequences come from torch.nn.RNNCell/LSTMCell/GRUCell and torch.nn.RNN/LSTM/GRU with the
given weights copied in; gradients from autograd; clipping from torch.nn.utils.clip_grad_norm_;
AR fits from torch.linalg.lstsq. Per-gate activations follow PyTorch's documented cell equations;
tests/test_checks.py asserts that gates assembled with those equations reproduce nn.LSTMCell/GRUCell.
"""
import warnings

import torch
from torch import nn


def _module_with_weights(module_class, weights, **options):
    """A torch.nn recurrent module on the weights' device and dtype, holding copies of `weights`."""
    weight_ih, weight_hh, bias_ih, bias_hh = weights
    hidden_size = weight_hh.shape[1]
    module = module_class(weight_ih.shape[1], hidden_size, device=weight_ih.device,
                          dtype=weight_ih.dtype, **options)
    suffix = "" if isinstance(module, nn.RNNCellBase) else "_l0"
    with torch.no_grad():
        for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), weights):
            getattr(module, name + suffix).copy_(value)
    if isinstance(module, nn.RNNBase):
        module.flatten_parameters()  # one cuDNN weight buffer again (else a warning on every call)
    return module


def _call_module(module_class, weights, args, **options):
    """Call a torch.nn recurrent module whose parameters *are* `weights` (torch.func.functional_call), so
    that autograd reaches the given tensors (the hidden checks compare gradients through the reference)."""
    weight_ih, weight_hh = weights[0], weights[1]
    module = module_class(weight_ih.shape[1], weight_hh.shape[1], device="meta", dtype=weight_ih.dtype, **options)
    suffix = "" if isinstance(module, nn.RNNCellBase) else "_l0"
    params = {name + suffix: value for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), weights)}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*contiguous chunk of memory.*")
        return torch.func.functional_call(module, params, args)


# ----- sequence models -----

def ar_design_matrix(x, tau):
    if tau < 1 or tau >= x.shape[0]:
        raise ValueError(f"tau must be in 1..T-1, got tau={tau} for T={x.shape[0]}")
    return x.unfold(0, tau, 1)[:-1].clone(), x[tau:].clone()


def fit_ar(x, tau):
    design, target = ar_design_matrix(x.double(), tau)
    with_intercept = torch.cat([design, torch.ones_like(target)[:, None]], dim=1)
    solution = torch.linalg.lstsq(with_intercept.cpu(), target.cpu()[:, None]).solution[:, 0]
    solution = solution.to(dtype=x.dtype, device=x.device)
    return solution[:-1], solution[-1]


def predict_ahead(history, w, b, k):
    window = list(history[-w.shape[0]:])
    predictions = []
    for _ in range(k):
        value = torch.dot(torch.stack(window[-w.shape[0]:]), w) + b
        predictions.append(value)
        window.append(value)
    return torch.stack(predictions)


def transition_matrix(states, n_states):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64, device=states.device)
    counts.index_put_((states[:-1], states[1:]), torch.ones(len(states) - 1, dtype=torch.float64,
                                                              device=states.device), accumulate=True)
    totals = counts.sum(dim=1, keepdim=True)
    uniform = torch.full_like(counts, 1.0 / n_states)
    return torch.where(totals > 0, counts / totals.clamp(min=1), uniform)


def markov_log_likelihood(states, A, p0):
    return torch.log(p0[states[0]]) + torch.log(A[states[:-1], states[1:]]).sum()


def latent_update(h, x, W_hh, W_ih):
    return nn.functional.linear(h, W_hh) + nn.functional.linear(x, W_ih)


def _single_layer_forward(layer_class, x, h0, weights, batch_first):
    """(output, h_n) of a one-layer nn.RNN or nn.GRU with these weights; h0 and h_n are (batch, hidden)."""
    output, h_n = _call_module(layer_class, weights, (x, h0[None]), batch_first=batch_first)
    return output, h_n[0]


# ----- RNN -----

def rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    if nonlinearity not in ("tanh", "relu"):  # nn.RNNCell only fails later, with a RuntimeError
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return _call_module(nn.RNNCell, (weight_ih, weight_hh, bias_ih, bias_hh), (x, h), nonlinearity=nonlinearity)


def rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    return _single_layer_forward(nn.RNN, x, h0, (weight_ih, weight_hh, bias_ih, bias_hh), batch_first)


def rnn_bptt(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    leaves = [t.detach().clone().requires_grad_(True) for t in (weight_ih, weight_hh, bias_ih, bias_hh, h0)]
    rnn = nn.RNN(x.shape[2], h0.shape[1], device=x.device, dtype=x.dtype)
    params = dict(zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), leaves[:4]))
    with torch.enable_grad():
        _, h_n = torch.func.functional_call(rnn, params, (x, leaves[4][None]))
        return torch.autograd.grad((h_n[0] * grad_h_T).sum(), leaves)


def hidden_states(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    """h_0..h_T (T+1, hidden) of a tanh RNN on one sequence x (T, input)."""
    output, _ = rnn_forward(x[:, None], h0[None], weight_ih, weight_hh, bias_ih, bias_hh)
    return torch.cat([h0[None], output[:, 0]])


def hidden_gradient_norms(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    """Frobenius norm of d h_T / d h_t for t = 0..T, the Jacobians taken by autograd through nn.RNNCell."""
    weights = tuple(w.detach() for w in (weight_ih, weight_hh, bias_ih, bias_hh))
    eye = torch.eye(h0.shape[0], dtype=x.dtype, device=x.device)
    with torch.enable_grad():
        states = [h0.detach().clone().requires_grad_(True)]
        for x_t in x:
            states.append(_call_module(nn.RNNCell, weights, (x_t[None], states[-1][None]))[0])
        # Row i of every d h_T / d h_t from one backward pass of h_T[i] (a scalar: passing grad_outputs
        # would make autograd import sympy, seconds on a first call).
        rows = [torch.autograd.grad(states[-1][i], states[:-1], retain_graph=True) for i in range(len(eye))]
    jacobians = [torch.stack([row[t] for row in rows]) for t in range(len(x))]
    return torch.stack([torch.linalg.matrix_norm(j) for j in jacobians] + [torch.linalg.matrix_norm(eye)])


def clip_grad_norm(grads, max_norm):
    parameters = []
    for grad in grads:
        parameter = nn.Parameter(torch.zeros_like(grad))
        parameter.grad = grad.detach().clone()
        parameters.append(parameter)
    total_norm = nn.utils.clip_grad_norm_(parameters, max_norm)
    return [p.grad for p in parameters], total_norm


# ----- LSTM -----

def gate_activation(x, h, w_x, w_h, b_x, b_h, activation):
    """activation(x w_x^T + b_x + h w_h^T + b_h): one LSTM gate, or the GRU's r and z."""
    return activation(nn.functional.linear(x, w_x, b_x) + nn.functional.linear(h, w_h, b_h))


def row_blocks(weights, n_blocks):
    """Split (weight_ih, weight_hh, bias_ih, bias_hh) into per-gate tuples (w_x, w_h, b_x, b_h)."""
    return list(zip(*(w.chunk(n_blocks, dim=0) for w in weights)))


LSTM_GATES = {"i": torch.sigmoid, "f": torch.sigmoid, "g": torch.tanh, "o": torch.sigmoid}
GRU_GATES = ("r", "z", "n")


def lstm_gates(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """Gate activations {i, f, g, o} by PyTorch's LSTM equations (row blocks i, f, g, o)."""
    blocks = row_blocks((weight_ih, weight_hh, bias_ih, bias_hh), 4)
    return {name: gate_activation(x, h, *block, activation)
            for (name, activation), block in zip(LSTM_GATES.items(), blocks)}


def cell_update(c, f, i, g):
    return f * c + i * g


def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    return _call_module(nn.LSTMCell, (weight_ih, weight_hh, bias_ih, bias_hh), (x, tuple(state)))


def lstm_forward(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    output, (h_n, c_n) = _call_module(nn.LSTM, (weight_ih, weight_hh, bias_ih, bias_hh),
                                      (x, (state0[0][None], state0[1][None])), batch_first=batch_first)
    return output, (h_n[0], c_n[0])


def parameter_count(module_class, input_size, hidden_size):
    return sum(p.numel() for p in module_class(input_size, hidden_size, device="meta").parameters())


# ----- GRU -----

def gru_candidate(x, h, r, W_in, W_hn, b_in, b_hn):
    """n = tanh(W_in x + b_in + r * (W_hn h + b_hn)): the reset acts after the product."""
    return torch.tanh(nn.functional.linear(x, W_in, b_in) + r * nn.functional.linear(h, W_hn, b_hn))


def gru_gates(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """Gate activations {r, z, n} by PyTorch's GRU equations (row blocks r, z, n)."""
    reset, update, candidate = row_blocks((weight_ih, weight_hh, bias_ih, bias_hh), 3)
    r = gate_activation(x, h, *reset, torch.sigmoid)
    z = gate_activation(x, h, *update, torch.sigmoid)
    return {"r": r, "z": z, "n": gru_candidate(x, h, r, *candidate)}


def gru_hidden_update(h, z, n):
    return (1 - z) * n + z * h


def gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    return _call_module(nn.GRUCell, (weight_ih, weight_hh, bias_ih, bias_hh), (x, h))


def gru_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    return _single_layer_forward(nn.GRU, x, h0, (weight_ih, weight_hh, bias_ih, bias_hh), batch_first)
