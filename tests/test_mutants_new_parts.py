"""Realistic wrong solutions of the new parts: each must lose its points on the hidden check.

Each mutant is a correct solution (tests/reference_solutions_new_parts.py) with one mistake a student
makes: a missing term of the chain rule, a gate derivative left out, the wrong step's state, a wrong
answer, an untrained model.
"""
import pytest
import torch

import reference_solutions_new_parts as right
from autograder.assess import run_check
from reference_solutions import lstm_cell


# ----- one LSTM step -----

def _lstm_step_parts(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    a_i, a_f, a_g, a_o = (x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
    return h, c, i, f, g, o, f * c + i * g


def _lstm_step_gradients(x, h, weight_ih, weight_hh, grad_pre, grad_c_prev):
    return {"x": grad_pre @ weight_ih, "h": grad_pre @ weight_hh, "c": grad_c_prev,
            "weight_ih": grad_pre.T @ x, "weight_hh": grad_pre.T @ h,
            "bias_ih": grad_pre.sum(dim=0), "bias_hh": grad_pre.sum(dim=0)}


def lstm_step_without_the_path_through_h(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next,
                                         grad_c_next):
    """Missing chain-rule term: dL/dC_t is taken as G_C only, forgetting h_t = o * tanh(C_t)."""
    h, c, i, f, g, o, c_next = _lstm_step_parts(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_c = grad_c_next
    grad_pre = torch.cat([grad_c * g * i * (1 - i), grad_c * c * f * (1 - f), grad_c * i * (1 - g ** 2),
                          grad_h_next * torch.tanh(c_next) * o * (1 - o)], dim=1)
    return _lstm_step_gradients(x, h, weight_ih, weight_hh, grad_pre, grad_c * f)


def lstm_step_without_the_forget_gate_derivative(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next,
                                                 grad_c_next):
    """Gate derivative left out: the forget gate's block is dL/df, not dL/df * sigma'(a_f)."""
    h, c, i, f, g, o, c_next = _lstm_step_parts(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c * g * i * (1 - i), grad_c * c, grad_c * i * (1 - g ** 2),
                          grad_h_next * tanh_c * o * (1 - o)], dim=1)
    return _lstm_step_gradients(x, h, weight_ih, weight_hh, grad_pre, grad_c * f)


def lstm_step_with_the_new_cell_state_in_df(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next,
                                            grad_c_next):
    """Wrong step's state: dL/df uses C_t (c_next) where C_{t-1} (c) multiplies f."""
    h, c, i, f, g, o, c_next = _lstm_step_parts(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = torch.tanh(c_next)
    grad_c = grad_c_next + grad_h_next * o * (1 - tanh_c ** 2)
    grad_pre = torch.cat([grad_c * g * i * (1 - i), grad_c * c_next * f * (1 - f), grad_c * i * (1 - g ** 2),
                          grad_h_next * tanh_c * o * (1 - o)], dim=1)
    return _lstm_step_gradients(x, h, weight_ih, weight_hh, grad_pre, grad_c * f)


def lstm_step_by_autograd(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    """Not a mistake of the chain rule, but not by hand either: autograd is refused."""
    leaves = [t.detach().clone().requires_grad_(True) for t in (x, state[0], state[1], weight_ih, weight_hh,
                                                                 bias_ih, bias_hh)]
    h_next, c_next = lstm_cell(leaves[0], (leaves[1], leaves[2]), *leaves[3:])
    grads = torch.autograd.grad((h_next * grad_h_next).sum() + (c_next * grad_c_next).sum(), leaves)
    return dict(zip(("x", "h", "c", "weight_ih", "weight_hh", "bias_ih", "bias_hh"), grads))


# ----- the LSTM through time -----

def lstm_bptt_with_the_next_steps_state(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    """Wrong step's state: step t is differentiated at the state it produced, not the one it received."""
    states = [tuple(state0)]
    for x_t in x:
        states.append(lstm_cell(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh))
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    totals = {n: torch.zeros_like(w) for n, w in zip(names, (weight_ih, weight_hh, bias_ih, bias_hh))}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(x.shape[0])):
        step = right.lstm_step_backward(x[t], states[t + 1], weight_ih, weight_hh, bias_ih, bias_hh, grad_h, grad_c)
        totals = {n: totals[n] + step[n] for n in names}
        grad_h, grad_c = step["h"], step["c"]
    return {**totals, "h0": grad_h, "c0": grad_c}


def lstm_bptt_without_carrying_the_cell_gradient(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T,
                                                 grad_c_T):
    """Missing chain-rule term: dL/dC_{t-1} is dropped between steps (only dL/dh flows back)."""
    states = [tuple(state0)]
    for x_t in x:
        states.append(lstm_cell(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh))
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    totals = {n: torch.zeros_like(w) for n, w in zip(names, (weight_ih, weight_hh, bias_ih, bias_hh))}
    grad_h, grad_c = grad_h_T, grad_c_T
    for t in reversed(range(x.shape[0])):
        step = right.lstm_step_backward(x[t], states[t], weight_ih, weight_hh, bias_ih, bias_hh, grad_h, grad_c)
        totals = {n: totals[n] + step[n] for n in names}
        grad_h, grad_c = step["h"], torch.zeros_like(step["c"])
    return {**totals, "h0": grad_h, "c0": grad_c}


def lstm_bptt_keeping_only_the_last_step(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    """The weight gradients of the last step only, as if the weights were not shared over time."""
    grads = right.lstm_bptt(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T)
    states = [tuple(state0)]
    for x_t in x:
        states.append(lstm_cell(x_t, states[-1], weight_ih, weight_hh, bias_ih, bias_hh))
    last = right.lstm_step_backward(x[-1], states[-2], weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T)
    return {**grads, **{n: last[n] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}}


# ----- one GRU step -----

def _gru_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    ax_r, ax_z, ax_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
    ah_r, ah_z, ah_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(ax_r + ah_r), torch.sigmoid(ax_z + ah_z)
    n = torch.tanh(ax_n + r * ah_n)
    return ah_n, r, z, n


def _gru_gradients(x, h, weight_ih, weight_hh, grad_ax, grad_ah, grad_h_direct):
    return {"x": grad_ax @ weight_ih, "h": grad_h_direct + grad_ah @ weight_hh,
            "weight_ih": grad_ax.T @ x, "weight_hh": grad_ah.T @ h,
            "bias_ih": grad_ax.sum(dim=0), "bias_hh": grad_ah.sum(dim=0)}


def gru_step_without_the_direct_path(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    """Missing chain-rule term: the direct road z * h_{t-1} to h_t is left out of dL/dh_{t-1}."""
    ah_n, r, z, n = _gru_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (h - n) * z * (1 - z)
    return _gru_gradients(x, h, weight_ih, weight_hh, torch.cat([grad_a_r, grad_a_z, grad_a_n], 1),
                          torch.cat([grad_a_r, grad_a_z, grad_a_n * r], 1), 0 * grad_h_next)


def gru_step_without_the_update_gate_derivative(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    """Gate derivative left out: the z block is dL/dz, not dL/dz * sigma'(a_z)."""
    ah_n, r, z, n = _gru_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (h - n)
    return _gru_gradients(x, h, weight_ih, weight_hh, torch.cat([grad_a_r, grad_a_z, grad_a_n], 1),
                          torch.cat([grad_a_r, grad_a_z, grad_a_n * r], 1), grad_h_next * z)


def gru_step_with_the_reset_on_both_biases(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    """The n block of both parts gets the same gradient, as if r multiplied the whole pre-activation."""
    ah_n, r, z, n = _gru_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (h - n) * z * (1 - z)
    grad = torch.cat([grad_a_r, grad_a_z, grad_a_n], 1)
    return _gru_gradients(x, h, weight_ih, weight_hh, grad, grad, grad_h_next * z)


def gru_step_with_the_new_state_in_dz(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    """Wrong step's state: dL/dz uses h_t - n_t where h_{t-1} - n_t is meant."""
    ah_n, r, z, n = _gru_parts(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    h_next = (1 - z) * n + z * h
    grad_a_n = grad_h_next * (1 - z) * (1 - n ** 2)
    grad_a_r = grad_a_n * ah_n * r * (1 - r)
    grad_a_z = grad_h_next * (h_next - n) * z * (1 - z)
    return _gru_gradients(x, h, weight_ih, weight_hh, torch.cat([grad_a_r, grad_a_z, grad_a_n], 1),
                          torch.cat([grad_a_r, grad_a_z, grad_a_n * r], 1), grad_h_next * z)


# ----- answers and the trained model -----

def untrained_adding_parameters(hidden_size=16):
    generator = torch.Generator().manual_seed(0)
    bound = hidden_size ** -0.5
    shapes = {"weight_ih": (4 * hidden_size, 2), "weight_hh": (4 * hidden_size, hidden_size),
              "bias_ih": (4 * hidden_size,), "bias_hh": (4 * hidden_size,), "head_weight": (1, hidden_size),
              "head_bias": (1,)}
    return {name: (torch.rand(*shape, generator=generator) * 2 - 1) * bound for name, shape in shapes.items()}


MUTANTS = [
    ("lstm.lstm_step_backward", lstm_step_without_the_path_through_h),
    ("lstm.lstm_step_backward", lstm_step_without_the_forget_gate_derivative),
    ("lstm.lstm_step_backward", lstm_step_with_the_new_cell_state_in_df),
    ("lstm.lstm_step_backward", lstm_step_by_autograd),
    ("lstm.lstm_bptt", lstm_bptt_with_the_next_steps_state),
    ("lstm.lstm_bptt", lstm_bptt_without_carrying_the_cell_gradient),
    ("lstm.lstm_bptt", lstm_bptt_keeping_only_the_last_step),
    ("gru.gru_step_backward", gru_step_without_the_direct_path),
    ("gru.gru_step_backward", gru_step_without_the_update_gate_derivative),
    ("gru.gru_step_backward", gru_step_with_the_reset_on_both_biases),
    ("gru.gru_step_backward", gru_step_with_the_new_state_in_dz),
    ("rnn.smallest_nonvanishing_radius", lambda: 1.0),  # the linear threshold, not the tanh one
    ("rnn.smallest_nonvanishing_radius", lambda: 1.5),  # still vanishing there
    ("rnn.answer_q1", lambda: 0.3517),                  # the last step's term e_3 h_2 only
    ("rnn.answer_q2", lambda: 3.0),                     # each tensor clipped on its own to max_norm
    ("sequence_models.answer_q1", lambda: 0.4),         # the share of 0s in the short sequence
    ("sequence_models.answer_q2", lambda: 0.9 ** 20),   # one factor too many
    ("lstm.answer_q1", lambda: "o"),            # the output gate: it reaches h_t whatever C_{t-1} is
    ("lstm.answer_q2", lambda: 4.96),           # sigma(4.96)^100 = 0.497: just below half
    ("gru.answer_q1", lambda: "r"),
    ("gru.answer_q2", lambda: "z"),             # z_t multiplies h_{t-1}, but its gradient is G * (h - n)
    ("lstm.adding_parameters", untrained_adding_parameters),
]


@pytest.mark.parametrize("check_id, mutant", MUTANTS, ids=lambda value: getattr(value, "__name__", value))
def test_mutant_loses_its_points_on_the_hidden_check(check_id, mutant):
    result = run_check(check_id, mutant)
    assert not result.passed, f"{check_id} accepted the mutant {mutant.__name__}"


def test_autograd_in_a_backward_part_is_refused_with_a_reason():
    result = run_check("lstm.lstm_step_backward", lstm_step_by_autograd)
    assert "no credit" in result.message and "by hand" in result.message


@pytest.mark.parametrize("check_id, mutant", [m for m in MUTANTS if m[0].split(".")[1].startswith(("lstm_", "gru_"))])
def test_a_wrong_backward_pass_is_named_by_the_gradient_that_is_off(check_id, mutant):
    result = run_check(check_id, mutant)
    if "no credit" not in result.message:
        assert "`grads[" in result.message, result.message
