"""Correct solutions of the parts that ask for more than transcription, written as a student would.

The backward passes by hand, the answers to the questions, the radius found by experiment and the
training on the adding problem. Used by tests/test_new_parts.py and tests/test_mutants_new_parts.py.
"""
import functools
import math
import time

import torch

from rnn_demos.gradients import random_cell_weights, random_inputs
from rnn_demos.long_range import make_adding_batch
from rnn_demos.data import noisy_periodic_signal
from reference_solutions import fit_ar, lstm_cell, predict_ahead, rnn_cell


# ----- lstm: one step backward, then through time -----

def lstm_step_backward(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    h, c = state
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    a_i, a_f, a_g, a_o = pre.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
    c_next = f * c + i * g
    tanh_c = torch.tanh(c_next)
    grad_c_total = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c_total * g * i * (1 - i), grad_c_total * c * f * (1 - f),
                          grad_c_total * i * (1 - g ** 2), grad_h_next * tanh_c * o * (1 - o)], dim=1)
    return {"x": grad_pre @ weight_ih, "h": grad_pre @ weight_hh, "c": grad_c_total * f,
            "weight_ih": grad_pre.T @ x, "weight_hh": grad_pre.T @ h,
            "bias_ih": grad_pre.sum(dim=0), "bias_hh": grad_pre.sum(dim=0)}


def lstm_bptt(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    states = [tuple(state0)]
    for x_t in x:
        states.append(lstm_cell(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh))
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    totals = {name: torch.zeros_like(w) for name, w in zip(names, (weight_ih, weight_hh, bias_ih, bias_hh))}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(x.shape[0])):
        step = lstm_step_backward(x[t], states[t], weight_ih, weight_hh, bias_ih, bias_hh, grad_h, grad_c)
        for name in names:
            totals[name] = totals[name] + step[name]
        grad_h, grad_c = step["h"], step["c"]
    return {**totals, "h0": grad_h, "c0": grad_c}


# ----- gru: one step backward -----

