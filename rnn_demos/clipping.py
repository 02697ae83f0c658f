"""A loss with a cliff, and gradient descent on it with and without clipping by norm.

The model is the smallest recurrent net with a cliff (after Pascanu, Mikolov and Bengio, 2013):
a scalar state h_t = tanh(w h_(t-1) + b), run for a few steps from h_0, with loss (h_T - target)^2
as a function of the recurrent weight w. Near the w where the final state flips from one sign to
the other the loss rises almost vertically, and its gradient is hundreds of times larger than
anywhere else.
"""
import numpy as np
import torch

from rnn_demos.bptt import clip_by_norm

# The default cliff: the loss climbs from about 0 to about 4 between w = 2.06 and w = 2.12, with
# gradients near 100 on the face; far to the left it is a flat plateau at 4 (h_T -> +1 or -1 wrongly).
CLIFF = {"bias": -0.5, "steps": 8, "initial_state": 0.5, "target": -1.0}
# A point on the face of the cliff, where the demo's descent starts.
CLIFF_FACE = 2.09


def cliff_loss_and_gradient(w, bias=-0.5, steps=8, initial_state=0.5, target=-1.0):
    """Loss (h_T - target)^2 and d loss / d w for every recurrent weight in `w` (any shape).

    The derivative is carried forward with the state: dh_t/dw = (1 - h_t^2) (h_(t-1) + w dh_(t-1)/dw).
    """
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    w = np.asarray(w, dtype=float)
    state = np.full_like(w, initial_state)
    state_slope = np.zeros_like(w)
    for _ in range(steps):
        new_state = np.tanh(w * state + bias)
        state_slope = (1 - new_state**2) * (state + w * state_slope)
        state = new_state
    error = state - target
    return error**2, 2 * error * state_slope


def descend(start, learning_rate, iterations=30, max_norm=None, **cliff):
    """Gradient descent on the cliff loss from w = start; returns the iterates w_0..w_iterations.

    With `max_norm`, each gradient is clipped by norm first (rnn_demos.bptt.clip_by_norm)."""
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    settings = {**CLIFF, **cliff}
    path = [float(start)]
    for _ in range(iterations):
        _, gradient = cliff_loss_and_gradient(path[-1], **settings)
        if max_norm is not None:
            (gradient,) = clip_by_norm([torch.tensor(float(gradient), dtype=torch.float64)], max_norm)
        path.append(path[-1] - learning_rate * float(gradient))
    return np.array(path)
