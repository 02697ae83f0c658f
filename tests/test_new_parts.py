"""The parts that ask for more than transcription: backward passes, answers, the radius experiment and the
trained model. What each check accepts, what it refuses, and what its messages say (and do not say)."""
import time

import pytest
import torch

from autograder.checks.cases import hidden_cases

import reference_solutions_char_lm as right_char_lm
import reference_solutions_new_parts as right
from autograder.assess import run_check
from autograder.checks.collect import collect
from autograder.selfcheck import check
from autograder.checks.specs import SPECS
from autograder.checks.specs_questions import (RADIUS_GRID, gradient_norm_over_setup,
                                        smallest_nonvanishing_radius_reference)
from autograder.checks.specs_training import ADDING_LENGTH, BASELINE_MSE, MAX_TEST_MSE, TEST_SIZE, adding_targets
from rnn_demos.long_range import make_adding_batch

QUESTION_IDS = [check_id for check_id in SPECS if hasattr(SPECS[check_id], "choices")]


@pytest.fixture(scope="module")
def trained():
    """The parameters the lstm notebook's solution trains (about 5-10 CPU-seconds), trained once."""
    return right.trained_adding_parameters()


# ----- the backward passes -----

@pytest.mark.parametrize("check_id", ["lstm.lstm_step_backward", "lstm.lstm_bptt", "gru.gru_step_backward"])
def test_hand_written_backward_passes_match_autograd_in_float32_and_float64(check_id):
    result = run_check(check_id, right.BY_CHECK_ID[check_id])
    assert result.passed, result.message
    dtypes = {record.case.dtype for record in collect(check_id, right.BY_CHECK_ID[check_id], hidden_cases(check_id, "cpu"))}
    assert dtypes == {torch.float32, torch.float64}


def test_the_backward_checks_use_the_relative_error_of_the_text():
    from autograder.checks.tolerances import tolerance_for
    for check_id in ("lstm.lstm_step_backward", "lstm.lstm_bptt", "gru.gru_step_backward"):
        assert tolerance_for(check_id, "cpu", torch.float64).max_rel_error == 1e-7


def test_lstm_bptt_of_one_step_is_the_step_backward():
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(1, 2, 3, generator=generator, dtype=torch.float64)
    state = (torch.randn(2, 4, generator=generator, dtype=torch.float64),
             torch.randn(2, 4, generator=generator, dtype=torch.float64))
    weights = [torch.randn(16, 3, generator=generator, dtype=torch.float64),
               torch.randn(16, 4, generator=generator, dtype=torch.float64),
               torch.randn(16, generator=generator, dtype=torch.float64),
               torch.randn(16, generator=generator, dtype=torch.float64)]
    g_h, g_c = torch.ones(2, 4, dtype=torch.float64), torch.zeros(2, 4, dtype=torch.float64)
    through_time = right.lstm_bptt(x, state, *weights, g_h, g_c)
    one_step = right.lstm_step_backward(x[0], state, *weights, g_h, g_c)
    assert torch.allclose(through_time["h0"], one_step["h"]) and torch.allclose(through_time["c0"], one_step["c"])


# ----- answers -----

@pytest.mark.parametrize("check_id", QUESTION_IDS)
def test_a_right_answer_passes_and_shows_its_explanation(check_id, capsys):
    answer = {**right.BY_CHECK_ID, **right_char_lm.BY_CHECK_ID}[check_id]
    check(check_id, answer)
    out = capsys.readouterr().out
    assert out.startswith(f"ok: {check_id}") and SPECS[check_id].explanation in out
    assert run_check(check_id, answer).passed


def test_a_wrong_number_is_called_wrong_without_giving_the_answer_away():
    expected = smallest_nonvanishing_radius_reference()
    wrong = round(expected + 0.3, 2)
    with pytest.raises(AssertionError) as visible:
        check("rnn.smallest_nonvanishing_radius", lambda: wrong)
    hidden = run_check("rnn.smallest_nonvanishing_radius", lambda: wrong)
    for message in (str(visible.value), hidden.message):
        assert "not the right answer yet" in message and "within 0.05" in message
        assert f"{expected}" not in message and f"{expected:g}" not in message


