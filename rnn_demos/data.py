"""Data generators: the synthetic sequences of the chapters and the inputs the exercise notebooks start from.

A noisy periodic signal, AR processes and Markov chains (numpy, from a `seed`); the adding problem (torch,
from a generator); random weights and inputs for the gradient experiments. Every generator is seeded, so a
page or a notebook draws the same data on every run.

This module is the only part of the course package that the grader's sandbox holds (the notebooks' locked
cells import their data from it), so it imports nothing but numpy, torch and the standard library: nothing
here computes an answer.
"""
from dataclasses import dataclass

import numpy as np
import torch


def _check_length(n_steps):
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")


def noisy_periodic_signal(n_steps, period=50.0, noise_std=0.1, seed=0):
    """sin(2 pi t / period) + 0.5 sin(6 pi t / period) + Gaussian noise at the array positions t = 0 .. n_steps-1."""
    _check_length(n_steps)
    if period <= 0:
        raise ValueError(f"period must be positive, got {period!r}")
    if noise_std < 0:
        raise ValueError(f"noise_std must be non-negative, got {noise_std!r}")
    t = np.arange(n_steps)
    phase = 2 * np.pi * t / period
    clean = np.sin(phase) + 0.5 * np.sin(3 * phase)
    return clean + noise_std * np.random.default_rng(seed).standard_normal(n_steps)


def simulate_autoregressive(coefficients, n_steps, noise_std=1.0, bias=0.0, seed=0, burn_in=200):
    """A sample of x_t = bias + w^T (x_{t-tau}, ..., x_{t-1}) + noise_std * e_t, e_t ~ N(0, 1), w = coefficients.

    The coefficients are in time order, oldest first, as the window (the course's notation):
    `coefficients[-1]` weighs the most recent value. The first `burn_in` steps are dropped so that the
    sample starts close to the stationary distribution (when the process has one).
    """
    _check_length(n_steps)
    coefficients = np.asarray(coefficients, dtype=float)
    if coefficients.ndim != 1 or coefficients.size == 0:
        raise ValueError(f"coefficients must be a non-empty 1-D sequence, got shape {coefficients.shape}")
    tau = coefficients.size
    total = n_steps + burn_in + tau
    noise = noise_std * np.random.default_rng(seed).standard_normal(total)
    x = np.zeros(total)
    for t in range(tau, total):
        x[t] = bias + coefficients @ x[t - tau:t] + noise[t]
    return x[-n_steps:]


def check_transition_matrix(transition):
    """Return `transition` as a float array after checking it is square and row-stochastic."""
    transition = np.asarray(transition, dtype=float)
    if transition.ndim != 2 or transition.shape[0] != transition.shape[1]:
        raise ValueError(f"a transition matrix must be square, got shape {transition.shape}")
    if np.any(transition < 0):
        raise ValueError("a transition matrix must have no negative entries")
    if not np.allclose(transition.sum(axis=1), 1.0):
        raise ValueError(f"each row of a transition matrix must sum to 1, got row sums {transition.sum(axis=1)}")
    return transition


def sample_markov_chain(transition, n_steps, initial_state=0, seed=0):
    """Symbols x_1 .. x_T (T = n_steps, from x_1 = initial_state) of a Markov chain with
    P(x_t = j | x_{t-1} = i) = transition[i, j] (the matrix A of the course's notation)."""
    transition = check_transition_matrix(transition)
    _check_length(n_steps)
    n_states = transition.shape[0]
    if not 0 <= initial_state < n_states:
        raise ValueError(f"initial_state must be in [0, {n_states}), got {initial_state!r}")
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(transition, axis=1)
    uniforms = rng.random(n_steps)
    states = np.empty(n_steps, dtype=np.int64)
    states[0] = initial_state
    for t in range(1, n_steps):
        row = cumulative[states[t - 1]]
        states[t] = min(np.searchsorted(row, uniforms[t], side="right"), n_states - 1)
    return states


# ----- the adding problem (Hochreiter and Schmidhuber, 1997) -----

