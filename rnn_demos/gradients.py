"""How strongly the state at time T depends on the state at an earlier time t.

Every curve here is `norms[k] = ||d h_T / d h_(T-k)||` for k = 0..T (spectral norm, so norms[0] = 1):
the largest factor by which a small change of the hidden state k steps back can be amplified in the
last state. The numbers come from closed-form one-step Jacobians multiplied backwards through time
(numpy, no autograd), following PyTorch's cell equations:

- RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh)
- LSTM: rows i, f, g, o; c' = f*c + i*g, h' = o*tanh(c')
- GRU:  rows r, z, n; n = tanh(W_in x + b_in + r*(W_hn h + b_hn)), h' = (1-z)*n + z*h

`cell_gradient_norms` computes the same curve with torch autograd for any cell a student writes.
"""
import numpy as np

# The weights and inputs the curves start from are data generators (rnn_demos.data).
from rnn_demos.data import CellWeights, check_positive, random_cell_weights, random_inputs

ACTIVATIONS = ("sigmoid", "tanh", "relu")


# ----- one-step Jacobians -----

def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _activation_and_slope(name, a):
    if name == "tanh":
        value = np.tanh(a)
        return value, 1.0 - value**2
    if name == "sigmoid":
        value = _sigmoid(a)
        return value, value * (1.0 - value)
    if name == "relu":
        return np.maximum(a, 0.0), (a > 0).astype(a.dtype)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def _rnn_step_jacobians(weights, inputs, activation):
    h = np.zeros(weights.weight_hh.shape[1])
    jacobians = []
    for x in inputs:
        a = weights.weight_ih @ x + weights.bias_ih + weights.weight_hh @ h + weights.bias_hh
        h, slope = _activation_and_slope(activation, a)
        jacobians.append(slope[:, None] * weights.weight_hh)
    return jacobians


def _lstm_step_jacobians(weights, inputs):
    """Jacobians of the state (h', c') with respect to (h, c): 2H x 2H, one per input step."""
    hidden = weights.weight_hh.shape[1]
    w_i, w_f, w_g, w_o = np.split(weights.weight_hh, 4)
    h, c = np.zeros(hidden), np.zeros(hidden)
    jacobians = []
    for x in inputs:
        a = weights.weight_ih @ x + weights.bias_ih + weights.weight_hh @ h + weights.bias_hh
        a_i, a_f, a_g, a_o = np.split(a, 4)
        i, f, g, o = _sigmoid(a_i), _sigmoid(a_f), np.tanh(a_g), _sigmoid(a_o)
        c_new = f * c + i * g
        tanh_c = np.tanh(c_new)
        dc_dh = ((c * f * (1 - f))[:, None] * w_f + (g * i * (1 - i))[:, None] * w_i
                 + (i * (1 - g**2))[:, None] * w_g)
        through_c = o * (1 - tanh_c**2)
        dh_dh = (tanh_c * o * (1 - o))[:, None] * w_o + through_c[:, None] * dc_dh
        jacobians.append(np.block([[dh_dh, np.diag(through_c * f)], [dc_dh, np.diag(f)]]))
        h, c = o * tanh_c, c_new
    return jacobians


def _gru_step_jacobians(weights, inputs):
    hidden = weights.weight_hh.shape[1]
    w_r, w_z, w_n = np.split(weights.weight_hh, 3)
    h = np.zeros(hidden)
    jacobians = []
    for x in inputs:
        ax_r, ax_z, ax_n = np.split(weights.weight_ih @ x + weights.bias_ih, 3)
        ah_r, ah_z, ah_n = np.split(weights.weight_hh @ h + weights.bias_hh, 3)
        r, z = _sigmoid(ax_r + ah_r), _sigmoid(ax_z + ah_z)
        n = np.tanh(ax_n + r * ah_n)
        dn_dh = (1 - n**2)[:, None] * (r[:, None] * w_n + (ah_n * r * (1 - r))[:, None] * w_r)
        dh_dh = ((1 - z)[:, None] * dn_dh + np.diag(z) + ((h - n) * z * (1 - z))[:, None] * w_z)
        jacobians.append(dh_dh)
        h = (1 - z) * n + z * h
    return jacobians


