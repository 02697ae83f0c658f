"""Backpropagation through time for an Elman RNN, written out by hand (no autograd).

Shapes follow torch.nn.RNN with batch_first=False: inputs (T, batch, input_size), states
(batch, hidden_size), W_ih (hidden_size, input_size), W_hh (hidden_size, hidden_size).
The cell is PyTorch's: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu.
"""
from dataclasses import dataclass

import torch

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}
# Upper bounds of |act'(a)|, used by the vanishing-gradient bound (gamma * ||W_hh||)^k.
DERIVATIVE_BOUNDS = {"sigmoid": 0.25, "tanh": 1.0, "relu": 1.0}


@dataclass
class RNNWeights:
    W_ih: torch.Tensor
    W_hh: torch.Tensor
    b_ih: torch.Tensor
    b_hh: torch.Tensor

    @classmethod
    def from_module(cls, module):
        """The weights of a one-layer torch.nn.RNN or torch.nn.RNNCell, detached."""
        suffix = "_l0" if isinstance(module, torch.nn.RNN) else ""
        return cls(*(getattr(module, f"{name}{suffix}").detach().clone()
                     for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))


@dataclass
class RNNGradients:
    W_ih: torch.Tensor
    W_hh: torch.Tensor
    b_ih: torch.Tensor
    b_hh: torch.Tensor
    h0: torch.Tensor
    hidden: torch.Tensor  # dL/dh_t for t = 1 .. T, total (through every later step), shape (T, batch, H)


