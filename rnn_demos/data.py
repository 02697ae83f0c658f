"""Small synthetic sequences for the chapters: a noisy periodic signal, AR processes, Markov chains.

Every generator takes a `seed` and returns numpy arrays, so a page draws the same data on every build.
"""
import numpy as np


def _check_length(n_steps):
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")


def noisy_periodic_signal(n_steps, period=50.0, noise_std=0.1, seed=0):
    """x_t = sin(2 pi t / period) + 0.5 sin(6 pi t / period) + Gaussian noise, for t = 0 .. n_steps-1."""
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
    """A sample of x_t = bias + sum_i coefficients[i] * x_{t-1-i} + noise_std * e_t, e_t ~ N(0, 1).

    `coefficients[0]` weighs the most recent value. The first `burn_in` steps are dropped so that the
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
        x[t] = bias + coefficients @ x[t - tau:t][::-1] + noise[t]
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
    """Symbols s_0 .. s_{n_steps-1} of a Markov chain with P(s_t = j | s_{t-1} = i) = transition[i, j]."""
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