def test_a_number_within_the_stated_tolerance_counts():
    expected = smallest_nonvanishing_radius_reference()
    assert run_check("rnn.smallest_nonvanishing_radius", lambda: expected + 0.04).passed
    assert not run_check("rnn.smallest_nonvanishing_radius", lambda: expected + 0.06).passed


@pytest.mark.parametrize("answer, phrase", [("forget", "must return one of 'i', 'f', 'g', 'o'"),
                                            (None, "must return one of")])
def test_an_answer_outside_the_choices_is_named(answer, phrase):
    with pytest.raises(AssertionError, match=phrase):
        check("lstm.answer_q1", lambda: answer)


@pytest.mark.parametrize("answer", ["7", None, True])
def test_a_number_question_wants_a_number(answer):
    with pytest.raises(AssertionError, match="must return a number"):
        check("rnn.answer_q1", lambda: answer)


def test_an_unanswered_question_is_not_implemented_yet():
    def stub():
        raise NotImplementedError()
    with pytest.raises(NotImplementedError):
        check("gru.answer_q1", stub)


# ----- the radius experiment -----

def test_the_students_experiment_and_the_books_kernel_find_the_same_radius():
    """The check's reference (rnn_demos' numpy Jacobians) and a student's torch cell agree on the grid."""
    assert right.find_smallest_nonvanishing_radius() == smallest_nonvanishing_radius_reference()


def test_the_radius_is_above_the_linear_threshold_and_the_setup_shows_both_regimes():
    radius = smallest_nonvanishing_radius_reference()
    assert radius in RADIUS_GRID and radius > 1.0
    assert gradient_norm_over_setup(1.5) < 1e-2       # the notebook says tanh still vanishes at 1.5
    assert gradient_norm_over_setup(0.5) < 1e-10      # the explore cell's vanishing case
    assert gradient_norm_over_setup(3.0) > 1e2        # and its exploding case
    below = RADIUS_GRID[RADIUS_GRID.index(radius) - 1]
    assert gradient_norm_over_setup(below) < 1.0 <= gradient_norm_over_setup(radius)


# ----- the window measured in the sequence_models notebook -----

def test_the_students_measurement_and_the_books_kernel_find_the_same_window():
    """The check's reference (rnn_demos' numpy fit and k-step errors) and a student's torch fit_ar and
    predict_ahead, one forecast per window, agree; the pages show neither this series nor this window."""
    from autograder.checks.specs_questions import smallest_forecasting_window_reference
    assert right.find_smallest_forecasting_window() == smallest_forecasting_window_reference()


def test_the_window_threshold_is_clear_of_rounding():
    """The errors on both sides of the answer are far from the goal of 0.1, so that float32, another least
    squares solver or another summation order cannot move the answer."""
    from autograder.checks.specs_questions import (WINDOW_GOAL_MSE, forecast_error_over_setup,
                                                    smallest_forecasting_window_reference)
    window = smallest_forecasting_window_reference()
    assert 1 < window < 24
    assert forecast_error_over_setup(window - 1) > 1.1 * WINDOW_GOAL_MSE
    assert forecast_error_over_setup(window) < 0.9 * WINDOW_GOAL_MSE
    assert right.forecast_error(window - 1) > 1.1 * WINDOW_GOAL_MSE > 0.9 * WINDOW_GOAL_MSE > right.forecast_error(window)


def test_the_noise_free_signal_obeys_a_recurrence_of_order_4():
    """The notebook's hint: without noise the two sines are forecast exactly by AR(4), not by AR(3)."""
    from rnn_demos.data import noisy_periodic_signal
    from rnn_demos.sequence_models import fit_autoregressive, k_step_mean_squared_errors
    clean = noisy_periodic_signal(1000, period=50, noise_std=0.0, seed=1)
    error = {tau: k_step_mean_squared_errors(clean[600:], *fit_autoregressive(clean[:600], tau), [16])[0]
             for tau in (3, 4)}
    assert error[4] < 1e-12 < 0.1 < error[3]


@pytest.mark.parametrize("wrong", [4, 16, 24, 17.0])  # the recurrence's order; one short; the largest; a float
def test_a_wrong_or_non_int_window_fails(wrong):
    result = run_check("sequence_models.smallest_forecasting_window", lambda: wrong)
    assert not result.passed


# ----- the trained model -----

