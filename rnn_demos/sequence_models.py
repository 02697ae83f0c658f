"""The three sequence models of chapter 1: autoregressive with a window, first-order Markov, latent state.

Plain numpy, so that a reader sees every operation.
"""
import numpy as np

from rnn_demos.data import check_transition_matrix


# ---- autoregressive model with a window of tau values -------------------------------------------

def _check_series(series, tau):
    series = np.asarray(series, dtype=float)
    if series.ndim != 1:
        raise ValueError(f"series must be 1-D, got shape {series.shape}")
    if isinstance(tau, bool) or not isinstance(tau, (int, np.integer)) or tau < 1:
        raise ValueError(f"tau must be a positive integer, got {tau!r}")
    if series.size <= tau:
        raise ValueError(f"series of length {series.size} is too short for a window of tau={tau}")
    return series


def lagged_features(series, tau):
    """Rows (x_{t-tau}, ..., x_{t-1}), the window in time order, oldest first, and targets x_t, for
    t = tau .. len(series)-1 (0-based positions: row i is series[i : i + tau], its target series[i + tau])."""
    series = _check_series(series, tau)
    n = series.size
    features = np.column_stack([series[start:n - tau + start] for start in range(tau)])
    return features, series[tau:]


def fit_autoregressive(series, tau):
    """Least-squares fit of x_t ~ bias + weights^T (x_{t-tau}, ..., x_{t-1}); returns (weights, bias).

    The weights are in the order of the window, oldest first: weights[-1] weighs x_{t-1}."""
    features, targets = lagged_features(series, tau)
    design = np.column_stack([features, np.ones(len(targets))])
    solution, *_ = np.linalg.lstsq(design, targets, rcond=None)
    return solution[:-1], solution[-1]


def _check_model(weights, bias):
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 1 or weights.size == 0:
        raise ValueError(f"weights must be a non-empty 1-D array, got shape {weights.shape}")
    return weights, float(bias)


def predict_k_steps_ahead(series, weights, bias, k):
    """Predictions of x_{t+k-1} made at time t from observed x_{t-tau} .. x_{t-1} only (weights oldest first).

    The model's own predictions fill the window for the k-1 steps in between. Entry j of the result
    predicts series[tau + k - 1 + j]; k = 1 is the ordinary one-step-ahead prediction.
    """
    weights, bias = _check_model(weights, bias)
    tau = weights.size
    series = _check_series(series, tau)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    n_predictions = series.size - tau - k + 1
    if n_predictions < 1:
        raise ValueError(f"series of length {series.size} is too short for tau={tau} and k={k}")
    # window[:, -1] is the most recent value, as in lagged_features.
    window = np.column_stack([series[start:start + n_predictions] for start in range(tau)])
    for _ in range(k):
        prediction = window @ weights + bias
        window = np.column_stack([window[:, 1:], prediction])
    return prediction


def k_step_mean_squared_errors(series, weights, bias, horizons):
    """Mean squared error of k-step-ahead predictions over the series, for each k in `horizons`."""
    tau = np.asarray(weights).size
    errors = []
    for k in horizons:
        prediction = predict_k_steps_ahead(series, weights, bias, k)
        errors.append(np.mean((prediction - np.asarray(series, dtype=float)[tau + k - 1:]) ** 2))
    return np.array(errors)


# ---- first-order Markov model ------------------------------------------------------------------

def _check_symbols(sequence, n_states):
    sequence = np.asarray(sequence)
    if sequence.ndim != 1 or sequence.size < 2:
        raise ValueError(f"sequence must be 1-D with at least two symbols, got shape {sequence.shape}")
    if not np.issubdtype(sequence.dtype, np.integer):
        raise ValueError(f"symbols must be integers, got dtype {sequence.dtype}")
    if sequence.min() < 0 or sequence.max() >= n_states:
        raise ValueError(f"symbols must lie in [0, {n_states}), got range [{sequence.min()}, {sequence.max()}]")
    return sequence


def transition_counts(sequence, n_states):
    """counts[i, j] = n_ij, the number of times symbol i is followed by symbol j."""
    sequence = _check_symbols(sequence, n_states)
    counts = np.zeros((n_states, n_states), dtype=np.int64)
    np.add.at(counts, (sequence[:-1], sequence[1:]), 1)
    return counts


def estimate_transition_matrix(sequence, n_states, pseudocount=0.0):
    """Maximum-likelihood (pseudocount 0) or smoothed estimate of A[i, j] = P(x_t = j | x_{t-1} = i).

    A state never followed by anything in the data has no estimate; its row is uniform.
    """
    if pseudocount < 0:
        raise ValueError(f"pseudocount must be non-negative, got {pseudocount!r}")
    counts = transition_counts(sequence, n_states) + pseudocount
    totals = counts.sum(axis=1, keepdims=True)
    uniform = np.full((n_states, n_states), 1.0 / n_states)
    return np.divide(counts, totals, out=uniform, where=totals > 0)


def markov_log_likelihood(sequence, transition):
    """log P(x_2, ..., x_T | x_1) = sum_{t=2}^T log A[x_{t-1}, x_t] (natural log), A = transition."""
    transition = check_transition_matrix(transition)
    sequence = _check_symbols(sequence, transition.shape[0])
    with np.errstate(divide="ignore"):
        return float(np.sum(np.log(transition[sequence[:-1], sequence[1:]])))


def stationary_distribution(transition):
    """The distribution pi with pi = pi @ transition (left eigenvector for eigenvalue 1)."""
    transition = check_transition_matrix(transition)
    eigenvalues, eigenvectors = np.linalg.eig(transition.T)
    vector = np.real(eigenvectors[:, np.argmin(np.abs(eigenvalues - 1.0))])
    return vector / vector.sum()


# ---- latent autoregressive model ---------------------------------------------------------------

def run_latent_state(update, initial_state, inputs):
    """The states of h_t = update(h_{t-1}, x_{t-1}), one row per input, from h_1 = initial_state.

    The latent model of chapter 1 feeds its state the previous input: with `inputs` x_1 .. x_n the rows are
    h_2 .. h_{n+1}.
    """
    state = np.asarray(initial_state, dtype=float)
    states = []
    for x in inputs:
        state = np.asarray(update(state, x), dtype=float)
        states.append(state)
    return np.array(states)
