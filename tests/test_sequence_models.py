"""Synthetic data and the chapter-1 sequence models: AR fits, k-step prediction, Markov estimates, latent states."""
import numpy as np
import pytest

from rnn_demos import data, sequence_models as sm

THREE_STATE_CHAIN = np.array([[0.8, 0.15, 0.05],
                              [0.1, 0.6, 0.3],
                              [0.25, 0.25, 0.5]])


# ---- data ----------------------------------------------------------------------------------------

def test_noise_free_periodic_signal_repeats_with_its_period():
    x = data.noisy_periodic_signal(300, period=40, noise_std=0.0)
    np.testing.assert_allclose(x[40:], x[:-40], atol=1e-12)
    assert not np.allclose(x[20:], x[:-20])


def test_periodic_signal_noise_has_the_requested_spread_and_seed():
    clean = data.noisy_periodic_signal(20000, noise_std=0.0)
    noisy = data.noisy_periodic_signal(20000, noise_std=0.3, seed=1)
    assert np.std(noisy - clean) == pytest.approx(0.3, rel=0.03)
    np.testing.assert_array_equal(noisy, data.noisy_periodic_signal(20000, noise_std=0.3, seed=1))
    assert not np.array_equal(noisy, data.noisy_periodic_signal(20000, noise_std=0.3, seed=2))


def test_noise_free_autoregressive_process_follows_its_recurrence():
    x = data.simulate_autoregressive([0.5, 0.3], 50, noise_std=0.0, bias=1.0)
    np.testing.assert_allclose(x[2:], 1.0 + 0.5 * x[1:-1] + 0.3 * x[:-2], atol=1e-12)
    # Stationary mean of x = 1 + 0.8 x is 5, reached after the burn-in.
    np.testing.assert_allclose(x, 5.0, atol=1e-6)


def test_markov_chain_with_a_permutation_matrix_cycles_deterministically():
    cycle = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]])
    states = data.sample_markov_chain(cycle, 10, initial_state=1)
    np.testing.assert_array_equal(states, [1, 2, 0, 1, 2, 0, 1, 2, 0, 1])


@pytest.mark.parametrize("call, message", [
    (lambda: data.noisy_periodic_signal(0), "n_steps must be a positive integer"),
    (lambda: data.noisy_periodic_signal(10, period=-1), "period must be positive"),
    (lambda: data.noisy_periodic_signal(10, noise_std=-0.1), "noise_std must be non-negative"),
    (lambda: data.simulate_autoregressive([], 10), "coefficients must be a non-empty 1-D"),
    (lambda: data.sample_markov_chain(np.ones((2, 3)) / 3, 10), "must be square"),
    (lambda: data.sample_markov_chain([[0.5, 0.6], [0.5, 0.5]], 10), "each row of a transition matrix must sum to 1"),
    (lambda: data.sample_markov_chain([[1.5, -0.5], [0.5, 0.5]], 10), "no negative entries"),
    (lambda: data.sample_markov_chain(THREE_STATE_CHAIN, 10, initial_state=3), r"initial_state must be in \[0, 3\)"),
])
def test_data_generators_reject_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---- autoregressive model ------------------------------------------------------------------------

def test_lagged_features_list_each_window_oldest_first():
    features, targets = sm.lagged_features(np.arange(6.0), tau=2)
    np.testing.assert_array_equal(features, [[0, 1], [1, 2], [2, 3], [3, 4]])
    np.testing.assert_array_equal(targets, [2, 3, 4, 5])


def test_least_squares_fit_recovers_the_coefficients_of_a_simulated_ar_process():
    true_weights, true_bias = np.array([0.6, -0.3, 0.2]), 0.5
    x = data.simulate_autoregressive(true_weights, 20000, noise_std=1.0, bias=true_bias, seed=3)
    weights, bias = sm.fit_autoregressive(x, tau=3)
    np.testing.assert_allclose(weights, true_weights, atol=0.03)
    assert bias == pytest.approx(true_bias, abs=0.05)


def test_one_step_prediction_is_the_linear_model_on_observed_windows():
    x = data.noisy_periodic_signal(200, seed=4)
    weights, bias = sm.fit_autoregressive(x, tau=4)
    features, _ = sm.lagged_features(x, tau=4)
    np.testing.assert_allclose(sm.predict_k_steps_ahead(x, weights, bias, 1), features @ weights + bias)


def test_k_step_prediction_of_a_geometric_sequence_compounds_the_rate():
    # x_t = 0.9 x_{t-1} exactly; from x_{t-1} the k-step prediction of x_{t+k-1} is 0.9^k x_{t-1}.
    x = 0.9 ** np.arange(30)
    for k in (1, 3, 7):
        prediction = sm.predict_k_steps_ahead(x, [0.9], 0.0, k)
        assert prediction.shape == (30 - k,)
        np.testing.assert_allclose(prediction, 0.9 ** k * x[:30 - k])
        np.testing.assert_allclose(prediction, x[k:])


