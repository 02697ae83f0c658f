"""Graded answers: "predict, then run" questions and numbers found by an experiment.

The student writes a function without arguments that returns the answer (`def answer_q1(): return 3`),
or, for the RNN radius, runs an experiment inside it; the check calls it. An answer is a number (a Python
int where the text asks for an int, else an int or a float; not a tensor), judged within the precision
the text asks for, or one of a few named choices (exactly: equal strings, not the same object). A wrong answer is
only called wrong: the message never shows the expected value. A right one shows the explanation.
"""
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from autograder.checks.compare import OutputLayout, kind_name
from autograder.checks.specs import Spec, function_name, register
from autograder.sandbox.observe import Call
from autograder.sandbox.snapshots import ScalarSnapshot, TensorSnapshot


def _no_inputs(case):
    return {}


@dataclass(frozen=True)
class AnswerSpec(Spec):
    """A question whose answer is a number (choices empty) or one of `choices` (strings)."""

    choices: tuple = ()
    tolerance: float = 1e-6
    explanation: str = ""
    integer: bool = False  # the text asks for an int: a float, even 7.0, is the wrong type

    def call_for(self, inputs):
        return Call({}, no_arguments=True)

    def derive(self, result, inputs):
        """The choice's index, or the number as a 0-dim float64 tensor; ValueError/TypeError else."""
        name = function_name(self.check_id) + "()"
        if self.choices:
            if type(result) is not str or result not in self.choices:
                shown = repr(result) if type(result) in (str, int, float, bool) or result is None else kind_name(result)
                near = [c for c in self.choices if type(result) is str and result.strip().lower() == c.lower()]
                exact = (f" ({result!r} differs from {near[0]!r} only in upper/lower case or spaces: the choices are "
                         "compared exactly)") if near else ""
                raise ValueError(f"{name} must return one of {', '.join(map(repr, self.choices))}; got {shown}{exact}")
            return self.choices.index(result)
        if isinstance(result, ScalarSnapshot) and result.type_name == "numpy.float64" and not self.integer:
            result = result.value  # np.float64 is a subclass of float; np.float32 is not, and rounds the answer
        wanted = (int,) if self.integer else (int, float)
        if type(result) not in wanted:
            what = "a number, a Python int" if self.integer else "a number (a Python int or float)"
            convert = ("int(...)" if self.integer else "float(...)") if isinstance(
                result, (TensorSnapshot, ScalarSnapshot, float)) else ""
            raise TypeError(f"{name} must return {what}; got {kind_name(result)}"
                            + (f" ({convert} or .item() converts it)" if convert else ""))
        return torch.tensor(float(result), dtype=torch.float64)

    def judge_result(self, observed, expected, inputs):
        """None when the (derived) answer is right; else a message that does not give the answer away."""
        name = function_name(self.check_id)
        if self.choices:
            right = observed == expected
        else:
            right = abs(float(observed) - float(expected)) <= self.tolerance
        if right:
            return None
        within = f" (answers within {self.tolerance:g} count as right)" if not self.choices else ""
        return f"`{name}` is not the right answer yet{within}: run the experiment again and reread the text"


def _choice(check_id, choices, right, explanation):
    return AnswerSpec(check_id, _no_inputs, lambda: choices.index(right), OutputLayout(function_name(check_id)),
                      dtype_free=True, choices=choices, explanation=explanation)


def _number(check_id, value, tolerance, explanation, integer=False):
    return AnswerSpec(check_id, _no_inputs, lambda: torch.tensor(float(value()), dtype=torch.float64),
                      OutputLayout(function_name(check_id)), dtype_free=True, tolerance=tolerance,
                      explanation=explanation, integer=integer)


# ----- the experiment of the rnn notebook -----

# The setup the notebook states: rnn_demos.gradients.random_cell_weights("rnn", 4, 32, radius, seed=0),
# inputs random_inputs(50, 4, seed=0), h_0 = 0; the gradient "does not vanish" when the spectral norm
# ||d h_50 / d h_0||_2 is at least 1; radii on the grid 0.50, 0.55, ..., 3.00.
RADIUS_SETUP = dict(input_size=4, hidden_size=32, steps=50, seed=0)
RADIUS_GRID = tuple(round(0.5 + 0.05 * k, 2) for k in range(51))
RADIUS_TOLERANCE = 0.05  # the notebook's text: "answers within 0.05 of the right one count"


def gradient_norm_over_setup(radius):
    """||d h_T / d h_0||_2 of the notebook's setup at this spectral radius (the book's own kernel)."""
    from rnn_demos.gradients import random_cell_weights, random_inputs, rnn_jacobian_norms
    s = RADIUS_SETUP
    weights = random_cell_weights("rnn", s["input_size"], s["hidden_size"], radius, s["seed"])
    return float(rnn_jacobian_norms(weights, random_inputs(s["steps"], s["input_size"], s["seed"]))[-1])


@lru_cache(maxsize=1)
def smallest_nonvanishing_radius_reference():
    return next(radius for radius in RADIUS_GRID if gradient_norm_over_setup(radius) >= 1.0)


