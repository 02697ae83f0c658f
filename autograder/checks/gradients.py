"""Which cases compare gradients, and the reference's gradient (the sandbox takes the student's with the same
weighted sum of the outputs: autograder.sandbox.autodiff).
"""
import torch

from autograder.sandbox.autodiff import gradients, with_grad

GRADIENT_MAX_STEPS = 6  # the long sequences check values only: their gradients would cost the most


def gradient_checked(contract, case):
    """Whether a case of a check compares gradients: differentiable checks, float64, short sequences.

    The grader asks the sandbox for a gradient exactly where this holds, so a record without one fails."""
    return (contract.differentiable and case.dtype == torch.float64 and case.steps <= GRADIENT_MAX_STEPS
            and case.device != "meta")  # no values on the meta device, no gradient values either


def reference_gradients(spec, inputs):
    """{input name: gradient} through the reference (zeros where the output does not depend on an input)."""
    given, leaves = with_grad(inputs)
    with torch.enable_grad():
        grads, _ = gradients(spec.expected(given), leaves)
    return {name: (torch.zeros_like(leaves[name]) if grad is None else grad.detach())
            for name, grad in grads.items()}
