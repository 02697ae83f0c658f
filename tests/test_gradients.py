"""The demo numbers against torch.autograd on the same model (nn.RNNCell / LSTMCell / GRUCell, float64)."""
import numpy as np
import pytest
import torch
from torch import nn

from rnn_demos import clipping, gradients

STEPS, INPUT, HIDDEN = 12, 3, 5


def torch_cell(model, weights, activation="tanh"):
    """An nn cell in float64 holding copies of the numpy weights."""
    options = {"nonlinearity": activation} if model == "rnn" else {}
    cell_class = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[model]
    cell = cell_class(weights.weight_ih.shape[1], weights.weight_hh.shape[1], dtype=torch.float64, **options)
    with torch.no_grad():
        for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), weights.as_tuple()):
            getattr(cell, name).copy_(torch.from_numpy(value))
    return cell


def sigmoid_rnn_cell(weights):
    """nn.RNNCell has no sigmoid: the same equation, written out with the copied weights."""
    w_ih, w_hh, b_ih, b_hh = (torch.from_numpy(w) for w in weights.as_tuple())
    return lambda x, h: torch.sigmoid(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)


def autograd_norms(cell, inputs, hidden_size, cell_state=False, wrt="h"):
    """||d h_T/d h_t|| (or d c_T/d c_t) from torch.autograd.functional.jacobian, for each t."""
    inputs = torch.from_numpy(inputs)
    states = [(torch.zeros(1, hidden_size, dtype=torch.float64),) * (2 if cell_state else 1)]
    states[0] = tuple(s.clone() for s in states[0])
    with torch.no_grad():
        for x in inputs:
            state = states[-1] if cell_state else states[-1][0]
            new = cell(x[None], state)
            states.append(tuple(new) if cell_state else (new,))
    steps = len(inputs)
    norms = []
    for start in range(steps, -1, -1):
        def run_from(varied):
            state = list(states[start])
            state[0 if wrt == "h" else 1] = varied
            state = tuple(state) if cell_state else state[0]
            for x in inputs[start:]:
                state = cell(x[None], state)
            last = state if not cell_state else state[0 if wrt == "h" else 1]
            return last[0]
        jacobian = torch.autograd.functional.jacobian(run_from, states[start][0 if wrt == "h" else 1])
        norms.append(torch.linalg.matrix_norm(jacobian[:, 0, :], ord=2).item())
    return np.array(norms)