def _activation(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


def activation_derivative(hidden, activation="tanh"):
    """act'(a_t) written through h_t = act(a_t): 1 - h_t^2 for tanh, 1[h_t > 0] for relu."""
    _activation(activation)
    if activation == "tanh":
        return 1 - hidden ** 2
    return (hidden > 0).to(hidden.dtype)


def _check_shapes(inputs, h0, weights):
    if inputs.dim() != 3:
        raise ValueError(f"inputs must have shape (T, batch, input_size), got {tuple(inputs.shape)}")
    hidden_size, input_size = weights.W_ih.shape
    if inputs.shape[2] != input_size:
        raise ValueError(f"inputs have {inputs.shape[2]} features but W_ih expects {input_size}")
    if tuple(weights.W_hh.shape) != (hidden_size, hidden_size):
        raise ValueError(f"W_hh must have shape {(hidden_size, hidden_size)}, got {tuple(weights.W_hh.shape)}")
    if tuple(h0.shape) != (inputs.shape[1], hidden_size):
        raise ValueError(f"h0 must have shape {(inputs.shape[1], hidden_size)}, got {tuple(h0.shape)}")


def rnn_forward(inputs, h0, weights, activation="tanh"):
    """Hidden states h_0 .. h_T stacked into shape (T + 1, batch, hidden_size)."""
    act = _activation(activation)
    _check_shapes(inputs, h0, weights)
    states = [h0]
    with torch.no_grad():
        for x in inputs:
            states.append(act(x @ weights.W_ih.T + weights.b_ih + states[-1] @ weights.W_hh.T + weights.b_hh))
    return torch.stack(states)


def rnn_backward(inputs, states, weights, grad_states, activation="tanh"):
    """Gradients of a loss L(h_1, ..., h_T) given its direct partials grad_states[t-1] = dL/dh_t.

    The total gradient flows backwards in time:
        delta_T = dL/dh_T,  delta_t = dL/dh_t + (delta_{t+1} * act'(a_{t+1})) W_hh,
    and each weight gradient is a sum over time of the same pre-activation gradient
    e_t = delta_t * act'(a_t):  dL/dW_ih = sum_t e_t^T x_t,  dL/dW_hh = sum_t e_t^T h_{t-1},
    dL/db_ih = dL/db_hh = sum_t e_t (summed over the batch too), dL/dh_0 = e_1 W_hh.
    """
    _check_shapes(inputs, states[0], weights)
    steps = inputs.shape[0]
    if tuple(states.shape) != (steps + 1,) + tuple(states.shape[1:]):
        raise ValueError(f"states must hold h_0 .. h_T, {steps + 1} entries, got {states.shape[0]}")
    if tuple(grad_states.shape) != (steps,) + tuple(states.shape[1:]):
        raise ValueError(f"grad_states must have shape {(steps,) + tuple(states.shape[1:])}, "
                         f"got {tuple(grad_states.shape)}")
    with torch.no_grad():
        grad_W_ih = torch.zeros_like(weights.W_ih)
        grad_W_hh = torch.zeros_like(weights.W_hh)
        grad_bias = torch.zeros_like(weights.b_ih)
        totals = torch.zeros_like(grad_states)
        # The part of delta_t that comes from later steps: e_{t+1} W_hh.
        from_later = torch.zeros_like(states[0])
        for t in range(steps, 0, -1):
            delta = grad_states[t - 1] + from_later
            totals[t - 1] = delta
            slope = activation_derivative(states[t], activation)
            pre_activation = delta * slope  # e_t = dL/da_t
            grad_W_ih += pre_activation.T @ inputs[t - 1]
            grad_W_hh += pre_activation.T @ states[t - 1]
            grad_bias += pre_activation.sum(dim=0)
            from_later = pre_activation @ weights.W_hh
    return RNNGradients(W_ih=grad_W_ih, W_hh=grad_W_hh, b_ih=grad_bias,
                        b_hh=grad_bias.clone(), h0=from_later, hidden=totals)


def step_jacobian(hidden, W_hh, activation="tanh"):
    """d h_k / d h_{k-1} = diag(act'(a_k)) W_hh, for one state h_k of shape (hidden_size,)."""
    if hidden.dim() != 1:
        raise ValueError(f"step_jacobian takes one unbatched state of shape (hidden_size,), got {tuple(hidden.shape)}")
    return activation_derivative(hidden, activation)[:, None] * W_hh


def state_jacobians(states, W_hh, activation="tanh"):
    """d h_T / d h_t for t = T, T-1, ..., 0, from unbatched states h_0 .. h_T of shape (T + 1, H).

    d h_T / d h_t = J_T J_{T-1} ... J_{t+1} with J_k = diag(act'(a_k)) W_hh; entry j of the result
    is the Jacobian across j steps (entry 0 is the identity).
    """
    if states.dim() != 2:
        raise ValueError(f"states must have shape (T + 1, hidden_size), got {tuple(states.shape)}")
    product = torch.eye(states.shape[1], dtype=states.dtype)
    jacobians = [product]
    for k in range(states.shape[0] - 1, 0, -1):
        product = product @ step_jacobian(states[k], W_hh, activation)
        jacobians.append(product)
    return jacobians


def jacobian_norm_bound(W_hh, steps, activation="tanh"):
    """(gamma * ||W_hh||_2)^steps, where gamma bounds |act'|: an upper bound of ||d h_T / d h_{T-steps}||_2."""
    if activation not in DERIVATIVE_BOUNDS:
        raise ValueError(f"activation must be one of {sorted(DERIVATIVE_BOUNDS)}, got {activation!r}")
    return (DERIVATIVE_BOUNDS[activation] * torch.linalg.matrix_norm(W_hh, ord=2).item()) ** steps


def recurrent_matrix(hidden_size, spectral_radius, seed=0, dtype=torch.float64):
    """spectral_radius * Q with Q a random orthogonal matrix: every singular value equals spectral_radius."""
    generator = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(hidden_size, hidden_size, generator=generator, dtype=dtype))
    return spectral_radius * q * torch.sign(torch.diagonal(r))


# ---- gradient clipping -------------------------------------------------------------------------

def global_norm(gradients):
    """The 2-norm of all gradients taken together as one long vector."""
    return torch.sqrt(sum((g ** 2).sum() for g in gradients))


def clip_by_norm(gradients, max_norm):
    """g <- g * min(1, max_norm / ||g||) with one global norm: keeps the direction (Pascanu et al. 2013)."""
    if max_norm <= 0:
        raise ValueError(f"max_norm must be positive, got {max_norm!r}")
    norm = global_norm(gradients).item()
    scale = 1.0 if norm <= max_norm else max_norm / norm
    return [g * scale for g in gradients]


def clip_by_value(gradients, max_value):
    """Each element clamped to [-max_value, max_value]: bounded, but the direction changes."""
    if max_value <= 0:
        raise ValueError(f"max_value must be positive, got {max_value!r}")
    return [g.clamp(-max_value, max_value) for g in gradients]


def cosine_similarity(first, second):
    """Cosine of the angle between two lists of tensors, each flattened into one vector."""
    a = torch.cat([g.flatten() for g in first])
    b = torch.cat([g.flatten() for g in second])
    return (a @ b / (a.norm() * b.norm())).item()