def _backward_products(jacobians):
    """[I, J_T, J_T J_(T-1), ...]: d s_T / d s_(T-k) for k = 0..T."""
    product = np.eye(jacobians[0].shape[0])
    products = [product]
    for jacobian in reversed(jacobians):
        product = product @ jacobian
        products.append(product)
    return np.stack(products)


def _spectral_norms(matrices):
    return np.linalg.norm(matrices, ord=2, axis=(-2, -1))


# ----- curves from given weights and inputs -----

def rnn_jacobian_norms(weights, inputs, activation="tanh"):
    """norms[k] = ||d h_T / d h_(T-k)|| for a vanilla RNN cell run from h_0 = 0 over `inputs`."""
    _check_inputs(weights, inputs)
    return _spectral_norms(_backward_products(_rnn_step_jacobians(weights, inputs, activation)))


def lstm_jacobian_norms(weights, inputs):
    """(h_norms, c_norms): ||d h_T / d h_(T-k)|| (c_(T-k) held fixed) and ||d c_T / d c_(T-k)||."""
    _check_inputs(weights, inputs)
    hidden = weights.weight_hh.shape[1]
    products = _backward_products(_lstm_step_jacobians(weights, inputs))
    return _spectral_norms(products[:, :hidden, :hidden]), _spectral_norms(products[:, hidden:, hidden:])


def gru_jacobian_norms(weights, inputs):
    """norms[k] = ||d h_T / d h_(T-k)|| for a GRU cell run from h_0 = 0 over `inputs`."""
    _check_inputs(weights, inputs)
    return _spectral_norms(_backward_products(_gru_step_jacobians(weights, inputs)))


# ----- the demo curves: random weights chosen by a few knobs -----

def rnn_gradient_norms(activation="tanh", spectral_radius=1.0, steps=50, hidden_size=32,
                       input_size=4, seed=0):
    """||d h_T / d h_(T-k)|| for k = 0..steps, for a random RNN whose W_hh has the given spectral radius."""
    weights = random_cell_weights("rnn", input_size, hidden_size, spectral_radius, seed)
    return rnn_jacobian_norms(weights, random_inputs(steps, input_size, seed), activation)


def rnn_active_share(spectral_radius, steps=50, hidden_size=32, input_size=4, seed=0):
    """The share of the units of the demo's ReLU RNN that are active (a > 0, slope 1), averaged over the steps."""
    weights = random_cell_weights("rnn", input_size, hidden_size, spectral_radius, seed)
    h, active = np.zeros(hidden_size), []
    for x in random_inputs(steps, input_size, seed):
        a = weights.weight_ih @ x + weights.bias_ih + weights.weight_hh @ h + weights.bias_hh
        h = np.maximum(a, 0.0)
        active.append(np.mean(a > 0))
    return float(np.mean(active))


def lstm_gradient_norms(forget_bias=1.0, recurrent_scale=1.0, steps=50, hidden_size=32,
                        input_size=4, seed=0):
    """(h_norms, c_norms) for a random LSTM whose forget-gate bias is `forget_bias` in every unit."""
    weights = random_cell_weights("lstm", input_size, hidden_size, recurrent_scale, seed,
                                  gate_bias={"f": forget_bias})
    return lstm_jacobian_norms(weights, random_inputs(steps, input_size, seed))


def gru_gradient_norms(update_bias=0.0, recurrent_scale=1.0, steps=50, hidden_size=32,
                       input_size=4, seed=0):
    """||d h_T / d h_(T-k)|| for a random GRU whose update-gate bias is `update_bias` in every unit."""
    weights = random_cell_weights("gru", input_size, hidden_size, recurrent_scale, seed,
                                  gate_bias={"z": update_bias})
    return gru_jacobian_norms(weights, random_inputs(steps, input_size, seed))


# ----- sequence models: how far back a prediction looks -----