@pytest.mark.parametrize("activation", gradients.ACTIVATIONS)
@pytest.mark.parametrize("spectral_radius", [0.5, 1.5, 3.0])
def test_rnn_norms_match_autograd(activation, spectral_radius):
    weights = gradients.random_cell_weights("rnn", INPUT, HIDDEN, spectral_radius, seed=1)
    inputs = gradients.random_inputs(STEPS, INPUT, seed=1)
    cell = sigmoid_rnn_cell(weights) if activation == "sigmoid" else torch_cell("rnn", weights, activation)
    expected = autograd_norms(cell, inputs, HIDDEN)
    np.testing.assert_allclose(gradients.rnn_jacobian_norms(weights, inputs, activation), expected,
                               rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("forget_bias", [-2.0, 0.0, 4.0])
@pytest.mark.parametrize("wrt", ["h", "c"])
def test_lstm_norms_match_autograd(forget_bias, wrt):
    weights = gradients.random_cell_weights("lstm", INPUT, HIDDEN, 1.2, seed=2, gate_bias={"f": forget_bias})
    inputs = gradients.random_inputs(STEPS, INPUT, seed=2)
    expected = autograd_norms(torch_cell("lstm", weights), inputs, HIDDEN, cell_state=True, wrt=wrt)
    h_norms, c_norms = gradients.lstm_jacobian_norms(weights, inputs)
    np.testing.assert_allclose(h_norms if wrt == "h" else c_norms, expected, rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("update_bias", [-3.0, 0.0, 3.0])
def test_gru_norms_match_autograd(update_bias):
    weights = gradients.random_cell_weights("gru", INPUT, HIDDEN, 1.2, seed=3, gate_bias={"z": update_bias})
    inputs = gradients.random_inputs(STEPS, INPUT, seed=3)
    expected = autograd_norms(torch_cell("gru", weights), inputs, HIDDEN)
    np.testing.assert_allclose(gradients.gru_jacobian_norms(weights, inputs), expected, rtol=1e-9, atol=1e-300)


def test_demo_curves_show_both_regimes():
    """The knobs the demos expose really move the curves between vanishing and exploding."""
    small = gradients.rnn_gradient_norms("tanh", 0.5, steps=40)
    large = gradients.rnn_gradient_norms("tanh", 4.0, steps=40)
    assert small[-1] < 1e-6 < 1e3 < large[-1]
    closed_h, closed_c = gradients.lstm_gradient_norms(forget_bias=-2.0, steps=40)
    open_h, open_c = gradients.lstm_gradient_norms(forget_bias=4.0, steps=40)
    assert closed_c[-1] < 1e-6 and open_c[-1] > 0.1
    assert gradients.gru_gradient_norms(update_bias=-3.0, steps=40)[-1] < 1e-6
    assert gradients.gru_gradient_norms(update_bias=5.0, steps=40)[-1] > 0.5


def test_student_step_from_lstm_cell_matches_closed_form():
    """A cell passed in as `step(x, (h, c))` gives the same curve as the closed form on its weights."""
    torch.manual_seed(0)
    cell = nn.LSTMCell(INPUT, HIDDEN, dtype=torch.float64)
    weights = gradients.CellWeights(*(getattr(cell, name).detach().numpy()
                                      for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        norms = gradients.cell_gradient_norms(lambda x, state: cell(x, state), INPUT, HIDDEN,
                                              steps=STEPS, seed=4, cell_state=True)
    finally:
        torch.set_default_dtype(previous)
    expected, _ = gradients.lstm_jacobian_norms(weights, gradients.random_inputs(STEPS, INPUT, seed=4))
    np.testing.assert_allclose(norms, expected, rtol=1e-9)


def test_student_step_as_plain_function_float32():
    """A hand-written RNN step in float32 (the default dtype) gives the float64 curve to float32 accuracy."""
    weights = gradients.random_cell_weights("rnn", INPUT, HIDDEN, 1.1, seed=5)
    w_ih, w_hh, b_ih, b_hh = (torch.from_numpy(w).float() for w in weights.as_tuple())
    norms = gradients.cell_gradient_norms(lambda x, h: torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh),
                                          INPUT, HIDDEN, steps=STEPS, seed=5)
    expected = gradients.rnn_jacobian_norms(weights, gradients.random_inputs(STEPS, INPUT, seed=5))
    np.testing.assert_allclose(norms, expected, rtol=1e-4)


def test_student_step_errors_are_precise():
    with pytest.raises(TypeError, match=r"step 0: an LSTM step must return a pair \(h, c\)"):
        gradients.cell_gradient_norms(lambda x, state: state[0], INPUT, HIDDEN, steps=3, cell_state=True)
    with pytest.raises(ValueError, match=r"step 0: h must have shape \(1, 5\), got \(5,\)"):
        gradients.cell_gradient_norms(lambda x, h: h[0] * 2, INPUT, HIDDEN, steps=3)
    with pytest.raises(ValueError, match="does not depend on the previous state"):
        gradients.cell_gradient_norms(lambda x, h: torch.zeros(1, HIDDEN), INPUT, HIDDEN, steps=3)


def test_sequence_model_influence_matches_autograd():
    coefficients = np.array([0.6, -0.3, 0.2])
    history = torch.randn(10, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    w = torch.from_numpy(coefficients)
    jac = torch.autograd.functional.jacobian(lambda x: (w * x.flip(0)[:3]).sum() + 0.5, history)
    np.testing.assert_allclose(gradients.ar_influence(coefficients, 10), jac.flip(0).numpy())

    a, u, v = 1.1, 0.7, -0.4

    def latent_prediction(x):
        h = torch.zeros((), dtype=torch.float64)
        for value in x:
            h = a * h + u * value
        return v * h
    jac = torch.autograd.functional.jacobian(latent_prediction, history)
    np.testing.assert_allclose(gradients.latent_influence(a, 10, u, v), jac.flip(0).numpy(), rtol=1e-12)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="activation must be one of"):
        gradients.rnn_gradient_norms("softplus")
    with pytest.raises(ValueError, match="lstm has no gate 'z'"):
        gradients.random_cell_weights("lstm", 2, 3, gate_bias={"z": 1.0})
    with pytest.raises(ValueError, match="steps must be a positive integer, got 0"):
        gradients.rnn_gradient_norms(steps=0)
    with pytest.raises(ValueError, match="spectral_radius must be >= 0"):
        gradients.rnn_gradient_norms(spectral_radius=-1.0)


# ----- the clipping demo -----

def test_cliff_gradient_matches_autograd():
    weights = torch.tensor([-1.0, 0.5, 2.0, 2.08, 2.1, 3.0], dtype=torch.float64, requires_grad=True)
    state = torch.full_like(weights, 0.5)
    for _ in range(8):
        state = torch.tanh(weights * state - 0.5)
    loss = (state - (-1.0)) ** 2
    (expected,) = torch.autograd.grad(loss.sum(), weights)
    values, gradient = clipping.cliff_loss_and_gradient(weights.detach().numpy())
    np.testing.assert_allclose(values, loss.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gradient, expected.numpy(), rtol=1e-10)


def test_the_cliff_is_steep():
    """The default cliff: somewhere its gradient is over 100 times the typical gradient."""
    _, gradient = clipping.cliff_loss_and_gradient(np.linspace(-2, 4, 6001))
    assert np.max(np.abs(gradient)) > 100 * np.median(np.abs(gradient))


def test_clipping_bounds_every_step_and_unclipped_descent_jumps():
    unclipped = clipping.descend(clipping.CLIFF_FACE, 0.5, iterations=30)
    clipped = clipping.descend(clipping.CLIFF_FACE, 0.5, iterations=30, max_norm=1.0)
    assert np.max(np.abs(np.diff(unclipped))) > 10
    assert np.max(np.abs(np.diff(clipped))) <= 0.5 * 1.0 + 1e-12
    final_loss = lambda path: clipping.cliff_loss_and_gradient(path[-1])[0]
    assert final_loss(clipped) < final_loss(unclipped)


def test_clipping_errors_are_precise():
    with pytest.raises(ValueError, match="steps must be a positive integer, got 0"):
        clipping.cliff_loss_and_gradient(1.0, steps=0)
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        clipping.descend(1.0, -0.1)