def test_the_trained_lstm_reaches_the_stated_test_loss(trained):
    result = run_check("lstm.adding_parameters", lambda: trained)
    assert result.passed, result.message


def test_the_check_evaluates_the_given_parameters_and_never_trains(trained):
    calls = []

    def adding_parameters():
        calls.append(1)
        return trained
    records = collect("lstm.adding_parameters", adding_parameters, hidden_cases("lstm.adding_parameters", "cpu"))
    assert len(calls) == len(records)  # one call per case, each returning the dict: nothing else runs
    # What leaves the sandbox is the parameters themselves; the predictions are computed by the judge.
    assert all(set(record.observation.result) == set(trained) for record in records)
    assert run_check("lstm.adding_parameters", adding_parameters).passed


def test_an_untrained_model_fails_with_its_loss_and_the_baseline():
    from test_mutants_new_parts import untrained_adding_parameters
    result = run_check("lstm.adding_parameters", untrained_adding_parameters)
    assert not result.passed
    assert f"above the goal {MAX_TEST_MSE}" in result.message and f"{BASELINE_MSE:.3f}" in result.message


def test_the_visible_check_prints_the_test_error_it_measured_when_it_passes(trained, capsys):
    from autograder.checks.specs_training import checked_parameters, lstm_predictions
    from autograder.selfcheck import visible_cases
    spec = SPECS["lstm.adding_parameters"]
    check("lstm.adding_parameters", lambda: trained)
    printed = capsys.readouterr().out
    last_set = spec.make_inputs(visible_cases("lstm.adding_parameters")[-1])["x"]
    with torch.no_grad():
        error = float(((lstm_predictions(checked_parameters(trained), last_set) - adding_targets(last_set)) ** 2).mean())
    assert f"test MSE {error:.4f} on the last set of {TEST_SIZE} new sequences" in printed
    assert error <= MAX_TEST_MSE


def test_the_visible_check_prints_the_test_error_it_measured_when_it_fails():
    from test_mutants_new_parts import untrained_adding_parameters
    with pytest.raises(AssertionError, match=r"test MSE \d\.\d{4} on 1000 new sequences .* above the goal"):
        check("lstm.adding_parameters", untrained_adding_parameters)


@pytest.mark.parametrize("change, phrase", [
    (lambda p: {k: v for k, v in p.items() if k != "head_bias"}, "must be a dict with keys"),
    (lambda p: {**p, "weight_hh": p["weight_hh"][:, :-1]}, "has shape"),
    (lambda p: None, "returned None"),
])
def test_malformed_parameters_are_named(trained, change, phrase):
    result = run_check("lstm.adding_parameters", lambda: change(trained))
    assert not result.passed and phrase in result.message


def test_the_predictions_are_judged_on_sequences_the_student_never_saw(trained):
    """Every case draws its own TEST_SIZE sequences of length ADDING_LENGTH from its seed."""
    records = collect("lstm.adding_parameters", lambda: trained, hidden_cases("lstm.adding_parameters", "cpu"))
    seeds = {record.case.seed for record in records}
    assert len(seeds) > 1
    inputs = SPECS["lstm.adding_parameters"].make_inputs(records[0].case)
    assert inputs["x"].shape == (TEST_SIZE, ADDING_LENGTH, 2)
    x, targets = make_adding_batch(4, ADDING_LENGTH, torch.Generator().manual_seed(0))
    assert torch.allclose(adding_targets(x.double()), targets.double())


def test_a_plain_rnn_trained_the_same_way_stays_near_the_baseline():
    """The notebook's claim: at length 20 a tanh RNN with the same recipe does not learn the task."""
    torch.manual_seed(0)
    hidden = 16
    rnn, head = torch.nn.RNN(2, hidden, batch_first=True), torch.nn.Linear(hidden, 1)
    optimiser = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=0.03)
    generator = torch.Generator().manual_seed(0)
    for _ in range(300):
        x, y = make_adding_batch(32, ADDING_LENGTH, generator)
        loss = ((head(rnn(x)[0][:, -1])[:, 0] - y) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    x, y = make_adding_batch(TEST_SIZE, ADDING_LENGTH, torch.Generator().manual_seed(1))
    with torch.no_grad():
        mse = ((head(rnn(x)[0][:, -1])[:, 0] - y) ** 2).mean().item()
    assert mse > 5 * MAX_TEST_MSE, mse
