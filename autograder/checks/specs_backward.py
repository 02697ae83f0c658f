"""The backward passes students write by hand: one LSTM step, the LSTM through time, one GRU step.

Each function returns a dict of gradients keyed by what they are taken with respect to (the inputs'
names); the references come from autograd through torch.nn.LSTMCell / GRUCell with the same weights.
The loss is always a weighted sum of the last state, L = sum(h_T * G_h) (+ sum(C_T * G_C) for an
LSTM), so dL/dh_T = G_h is given and the student walks back from there.
"""
import torch
from torch import nn

from autograder.checks.compare import OutputLayout
from autograder.checks.specs import WEIGHT_NAMES, Draw, Spec, _sequence, _state, register

LSTM_STEP_GRADIENTS = ("x", "h", "c", *WEIGHT_NAMES)
LSTM_SEQUENCE_GRADIENTS = (*WEIGHT_NAMES, "h0", "c0")
GRU_STEP_GRADIENTS = ("x", "h", *WEIGHT_NAMES)


def _autograd_gradients(cell_class, weights, run, leaves):
    """Gradients of run(cell) w.r.t. the weights and `leaves` (a dict of tensors), via autograd."""
    weight_leaves = [w.detach().clone().requires_grad_(True) for w in weights]
    other_leaves = {name: t.detach().clone().requires_grad_(True) for name, t in leaves.items()}
    input_size, hidden_size = weights[0].shape[1], weights[1].shape[1]
    cell = cell_class(input_size, hidden_size, device=weights[0].device, dtype=weights[0].dtype)
    with torch.enable_grad():
        def step(*args):
            return torch.func.functional_call(cell, dict(zip(WEIGHT_NAMES, weight_leaves)), args)
        loss = run(step, **other_leaves)
        grads = torch.autograd.grad(loss, [*weight_leaves, *other_leaves.values()])
    return dict(zip([*WEIGHT_NAMES, *other_leaves], grads))


# ----- one LSTM step -----

def _lstm_step_inputs(case):
    draw = Draw(case)
    x, state = draw.normal(case.batch, case.input_size), (_state(draw), _state(draw))
    weights = dict(zip(WEIGHT_NAMES, draw.weights(4)))
    return {"x": x, "state": state, **weights, "grad_h_next": _state(draw), "grad_c_next": _state(draw)}


def lstm_step_backward_reference(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
    def loss(step, x, h, c):
        h_next, c_next = step(x, (h, c))
        return (h_next * grad_h_next).sum() + (c_next * grad_c_next).sum()
    grads = _autograd_gradients(nn.LSTMCell, (weight_ih, weight_hh, bias_ih, bias_hh), loss,
                                {"x": x, "h": state[0], "c": state[1]})
    return {name: grads[name] for name in LSTM_STEP_GRADIENTS}


# ----- the LSTM through time -----

def _lstm_sequence_inputs(case):
    draw = Draw(case)
    x, state0 = _sequence(draw), (_state(draw), _state(draw))
    weights = dict(zip(WEIGHT_NAMES, draw.weights(4)))
    return {"x": x, "state0": state0, **weights, "grad_h_T": _state(draw), "grad_c_T": _state(draw)}


def lstm_bptt_reference(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    def loss(step, h0, c0):
        h, c = h0, c0
        for x_t in x:
            h, c = step(x_t, (h, c))
        return (h * grad_h_T).sum() + (c * grad_c_T).sum()
    grads = _autograd_gradients(nn.LSTMCell, (weight_ih, weight_hh, bias_ih, bias_hh), loss,
                                {"h0": state0[0], "c0": state0[1]})
    return {name: grads[name] for name in LSTM_SEQUENCE_GRADIENTS}


# ----- one GRU step -----

def _gru_step_inputs(case):
    draw = Draw(case)
    x, h = draw.normal(case.batch, case.input_size), _state(draw)
    weights = dict(zip(WEIGHT_NAMES, draw.weights(3)))
    return {"x": x, "h": h, **weights, "grad_h_next": _state(draw)}


def gru_step_backward_reference(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    def loss(step, x, h):
        return (step(x, h) * grad_h_next).sum()
    grads = _autograd_gradients(nn.GRUCell, (weight_ih, weight_hh, bias_ih, bias_hh), loss, {"x": x, "h": h})
    return {name: grads[name] for name in GRU_STEP_GRADIENTS}


MANUAL_BACKWARD = ("recurrent_kernels", "autograd")
BACKWARD_SPECS = [
    Spec("lstm.lstm_step_backward", _lstm_step_inputs, lstm_step_backward_reference, OutputLayout("grads"),
         refusals=MANUAL_BACKWARD),
    Spec("lstm.lstm_bptt", _lstm_sequence_inputs, lstm_bptt_reference, OutputLayout("grads"),
         loops_over_time=True, refusals=MANUAL_BACKWARD),
    Spec("gru.gru_step_backward", _gru_step_inputs, gru_step_backward_reference, OutputLayout("grads"),
         refusals=MANUAL_BACKWARD),
]
BACKWARD_CHECK_IDS = tuple(spec.check_id for spec in BACKWARD_SPECS)
register(*BACKWARD_SPECS)