# ----- the measurement of the sequence_models notebook -----

# The setup the notebook states: the series noisy_periodic_signal(1000, period=50, noise_std=0.2, seed=1) of
# rnn_demos.data, AR(tau) fitted on its first 600 values, the mean squared error of the 16-step-ahead forecasts
# made from every window of tau observed values of the last 400; the answer is the smallest tau of
# 1, 2, ..., 24 whose error is below 0.1. (The book's page shows seed 0 and the windows 2, 4 and 16 only.)
WINDOW_SETUP = dict(n_steps=1000, period=50, noise_std=0.2, seed=1, train_steps=600, horizon=16)
WINDOW_GRID = tuple(range(1, 25))
WINDOW_GOAL_MSE = 0.1


def forecast_error_over_setup(tau):
    """The 16-step-ahead test MSE of AR(tau) on the notebook's series (the book's own numpy kernels)."""
    from rnn_demos.data import noisy_periodic_signal
    from rnn_demos.sequence_models import fit_autoregressive, k_step_mean_squared_errors
    s = WINDOW_SETUP
    series = noisy_periodic_signal(s["n_steps"], period=s["period"], noise_std=s["noise_std"], seed=s["seed"])
    train, test = series[:s["train_steps"]], series[s["train_steps"]:]
    weights, bias = fit_autoregressive(train, tau)
    return float(k_step_mean_squared_errors(test, weights, bias, [s["horizon"]])[0])


@lru_cache(maxsize=1)
def smallest_forecasting_window_reference():
    return next(tau for tau in WINDOW_GRID if forecast_error_over_setup(tau) < WINDOW_GOAL_MSE)


# ----- the forget bias of the lstm notebook's question -----

# The set-up the notebook states: W_hh = 0, the forget rows of weight_ih zero and a total forget bias b, so
# every forget gate is sigma(b); over 100 steps dL/dC_0 (G_h = 0, G_C = 1) is sigma(b)^100. The answer is the
# b at which that is 1/2.
CAROUSEL_STEPS = 100


def forget_bias_keeping_half():
    kept_per_step = 0.5 ** (1 / CAROUSEL_STEPS)
    return math.log(kept_per_step / (1 - kept_per_step))


# ----- the numbers of the rnn and sequence_models questions, from the set-ups the notebooks state -----

# rnn q1: a tanh RNN with one input and one unit, W_ih = 1, W_hh = 0.5, biases 0, h_0 = 0, x = (1, 0, 0),
# L = h_3 (G = 1); the answer is dL/dW_hh, by the BPTT sums.
SCALAR_RNN = dict(weight_ih=1.0, weight_hh=0.5, inputs=(1.0, 0.0, 0.0))


def scalar_rnn_weight_hh_gradient():
    states = [0.0]
    for x in SCALAR_RNN["inputs"]:
        states.append(math.tanh(SCALAR_RNN["weight_ih"] * x + SCALAR_RNN["weight_hh"] * states[-1]))
    delta, gradient = 1.0, 0.0
    for t in range(len(SCALAR_RNN["inputs"]), 0, -1):
        e = delta * (1 - states[t] ** 2)
        gradient += e * states[t - 1]
        delta = e * SCALAR_RNN["weight_hh"]
    return gradient


# rnn q2: two gradient tensors of norms 8 and 15 clipped together with max_norm = 3; the answer is the norm of
# the second one after clipping.
CLIPPED_NORMS, CLIP_MAX_NORM = (8.0, 15.0), 3.0


def clipped_second_gradient_norm():
    total = math.hypot(*CLIPPED_NORMS)
    return CLIPPED_NORMS[1] * min(1.0, CLIP_MAX_NORM / (total + 1e-6))


# sequence_models q1: the chain estimated from 0 0 0 1 1 1 1 1 0 1 (K = 2); the answer is pi_0 of pi = pi A.
MARKOV_STATES = (0, 0, 0, 1, 1, 1, 1, 1, 0, 1)


def stationary_share_of_symbol_0():
    counts = np.zeros((2, 2))
    for previous, following in zip(MARKOV_STATES, MARKOV_STATES[1:]):
        counts[previous, following] += 1
    A = counts / counts.sum(axis=1, keepdims=True)
    return A[1, 0] / (A[0, 1] + A[1, 0])


FOUR_DECIMALS = 0.5e-4  # "to four decimals": half a unit of the fourth decimal
TWO_DECIMALS = 0.5e-2  # "to two decimals"