def make_adding_batch(batch_size, length, generator=None):
    """Inputs of shape (batch, length, 2) [value, marker] and targets of shape (batch,).

    Values are uniform in [0, 1); the marker is 1 at exactly two steps, one in each half; the target is
    the sum of the two marked values.
    """
    if not isinstance(length, int) or length < 2:
        raise ValueError(f"length must be an int >= 2 (one marker in each half), got {length!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    values = torch.rand(batch_size, length, generator=generator)
    half = length // 2
    first = torch.randint(0, half, (batch_size,), generator=generator)
    second = torch.randint(half, length, (batch_size,), generator=generator)
    markers = torch.zeros(batch_size, length)
    rows = torch.arange(batch_size)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = values[rows, first] + values[rows, second]
    return torch.stack([values, markers], dim=-1), targets


# ----- random weights and inputs for the gradient experiments -----

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
GATE_ROWS = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


@dataclass(frozen=True)
class CellWeights:
    """Weights in PyTorch's layout: weight_ih (gates*H, I), weight_hh (gates*H, H), biases (gates*H,)."""

    weight_ih: np.ndarray
    weight_hh: np.ndarray
    bias_ih: np.ndarray
    bias_hh: np.ndarray

    def as_tuple(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh


def check_positive(**values):
    """ValueError unless every value is a positive integer."""
    for name, value in values.items():
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def random_inputs(steps, input_size, seed=0):
    """Standard normal inputs, shape (steps, input_size), float64."""
    check_positive(steps=steps, input_size=input_size)
    return np.random.default_rng(seed).standard_normal((steps, input_size))


def scaled_orthogonal_matrix(size, scale, rng):
    """`scale` times a random orthogonal matrix: every singular value, so its 2-norm and its spectral
    radius, equals `scale` (a Gaussian matrix with that spectral radius has a larger norm)."""
    if scale < 0:
        raise ValueError(f"spectral_radius must be >= 0, got {scale}")
    q, r = np.linalg.qr(rng.standard_normal((size, size)))
    return scale * q * np.sign(np.diag(r))


def matrix_with_spectral_radius(size, spectral_radius, rng):
    """A Gaussian square matrix rescaled so that its largest |eigenvalue| is exactly spectral_radius."""
    if spectral_radius < 0:
        raise ValueError(f"spectral_radius must be >= 0, got {spectral_radius}")
    matrix = rng.standard_normal((size, size))
    return matrix * (spectral_radius / np.max(np.abs(np.linalg.eigvals(matrix))))


def random_cell_weights(model, input_size, hidden_size, recurrent_scale=1.0, seed=0, gate_bias=None):
    """Random weights for an "rnn", "lstm" or "gru" cell.

    Each gate's recurrent block (H x H) has spectral radius `recurrent_scale`: for the RNN a scaled
    orthogonal matrix, whose 2-norm is that radius too, so that the bound (max|act'| * ||W_hh||)^k of the
    chapters reads directly off the knob; for the gated cells a rescaled Gaussian matrix, whose 2-norm is
    larger than its radius. Input weights have variance 1/input_size; biases are small. `gate_bias` sets
    every entry of one gate's bias: the forget gate of an LSTM (`{"f": 3.0}`) or the update gate of a GRU
    (`{"z": -1.0}`).
    """
    if model not in GATES:
        raise ValueError(f"model must be one of {sorted(GATES)}, got {model!r}")
    check_positive(input_size=input_size, hidden_size=hidden_size)
    rng = np.random.default_rng(seed)
    gates = GATES[model]
    recurrent_block = scaled_orthogonal_matrix if model == "rnn" else matrix_with_spectral_radius
    weight_hh = np.vstack([recurrent_block(hidden_size, recurrent_scale, rng) for _ in range(gates)])
    weight_ih = rng.standard_normal((gates * hidden_size, input_size)) / np.sqrt(input_size)
    bias_ih = 0.1 * rng.standard_normal(gates * hidden_size)
    bias_hh = 0.1 * rng.standard_normal(gates * hidden_size)
    for gate, value in (gate_bias or {}).items():
        rows = GATE_ROWS.get(model, ())
        if gate not in rows:
            raise ValueError(f"{model} has no gate {gate!r}; its gates are {rows}")
        block = slice(rows.index(gate) * hidden_size, (rows.index(gate) + 1) * hidden_size)
        bias_ih[block] = value
        bias_hh[block] = 0.0
    return CellWeights(weight_ih, weight_hh, bias_ih, bias_hh)