def test_k_step_error_grows_with_the_horizon_on_a_noisy_signal():
    x = data.noisy_periodic_signal(1000, period=50, noise_std=0.2, seed=0)
    weights, bias = sm.fit_autoregressive(x[:600], tau=4)
    errors = sm.k_step_mean_squared_errors(x[600:], weights, bias, [1, 2, 4, 8])
    assert np.all(np.diff(errors) > 0)
    assert errors[0] > 0.2 ** 2 * 0.8  # no model predicts the noise


@pytest.mark.parametrize("call, message", [
    (lambda: sm.fit_autoregressive(np.zeros((3, 3)), 1), "series must be 1-D"),
    (lambda: sm.fit_autoregressive(np.zeros(3), 3), "too short for a window of tau=3"),
    (lambda: sm.fit_autoregressive(np.zeros(10), 0), "tau must be a positive integer"),
    (lambda: sm.predict_k_steps_ahead(np.zeros(10), [0.5], 0.0, 0), "k must be a positive integer"),
    (lambda: sm.predict_k_steps_ahead(np.zeros(10), [0.5], 0.0, 10), "too short for tau=1 and k=10"),
    (lambda: sm.predict_k_steps_ahead(np.zeros(10), [], 0.0, 1), "weights must be a non-empty 1-D"),
])
def test_autoregressive_functions_reject_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---- first-order Markov model --------------------------------------------------------------------

def test_transition_counts_of_a_short_sequence():
    counts = sm.transition_counts(np.array([0, 1, 1, 2, 0, 1]), 3)
    np.testing.assert_array_equal(counts, [[0, 2, 0], [0, 1, 1], [1, 0, 0]])


def test_transition_estimate_converges_to_the_true_matrix():
    errors = []
    for n_steps in (1000, 100000):
        states = data.sample_markov_chain(THREE_STATE_CHAIN, n_steps, seed=5)
        estimate = sm.estimate_transition_matrix(states, 3)
        np.testing.assert_allclose(estimate.sum(axis=1), 1.0)
        errors.append(np.abs(estimate - THREE_STATE_CHAIN).max())
    assert errors[1] < errors[0]
    assert errors[1] < 0.01


def test_symbol_frequencies_approach_the_stationary_distribution():
    pi = sm.stationary_distribution(THREE_STATE_CHAIN)
    np.testing.assert_allclose(pi @ THREE_STATE_CHAIN, pi, atol=1e-12)
    states = data.sample_markov_chain(THREE_STATE_CHAIN, 100000, seed=6)
    np.testing.assert_allclose(np.bincount(states, minlength=3) / states.size, pi, atol=0.01)


def test_unvisited_state_gets_a_uniform_row_and_pseudocounts_smooth():
    estimate = sm.estimate_transition_matrix(np.array([0, 1, 0, 1]), 3)
    np.testing.assert_allclose(estimate, [[0, 1, 0], [1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])
    smoothed = sm.estimate_transition_matrix(np.array([0, 1, 0, 1]), 3, pseudocount=1.0)
    np.testing.assert_allclose(smoothed[0], [1 / 5, 3 / 5, 1 / 5])


def test_log_likelihood_of_a_short_sequence_by_hand():
    sequence = np.array([0, 0, 1, 2])
    expected = np.log(0.8) + np.log(0.15) + np.log(0.3)
    assert sm.markov_log_likelihood(sequence, THREE_STATE_CHAIN) == pytest.approx(expected)
    assert sm.markov_log_likelihood(np.array([0, 1, 0]), np.array([[1.0, 0.0], [0.5, 0.5]])) == -np.inf


def test_maximum_likelihood_estimate_scores_its_own_data_at_least_as_well_as_the_truth():
    states = data.sample_markov_chain(THREE_STATE_CHAIN, 500, seed=7)
    estimate = sm.estimate_transition_matrix(states, 3)
    assert sm.markov_log_likelihood(states, estimate) >= sm.markov_log_likelihood(states, THREE_STATE_CHAIN)


@pytest.mark.parametrize("sequence, message", [
    (np.array([0, 3, 1]), r"symbols must lie in \[0, 3\)"),
    (np.array([0.0, 1.0]), "symbols must be integers"),
    (np.array([1]), "at least two symbols"),
])
def test_markov_functions_reject_bad_sequences(sequence, message):
    with pytest.raises(ValueError, match=message):
        sm.estimate_transition_matrix(sequence, 3)


# ---- latent autoregressive model -----------------------------------------------------------------

def test_latent_state_of_a_linear_update_is_a_discounted_sum_of_the_past():
    inputs = np.array([1.0, -2.0, 0.5, 3.0])
    states = sm.run_latent_state(lambda h, x: 0.5 * h + x, 0.0, inputs)
    expected = [sum(0.5 ** (t - s) * inputs[s] for s in range(t + 1)) for t in range(len(inputs))]
    np.testing.assert_allclose(states, expected)


def test_latent_state_can_be_a_vector():
    states = sm.run_latent_state(lambda h, x: h + np.array([x, 1.0]), np.zeros(2), [2.0, 3.0, 4.0])
    np.testing.assert_allclose(states, [[2, 1], [5, 2], [9, 3]])  # running sum and count