QUESTION_SPECS = [
    # sequence_models
    _number("sequence_models.answer_q1", stationary_share_of_symbol_0, FOUR_DECIMALS,
            "The counts give A_00 = A_01 = 2/4 = 0.5, A_10 = 1/5 = 0.2 and A_11 = 4/5 = 0.8. pi = pi A with two "
            "symbols says that as much probability leaves symbol 0 as enters it at each step: pi_0 A_01 = "
            "pi_1 A_10, so pi_0 = A_10 / (A_01 + A_10) = 0.2 / 0.7 = 2/7 = 0.2857. It is not the 4/10 of the "
            "sequence itself: that sequence is short, and it starts in symbol 0."),
    _number("sequence_models.answer_q2", lambda: 0.9 ** 19, FOUR_DECIMALS,
            "x_0 enters h_1 = x_0 W_ih^T = 1, and each of the 19 later steps multiplies the state by W_hh = 0.9: "
            "h_20 = 0.9^19. A linear latent state forgets its past geometrically when |W_hh| < 1."),
    _number("sequence_models.smallest_forecasting_window", smallest_forecasting_window_reference, 0.0,
            integer=True, explanation=
            "Two sines obey an exact linear recurrence of order 4, so without noise AR(4) would forecast them "
            "for ever; with noisy windows a short one's least-squares weights are shrunk (noise in the inputs "
            "biases them towards 0), the fitted model is damped, and 16 fed-back forecasts drift to the mean. A "
            "longer window averages the noise away: the error falls steeply over a few steps of window, then "
            "hardly moves. The window a task needs is found by measuring; an RNN's state carries the past "
            "without a fixed window."),
    # rnn
    _number("rnn.answer_q1", scalar_rnn_weight_hh_gradient, FOUR_DECIMALS,
            "Forward: h_1 = tanh(1) = 0.7616, h_2 = tanh(0.5 h_1) = 0.3634, h_3 = tanh(0.5 h_2) = 0.1797. Back: "
            "e_3 = G (1 - h_3^2) = 0.9677, delta_2 = e_3 W_hh = 0.4838, e_2 = delta_2 (1 - h_2^2) = 0.4200. "
            "dL/dW_hh = e_3 h_2 + e_2 h_1 + e_1 h_0 = 0.3517 + 0.3198 + 0 = 0.6715. The first step adds nothing "
            "because h_0 = 0; the input x_1 still reaches the gradient, through h_1 in the second step's term, "
            "after one factor of W_hh on the way back."),
    _number("rnn.answer_q2", clipped_second_gradient_norm, FOUR_DECIMALS,
            "Clipping by the global norm multiplies every tensor by the same scale: the total norm is "
            "sqrt(8^2 + 15^2) = 17, the scale 3 / (17 + 1e-6), and the second tensor's norm becomes 15 * 3 / 17 "
            "= 2.6471 (the first's 24/17 = 1.4118). Clipped one tensor at a time, the second would have norm 3 "
            "and the first would stay at 8: a different direction, and a total norm above 3."),
    _number("rnn.smallest_nonvanishing_radius", smallest_nonvanishing_radius_reference, RADIUS_TOLERANCE,
            "tanh' = 1 - h^2 is below 1 wherever a unit is active, so each Jacobian factor shrinks the "
            "gradient by more than W_hh alone would: the threshold of a tanh RNN driven by inputs lies above "
            "the linear threshold of 1. Past it the norms grow until saturation caps them."),
    # lstm
    _choice("lstm.answer_q1", ("i", "f", "g", "o"), "f",
            "The forget gate acts only through f_t * C_{t-1}, so dL/da^(f) = (dL/dC_t) * C_{t-1} * f_t * (1 - f_t): "
            "zero wherever C_{t-1} = 0, and with it the forget rows of the weights' and biases' gradients. From a "
            "zero cell state the forget gate learns nothing at the first step. The other gates do: i_t and g_t "
            "reach C_t through i_t * g_t, and o_t reaches h_t = o_t * tanh(C_t), whatever C_{t-1} is."),
    _number("lstm.answer_q2", forget_bias_keeping_half, TWO_DECIMALS,
            "With W_hh = 0 the gates read only x_t, and with G_h = 0 no gradient leaves the cell through h: the "
            "cell path is the only one, and dL/dC_0 = prod_k f_k = sigma(b)^100 exactly. It is 1/2 when "
            "sigma(b) = 2^(-1/100) = 0.99309, that is b = ln(sigma(b) / (1 - sigma(b))) = -ln(2^(1/100) - 1) = "
            "4.97. A total forget bias of 1 keeps sigma(1)^100 = 2.5e-14 of the gradient over those 100 steps."),
    # gru
    _choice("gru.answer_q1", ("r", "z", "n"), "n",
            "Only the n block treats its two biases differently: b_hn sits inside r * (h W_hn^T + b_hn), "
            "so dL/db_hn = dL/da_n * r while dL/db_in = dL/da_n. For r and z both biases get the same gradient."),
    _choice("gru.answer_q2", ("r", "z", "n"), "r",
            "The reset gate acts only through r_t * (h_{t-1} W_hn^T + b_hn), so dL/da_r = dL/da_n * "
            "(h_{t-1} W_hn^T + b_hn) * r_t * (1 - r_t): zero when h_{t-1} = 0 and b_hn = 0. The update gate is "
            "not zero although z_t multiplies h_{t-1}: dL/da_z = G * (h_{t-1} - n_t) * z_t * (1 - z_t), and "
            "n_t is not 0. From a zero state the reset gate learns nothing at the first step."),
]
ANSWER_CHECK_IDS = tuple(spec.check_id for spec in QUESTION_SPECS)
register(*QUESTION_SPECS)