def gru_step_backward(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    ax_r, ax_z, ax_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
    ah_r, ah_z, ah_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(ax_r + ah_r), torch.sigmoid(ax_z + ah_z)
    n = torch.tanh(ax_n + r * ah_n)
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (h - n) * z * (1 - z)
    grad_ax = torch.cat([grad_a_r, grad_a_z, grad_a_n], dim=1)
    grad_ah = torch.cat([grad_a_r, grad_a_z, grad_a_n * r], dim=1)
    return {"x": grad_ax @ weight_ih, "h": grad_h_next * z + grad_ah @ weight_hh,
            "weight_ih": grad_ax.T @ x, "weight_hh": grad_ah.T @ h,
            "bias_ih": grad_ax.sum(dim=0), "bias_hh": grad_ah.sum(dim=0)}


# ----- rnn: the radius found by experiment, with the student's own cell -----

def spectral_norm_of_gradient(radius, steps=50, input_size=4, hidden_size=32, seed=0):
    """||d h_T / d h_0||_2 of the notebook's setup, through rnn_cell and a product of step Jacobians."""
    weights = random_cell_weights("rnn", input_size, hidden_size, radius, seed)
    weight_ih, weight_hh, bias_ih, bias_hh = (torch.as_tensor(getattr(weights, name)) for name in
                                              ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    inputs = torch.as_tensor(random_inputs(steps, input_size, seed))
    h = torch.zeros(1, hidden_size, dtype=torch.float64)
    product = torch.eye(hidden_size, dtype=torch.float64)
    jacobians = []
    for x_t in inputs:
        h = rnn_cell(x_t[None], h, weight_ih, weight_hh, bias_ih, bias_hh)
        jacobians.append((1 - h[0] ** 2)[:, None] * weight_hh)
    for jacobian in reversed(jacobians):
        product = product @ jacobian
    return torch.linalg.matrix_norm(product, ord=2).item()


@functools.lru_cache(maxsize=1)
def find_smallest_nonvanishing_radius():
    grid = [round(0.5 + 0.05 * k, 2) for k in range(51)]
    return next(radius for radius in grid if spectral_norm_of_gradient(radius) >= 1.0)


# ----- sequence_models: the window a 16-step forecast needs, measured -----

def forecast_error(tau, horizon=16):
    """The 16-step-ahead test MSE of AR(tau), with the notebook's fit_ar and predict_ahead, as a student
    measures it: one forecast from every window of tau observed test values."""
    series = torch.from_numpy(noisy_periodic_signal(1000, period=50, noise_std=0.2, seed=1))
    train, test = series[:600], series[600:]
    w, b = fit_ar(train, tau)
    starts = range(len(test) - tau - horizon + 1)
    forecasts = torch.stack([predict_ahead(test[j:j + tau], w, b, horizon)[-1] for j in starts])
    truth = torch.stack([test[j + tau + horizon - 1] for j in starts])
    return float(((forecasts - truth) ** 2).mean())


@functools.lru_cache(maxsize=1)
def find_smallest_forecasting_window():
    return next(tau for tau in range(1, 25) if forecast_error(tau) < 0.1)


# ----- lstm: training on the adding problem -----

ADDING_LENGTH = 20


def train_on_adding(hidden_size=16, iterations=300, batch_size=32, learning_rate=0.03, seed=0):
    """Train lstm_cell + a linear head with Adam; return the parameters dict the check reads."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generator = torch.Generator().manual_seed(seed)
        bound = hidden_size ** -0.5

        def uniform(*shape):
            return (torch.rand(*shape, generator=generator) * 2 - 1) * bound
        parameters = {"weight_ih": uniform(4 * hidden_size, 2), "weight_hh": uniform(4 * hidden_size, hidden_size),
                      "bias_ih": uniform(4 * hidden_size), "bias_hh": uniform(4 * hidden_size),
                      "head_weight": uniform(1, hidden_size), "head_bias": torch.zeros(1)}
        parameters["bias_ih"][hidden_size:2 * hidden_size] = 1.0  # forget gate open at the start
        parameters["bias_hh"][hidden_size:2 * hidden_size] = 0.0
        for value in parameters.values():
            value.requires_grad_(True)
        optimiser = torch.optim.Adam(parameters.values(), lr=learning_rate)
        for _ in range(iterations):
            inputs, targets = make_adding_batch(batch_size, ADDING_LENGTH, generator)
            h = c = torch.zeros(batch_size, hidden_size)
            for t in range(ADDING_LENGTH):
                h, c = lstm_cell(inputs[:, t], (h, c), parameters["weight_ih"], parameters["weight_hh"],
                                 parameters["bias_ih"], parameters["bias_hh"])
            predictions = (h @ parameters["head_weight"].T + parameters["head_bias"])[:, 0]
            loss = ((predictions - targets) ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        return {name: value.detach() for name, value in parameters.items()}
    finally:
        torch.set_num_threads(threads)


_TRAINED = {}


def trained_adding_parameters():
    """The parameters of train_on_adding(), trained once per test session; records the CPU seconds."""
    if not _TRAINED:
        start = time.process_time()
        _TRAINED["parameters"] = train_on_adding()
        _TRAINED["cpu_seconds"] = time.process_time() - start
    return _TRAINED["parameters"]


ANSWERS = {
    "sequence_models.answer_q1": 2 / 7,  # pi_0 = A_10 / (A_01 + A_10) = 0.2 / 0.7
    "sequence_models.answer_q2": 0.9 ** 19,
    "rnn.answer_q1": 0.6715,  # dL/dW_hh = e_3 h_2 + e_2 h_1 of the scalar tanh RNN
    "rnn.answer_q2": 45 / 17,  # 15 * 3 / sqrt(8^2 + 15^2)
    "lstm.answer_q1": "f",
    "lstm.answer_q2": -math.log(2 ** (1 / 100) - 1),  # sigma(b)^100 = 1/2
    "gru.answer_q1": "n",
    "gru.answer_q2": "r",
}

BY_CHECK_ID = {
    "lstm.lstm_step_backward": lstm_step_backward,
    "lstm.lstm_bptt": lstm_bptt,
    "gru.gru_step_backward": gru_step_backward,
    "rnn.smallest_nonvanishing_radius": find_smallest_nonvanishing_radius,
    "sequence_models.smallest_forecasting_window": find_smallest_forecasting_window,
    "lstm.adding_parameters": trained_adding_parameters,
    **{check_id: (lambda answer=answer: answer) for check_id, answer in ANSWERS.items()},
}