def ar_influence(coefficients, horizon):
    """d xhat_t / d x_(t-k) for k = 1..horizon: coefficients[k-1] up to tau, then 0.

    The coefficients are listed by lag, `coefficients[k-1]` weighing x_(t-k): the window's weights
    w_1 .. w_tau (oldest first, the course's notation) reversed."""
    coefficients = np.asarray(coefficients, dtype=float)
    if coefficients.ndim != 1 or coefficients.size == 0:
        raise ValueError(f"coefficients must be a non-empty 1-D array, got shape {coefficients.shape}")
    check_positive(horizon=horizon)
    influence = np.zeros(horizon)
    used = min(horizon, coefficients.size)
    influence[:used] = coefficients[:used]
    return influence


def latent_influence(recurrent_weight, horizon, input_weight=1.0, output_weight=1.0):
    """d xhat_(t+1) / d x_(t+1-k), k = 1..horizon, for h_t = a h_(t-1) + u x_t and xhat_(t+1) = v h_t.

    The closed form is v * a**(k-1) * u: geometric decay when |a| < 1, growth when |a| > 1.
    """
    check_positive(horizon=horizon)
    return output_weight * recurrent_weight ** np.arange(horizon, dtype=float) * input_weight


# ----- a student's own cell, through autograd -----

def cell_gradient_norms(step, input_size, hidden_size, steps=50, seed=0, cell_state=False, inputs=None):
    """||d h_T / d h_(T-k)|| for k = 0..steps for any cell `step(x_t, state) -> state`, via torch autograd.

    `state` is a tensor h of shape (1, hidden_size), or a pair (h, c) when `cell_state` is True
    (an LSTM). The cell runs from a zero state over `random_inputs(steps, input_size, seed)` (or the
    given `inputs`, shape (steps, input_size)), in the default torch dtype. For an LSTM, c_(T-k) is
    held fixed, as in `lstm_jacobian_norms`.
    """
    import torch

    check_positive(input_size=input_size, hidden_size=hidden_size, steps=steps)
    if inputs is None:
        inputs = random_inputs(steps, input_size, seed)
    inputs = torch.as_tensor(np.asarray(inputs), dtype=torch.get_default_dtype())
    if inputs.shape != (steps, input_size):
        raise ValueError(f"inputs must have shape {(steps, input_size)}, got {tuple(inputs.shape)}")
    h = torch.zeros(1, hidden_size, requires_grad=True)
    state = (h, torch.zeros(1, hidden_size)) if cell_state else h
    hidden_states = [h]
    for t in range(steps):
        state = step(inputs[t:t + 1], state)
        h = _hidden_part(state, cell_state, hidden_size, t)
        hidden_states.append(h)
    last = hidden_states[-1]
    rows = []
    for unit in range(hidden_size):
        grads = torch.autograd.grad(last[0, unit], hidden_states, retain_graph=True, allow_unused=True)
        rows.append([np.zeros(hidden_size) if g is None else g[0].detach().double().numpy() for g in grads])
    jacobians = np.array(rows).transpose(1, 0, 2)  # (time, unit of h_T, unit of h_t)
    return _spectral_norms(jacobians[::-1].copy())


def _hidden_part(state, cell_state, hidden_size, t):
    import torch

    if cell_state:
        if not (isinstance(state, tuple) and len(state) == 2):
            raise TypeError(f"step {t}: an LSTM step must return a pair (h, c), got {type(state).__name__}")
        state = state[0]
    if not isinstance(state, torch.Tensor):
        raise TypeError(f"step {t}: the cell must return a tensor h, got {type(state).__name__}")
    if tuple(state.shape) != (1, hidden_size):
        raise ValueError(f"step {t}: h must have shape (1, {hidden_size}), got {tuple(state.shape)}")
    if not state.requires_grad:
        raise ValueError(f"step {t}: h does not depend on the previous state (no gradient flows through it)")
    return state


def _check_inputs(weights, inputs):
    inputs = np.asarray(inputs)
    if inputs.ndim != 2 or inputs.shape[0] == 0 or inputs.shape[1] != weights.weight_ih.shape[1]:
        raise ValueError(f"inputs must have shape (steps >= 1, {weights.weight_ih.shape[1]}), "
                         f"got {inputs.shape}")
