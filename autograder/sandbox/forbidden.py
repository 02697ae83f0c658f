"""Refuse the framework kernels an exercise asks the student to implement, while the student's code runs.

`refusing(refusals)` is a context manager; `refusals` names what to refuse (the grader sends it with each
check, from autograder.checks.contracts):
- "recurrent_kernels": a TorchFunctionMode refuses the fused cell and sequence kernels (torch.lstm_cell,
  torch._VF.gru_cell, torch.rnn_tanh, ...), which is what nn.LSTMCell, nn.GRU etc. call underneath, and the
  forward of torch.nn's recurrent modules raises, so the message can name the module;
- "autograd" (checks that ask for a manual backward): torch.autograd.grad and Tensor.backward are refused
  and a saved-tensors hook refuses any autograd graph (torch.func transforms are refused by PyTorch itself
  under that hook);
- "clip_grad_norm": torch.nn.utils.clip_grad_norm_;
- "cross_entropy": torch.nn.functional.cross_entropy (and so nn.CrossEntropyLoss), through the same mode.
`refused_modules`: modules whose public functions raise (the in-process visible checks pass the course's
reference and mistaken kernels; the sandbox has neither).
The first refusal is kept in `.violation`, even when the student's code catches the exception.
"""
import contextlib

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

REFUSALS = ("recurrent_kernels", "autograd", "clip_grad_norm", "cross_entropy")

CELL_AND_SEQUENCE_KERNELS = frozenset({
    "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell", "lstm", "gru", "rnn_tanh", "rnn_relu",
    "quantized_lstm_cell", "quantized_gru_cell", "quantized_rnn_tanh_cell", "quantized_rnn_relu_cell",
    "_thnn_fused_lstm_cell", "_thnn_fused_gru_cell",
})
AUTOGRAD_ENTRY_POINTS = frozenset({"grad", "backward"})
AUTOGRAD_TRANSFORMS = (
    (torch.func, ("grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize")),
    (torch.autograd.functional, ("jacobian", "hessian", "vjp", "jvp", "hvp", "vhp")),
)
RECURRENT_MODULES = (nn.RNNCell, nn.LSTMCell, nn.GRUCell, nn.RNN, nn.LSTM, nn.GRU)


class ForbiddenKernel(RuntimeError):
    """Raised inside the student's code when it calls a kernel it has to implement itself."""


class _Guard(TorchFunctionMode):
    def __init__(self, refused_names, what):
        super().__init__()
        self.refused_names = refused_names
        self.what = what
        self.violation = None

    def refuse(self, reason):
        if self.violation is None:
            self.violation = reason
        raise ForbiddenKernel(reason)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in self.refused_names:
            self.refuse(f"it calls the framework kernel `{name}`; {self.what[name]}")
        return func(*args, **(kwargs or {}))


def _kernel_reasons(refusals):
    """{kernel name: why it is refused} for these refusals."""
    reasons = {}
    if "recurrent_kernels" in refusals:
        for name in CELL_AND_SEQUENCE_KERNELS:
            reasons[name] = "this exercise asks you to write the cell with tensor operations"
    if "autograd" in refusals:
        for name in AUTOGRAD_ENTRY_POINTS:
            reasons[name] = "this exercise asks for the gradient by hand (no autograd)"
    if "cross_entropy" in refusals:
        reasons["cross_entropy"] = "this exercise asks you to write the cross-entropy with tensor operations"
    return reasons


@contextlib.contextmanager
def _patched(owner, attribute, replacement):
    original = getattr(owner, attribute)
    setattr(owner, attribute, replacement)
    try:
        yield
    finally:
        setattr(owner, attribute, original)


@contextlib.contextmanager
def refusing(refusals=(), refused_modules=()):
    """Run the body with these kernels refused; yields the guard (see .violation)."""
    unknown = set(refusals) - set(REFUSALS)
    if unknown:
        raise ValueError(f"unknown refusals: {sorted(unknown)}")
    reasons = _kernel_reasons(refusals)
    guard = _Guard(frozenset(reasons), reasons)
    with contextlib.ExitStack() as stack:
        if "recurrent_kernels" in refusals:
            for module_class in RECURRENT_MODULES:
                stack.enter_context(_patched(module_class, "forward", _refusing_forward(guard, module_class)))
        if "autograd" in refusals:
            stack.enter_context(torch.autograd.graph.saved_tensors_hooks(_refuse_graph(guard), lambda t: t))
            for owner, names in AUTOGRAD_TRANSFORMS:
                for name in names:
                    stack.enter_context(_patched(owner, name, _refusing_call(
                        guard, f"{owner.__name__}.{name}", "this exercise asks for the gradient by hand")))
        if "clip_grad_norm" in refusals:
            clip = _refusing_call(guard, "torch.nn.utils.clip_grad_norm_", "this exercise asks you to "
                                  "write the clipping rule yourself")
            stack.enter_context(_patched(nn.utils, "clip_grad_norm_", clip))
            stack.enter_context(_patched(nn.utils.clip_grad, "clip_grad_norm_", clip))
        for module in refused_modules:
            for name in _public_functions(module):
                stack.enter_context(_patched(module, name, _refusing_call(
                    guard, f"{module.__name__}.{name}", "the course's reference answers are not part of a solution")))
        stack.enter_context(guard)
        yield guard


def _public_functions(module):
    return [name for name, value in vars(module).items()
            if callable(value) and not name.startswith("_") and getattr(value, "__module__", "") == module.__name__]


def _refusing_forward(guard, module_class):
    def forward(self, *args, **kwargs):
        guard.refuse(f"it calls torch.nn.{module_class.__name__}; this exercise asks you to write the "
                     "computation with tensor operations")
    return forward


def _refusing_call(guard, name, why):
    def refused(*args, **kwargs):
        guard.refuse(f"it calls {name}; {why}")
    return refused


def _refuse_graph(guard):
    def pack(tensor):
        guard.refuse("it builds an autograd graph (requires_grad / autograd); this exercise asks for "
                     "the gradient by hand")
    return pack
