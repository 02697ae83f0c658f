"""Hand-written BPTT, state Jacobians, gradient bounds and clipping, checked against torch.autograd."""
import math

import pytest
import torch

from rnn_demos import bptt

DTYPE = torch.float64


def _random_problem(activation="tanh", steps=7, batch=3, input_size=4, hidden_size=5, seed=0):
    torch.manual_seed(seed)
    rnn = torch.nn.RNN(input_size, hidden_size, nonlinearity=activation).to(DTYPE)
    inputs = torch.randn(steps, batch, input_size, dtype=DTYPE)
    h0 = torch.randn(batch, hidden_size, dtype=DTYPE)
    return rnn, inputs, h0


def _autograd_states(inputs, h0, weights, activation):
    """The same recurrence as rnn_forward, but recorded by autograd, with every state kept."""
    act = bptt.ACTIVATIONS[activation]
    states = [h0]
    for x in inputs:
        h = act(x @ weights.W_ih.T + weights.b_ih + states[-1] @ weights.W_hh.T + weights.b_hh)
        h.retain_grad()
        states.append(h)
    return states


def _relative_error(a, b):
    return ((a - b).abs().max() / max(a.abs().max().item(), b.abs().max().item(), 1e-300)).item()


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_forward_matches_torch_rnn(activation):
    rnn, inputs, h0 = _random_problem(activation)
    states = bptt.rnn_forward(inputs, h0, bptt.RNNWeights.from_module(rnn), activation)
    expected, last = rnn(inputs, h0[None])
    assert states.shape == (inputs.shape[0] + 1,) + tuple(h0.shape)
    assert torch.equal(states[0], h0)
    torch.testing.assert_close(states[1:], expected.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(states[-1], last[0].detach(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_backward_matches_autograd_for_a_loss_on_every_state(activation):
    rnn, inputs, h0 = _random_problem(activation, seed=1)
    weights = bptt.RNNWeights.from_module(rnn)
    targets = torch.randn(inputs.shape[0], *h0.shape, dtype=DTYPE)

    leaves = [t.clone().requires_grad_() for t in (weights.W_ih, weights.W_hh, weights.b_ih, weights.b_hh, h0)]
    recorded = _autograd_states(inputs, leaves[4], bptt.RNNWeights(*leaves[:4]), activation)
    loss = sum(((h - target) ** 2).sum() for h, target in zip(recorded[1:], targets)) / 2
    loss.backward()

    states = bptt.rnn_forward(inputs, h0, weights, activation)
    grads = bptt.rnn_backward(inputs, states, weights, states[1:] - targets, activation)
    for name, leaf in zip(("W_ih", "W_hh", "b_ih", "b_hh", "h0"), leaves):
        assert _relative_error(getattr(grads, name), leaf.grad) < 1e-12, name
    for t, h in enumerate(recorded[1:]):
        assert _relative_error(grads.hidden[t], h.grad) < 1e-12, f"dL/dh_{t + 1}"


def test_gradient_of_a_loss_on_the_last_state_is_a_product_of_step_jacobians():
    # dL/dh_t = dL/dh_T prod_{k=t+1}^{T} diag(1 - h_k^2) W_hh, for one unbatched sequence.
    rnn, inputs, h0 = _random_problem("tanh", steps=9, batch=1, seed=2)
    weights = bptt.RNNWeights.from_module(rnn)
    states = bptt.rnn_forward(inputs, h0, weights)
    grad_last = torch.randn(h0.shape[1], dtype=DTYPE)
    grad_states = torch.zeros(inputs.shape[0], *h0.shape, dtype=DTYPE)
    grad_states[-1, 0] = grad_last

    grads = bptt.rnn_backward(inputs, states, weights, grad_states)
    jacobians = bptt.state_jacobians(states[:, 0], weights.W_hh)
    steps = inputs.shape[0]
    for t in range(1, steps + 1):
        assert _relative_error(grads.hidden[t - 1, 0], grad_last @ jacobians[steps - t]) < 1e-12


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_state_jacobians_match_autograd_jacobians(activation):
    rnn, inputs, h0 = _random_problem(activation, steps=6, batch=1, seed=3)
    weights = bptt.RNNWeights.from_module(rnn)
    states = bptt.rnn_forward(inputs, h0, weights, activation)
    jacobians = bptt.state_jacobians(states[:, 0], weights.W_hh, activation)
    steps = inputs.shape[0]
    assert len(jacobians) == steps + 1
    assert torch.equal(jacobians[0], torch.eye(h0.shape[1], dtype=DTYPE))

    for t in range(steps):
        def last_state_from(h_t, t=t):
            return _autograd_states(inputs[t:], h_t[None], weights, activation)[-1][0]
        expected = torch.autograd.functional.jacobian(last_state_from, states[t, 0])
        assert _relative_error(jacobians[steps - t], expected) < 1e-12, f"dh_T/dh_{t}"


@pytest.mark.parametrize("name, function, bound", [("sigmoid", torch.sigmoid, 0.25), ("tanh", torch.tanh, 1.0)])
def test_derivative_bounds_are_the_maxima_of_the_activation_derivatives(name, function, bound):
    a = torch.linspace(-8, 8, 16001, dtype=DTYPE, requires_grad=True)
    function(a).sum().backward()
    assert a.grad.max().item() <= bound
    assert a.grad.max().item() == pytest.approx(bound, rel=1e-9)  # reached at a = 0
    assert bptt.DERIVATIVE_BOUNDS[name] == bound


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("spectral_radius", [0.5, 1.0, 1.5])
def test_jacobian_norms_respect_the_bound(activation, spectral_radius):
    torch.manual_seed(4)
    hidden_size, steps = 16, 30
    W_hh = bptt.recurrent_matrix(hidden_size, spectral_radius, seed=5)
    weights = bptt.RNNWeights(torch.randn(hidden_size, 3, dtype=DTYPE), W_hh,
                              torch.zeros(hidden_size, dtype=DTYPE), torch.zeros(hidden_size, dtype=DTYPE))
    states = bptt.rnn_forward(torch.randn(steps, 1, 3, dtype=DTYPE), torch.zeros(1, hidden_size, dtype=DTYPE),
                              weights, activation)
    for k, jacobian in enumerate(bptt.state_jacobians(states[:, 0], W_hh, activation)):
        norm = torch.linalg.matrix_norm(jacobian, ord=2).item()
        assert norm <= bptt.jacobian_norm_bound(W_hh, k, activation) * (1 + 1e-9)


def test_jacobian_norms_vanish_for_a_contracting_tanh_rnn_and_explode_for_an_expanding_relu_rnn():
    torch.manual_seed(6)
    hidden_size, steps = 32, 40
    inputs = torch.randn(steps, 1, 4, dtype=DTYPE)
    W_ih = 0.5 * torch.randn(hidden_size, 4, dtype=DTYPE)
    zeros = torch.zeros(hidden_size, dtype=DTYPE)
    last_norms = {}
    for activation, radius in (("tanh", 0.5), ("relu", 3.0)):
        W_hh = bptt.recurrent_matrix(hidden_size, radius, seed=7)
        states = bptt.rnn_forward(inputs, zeros[None], bptt.RNNWeights(W_ih, W_hh, zeros, zeros), activation)
        last_norms[activation] = torch.linalg.matrix_norm(
            bptt.state_jacobians(states[:, 0], W_hh, activation)[-1], ord=2).item()
    assert last_norms["tanh"] < 0.5 ** steps * (1 + 1e-9)
    assert last_norms["relu"] > 1e6


@pytest.mark.parametrize("radius", [0.3, 1.0, 2.5])
def test_recurrent_matrix_has_every_singular_value_equal_to_the_radius(radius):
    singular_values = torch.linalg.svdvals(bptt.recurrent_matrix(12, radius, seed=8))
    torch.testing.assert_close(singular_values, torch.full((12,), radius, dtype=DTYPE))


def _parameter_gradients(seed=9, scale=10.0):
    torch.manual_seed(seed)
    parameters = [torch.nn.Parameter(torch.randn(4, 3, dtype=DTYPE)), torch.nn.Parameter(torch.randn(5, dtype=DTYPE))]
    for p in parameters:
        p.grad = scale * torch.randn_like(p) ** 3  # heavy-tailed, so clipping elements changes the direction
    return parameters


def test_clip_by_norm_matches_torch_and_keeps_the_direction():
    parameters = _parameter_gradients()
    grads = [p.grad.clone() for p in parameters]
    clipped = bptt.clip_by_norm(grads, max_norm=1.0)
    torch.nn.utils.clip_grad_norm_(parameters, max_norm=1.0)
    for ours, theirs in zip(clipped, parameters):
        torch.testing.assert_close(ours, theirs.grad, rtol=1e-5, atol=0)  # torch divides by norm + 1e-6
    assert bptt.global_norm(clipped).item() == pytest.approx(1.0, rel=1e-12)
    assert bptt.cosine_similarity(clipped, grads) == pytest.approx(1.0, rel=1e-12)


def test_clip_by_norm_leaves_small_gradients_alone():
    grads = [torch.tensor([0.3, -0.4], dtype=DTYPE)]
    assert torch.equal(bptt.clip_by_norm(grads, max_norm=1.0)[0], grads[0])
    assert torch.equal(bptt.clip_by_norm([torch.zeros(3)], max_norm=1.0)[0], torch.zeros(3))


def test_clip_by_value_matches_torch_and_changes_the_direction():
    parameters = _parameter_gradients()
    grads = [p.grad.clone() for p in parameters]
    clipped = bptt.clip_by_value(grads, max_value=1.0)
    torch.nn.utils.clip_grad_value_(parameters, clip_value=1.0)
    for ours, theirs in zip(clipped, parameters):
        assert torch.equal(ours, theirs.grad)
    assert bptt.cosine_similarity(clipped, grads) < 0.99


def test_cosine_after_clipping_each_element_of_a_small_example():
    # [100, 1] clamped to [1, 1]: cos = (100 + 1) / (sqrt(100^2 + 1) * sqrt(2)).
    clipped = bptt.clip_by_value([torch.tensor([100.0, 1.0], dtype=DTYPE)], max_value=1.0)
    assert torch.equal(clipped[0], torch.tensor([1.0, 1.0], dtype=DTYPE))
    expected = 101 / (math.sqrt(10001) * math.sqrt(2))
    assert bptt.cosine_similarity(clipped, [torch.tensor([100.0, 1.0], dtype=DTYPE)]) == pytest.approx(expected)


def test_bad_arguments_get_precise_errors():
    rnn, inputs, h0 = _random_problem()
    weights = bptt.RNNWeights.from_module(rnn)
    with pytest.raises(ValueError, match="activation must be one of"):
        bptt.rnn_forward(inputs, h0, weights, activation="sigmoid")
    with pytest.raises(ValueError, match=r"inputs must have shape \(T, batch, input_size\)"):
        bptt.rnn_forward(inputs[0], h0, weights)
    with pytest.raises(ValueError, match="inputs have 3 features but W_ih expects 4"):
        bptt.rnn_forward(inputs[..., :3], h0, weights)
    with pytest.raises(ValueError, match="h0 must have shape"):
        bptt.rnn_forward(inputs, h0[:1], weights)
    states = bptt.rnn_forward(inputs, h0, weights)
    with pytest.raises(ValueError, match="grad_states must have shape"):
        bptt.rnn_backward(inputs, states, weights, states)
    with pytest.raises(ValueError, match="one unbatched state"):
        bptt.step_jacobian(states[1], weights.W_hh)
    with pytest.raises(ValueError, match="max_norm must be positive"):
        bptt.clip_by_norm([torch.ones(2)], 0.0)
    with pytest.raises(ValueError, match="max_value must be positive"):
        bptt.clip_by_value([torch.ones(2)], -1.0)
