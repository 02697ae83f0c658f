"""Call a function on one set of inputs and record what happened, as plain data.

`observe` is the only code that executes a function under test. It returns an `Observation` made of
snapshots, names and strings, which the judge (autograder.checks.judge) reads in another process.
"""
from dataclasses import dataclass

import torch

from autograder.sandbox.autodiff import gradients, with_grad
from autograder.sandbox.forbidden import refusing
from autograder.sandbox.snapshots import snapshot

MAX_ERROR_MESSAGE = 500


def warm_meta_device():
    """The first operation on the meta device loads its kernels (about 1 s of CPU): the sandbox calls
    this before any student code (once in the fork server, so that its children do not each pay it
    inside their CPU limit when a hidden case runs on meta: autograder.checks.families). Not at import:
    the grader's host imports this module too, and pays it only when it first computes a meta case."""
    torch.stack([torch.sigmoid(torch.empty(1, 1, device="meta") @ torch.empty(1, 1, device="meta"))])


@dataclass(frozen=True)
class Observation:
    result: object = None              # snapshot of the returned value
    error_type: str | None = None      # name of the exception raised, if any
    error_message: str = ""
    modified_inputs: tuple = ()        # names of input tensors the function changed in place
    forbidden: str | None = None       # why the call used a kernel it had to implement
    returned_inputs: tuple = ()        # names of input objects returned as (part of) the result
    # Differentiable checks only: the gradient of a fixed weighted sum of the outputs (sandbox.autodiff)
    # taken through the function, per floating input (None: no gradient reached it), as numpy arrays.
    gradients: dict | None = None
    detached_outputs: tuple = ()       # positions of floating output leaves that carry no autograd graph
    gradient_error: str | None = None  # what the call with inputs requiring grad raised
    # Pairs of output leaves (depth-first positions) that share memory: writing one would change the other.
    aliased_outputs: tuple = ()
    # Output leaves (depth-first positions, as aliased_outputs) that require grad after the plain call:
    # they were not detached from a graph the function built.
    grad_outputs: tuple = ()


@dataclass(frozen=True)
class Call:
    """How to call the function: its inputs by name, in order; which of them go by keyword; or none."""

    inputs: dict
    keywords: tuple = ()
    no_arguments: bool = False   # answers and trained models: fn()

    def run(self, fn, inputs=None):
        inputs = self.inputs if inputs is None else inputs
        if self.no_arguments:
            return fn()
        positional = [v for k, v in inputs.items() if k not in self.keywords]
        return fn(*positional, **{k: v for k, v in inputs.items() if k in self.keywords})


def copy_tensor(tensor):
    """A copy with the same shape, strides and dtype on the same device: a transposed or strided view
    stays one (Tensor.clone makes a non-dense view contiguous), an expanded one stays expanded."""
    if tensor.is_meta or tensor.numel() == 0:
        return tensor.clone()
    extent = 1 + sum((size - 1) * stride for size, stride in zip(tensor.shape, tensor.stride()))
    flat = tensor.detach().as_strided((extent,), (1,), tensor.storage_offset()).clone()
    return flat.as_strided(tuple(tensor.shape), tuple(tensor.stride()), 0)


def copy_inputs(value):
    if isinstance(value, torch.Tensor):
        return copy_tensor(value)
    if isinstance(value, (tuple, list)):
        return type(value)(copy_inputs(v) for v in value)
    if isinstance(value, dict):
        return {k: copy_inputs(v) for k, v in value.items()}
    return value


def _tensors(name, value):
    if isinstance(value, torch.Tensor):
        yield name, value
    elif isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            yield from _tensors(f"{name}[{index}]", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _tensors(f"{name}[{key!r}]", item)


def observe(fn, call, with_gradient=False, refusals=(), refused_modules=()):
    """Call `fn` on a copy of `call.inputs`, with the kernels named in `refusals` refused (see forbidden.py).

    Records its result or exception, any in-place change of an input, any input object returned, outputs
    that share memory, any refused kernel call and, `with_gradient`, the gradient through `fn` (a second
    call with inputs that require grad).
    """
    inputs = call.inputs
    given = copy_inputs(inputs)
    with refusing(refusals, refused_modules) as guard:
        try:
            result = call.run(fn, given)
        except Exception as error:  # the student's exception is data here, judged outside
            return Observation(error_type=type(error).__name__[:100],
                               error_message=_text(error)[:MAX_ERROR_MESSAGE], forbidden=guard.violation)
        gradient_fields = _observe_gradients(fn, call) if with_gradient else {}
    modified = tuple(name for (name, before), (_, after) in
                     zip(_tensors("", list(inputs.values())), _tensors("", list(given.values())))
                     if not _same(before, after))
    names = list(inputs)
    modified = tuple(_input_name(names, m) for m in modified)
    return Observation(result=snapshot(result), modified_inputs=modified, forbidden=guard.violation,
                       returned_inputs=_returned_inputs(result, given), aliased_outputs=_aliased(result, given),
                       grad_outputs=_requiring_grad(result), **gradient_fields)


def _text(error):
    try:
        return str(error)
    except Exception:  # a hostile __str__
        return "<the exception's text could not be read>"


def _same(before, after):
    if before.is_meta or after.is_meta:
        return True  # no values to compare
    return before.shape == after.shape and torch.equal(before, after)


def _observe_gradients(fn, call):
    given, leaves = with_grad(call.inputs)
    try:
        with torch.enable_grad():
            grads, detached = gradients(call.run(fn, given), leaves)
    except Exception as error:  # data for the judge, like any exception of the function
        return {"gradient_error": f"{type(error).__name__}: {_text(error)[:300]}"}
    return {"gradients": {name: None if grad is None else grad.detach().cpu().double().numpy()
                          for name, grad in grads.items()},
            "detached_outputs": tuple(detached)}


def _leaves(result):
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        return [leaf for value in result for leaf in _leaves(value)]
    if isinstance(result, dict):
        return [leaf for value in result.values() for leaf in _leaves(value)]
    return []


def _requiring_grad(result):
    """Positions of the output leaves (numbered as in _aliased) that require grad."""
    leaves = [leaf for leaf in _leaves(result) if leaf.numel()]
    return tuple(k for k, leaf in enumerate(leaves) if leaf.requires_grad)


def _aliased(result, given=None):
    """Pairs (j, k) of output tensors (depth-first positions) whose memory overlaps, leaving out views of an
    input (x.unfold(...) and x[tau:] may overlap: they are the caller's data, not two new results)."""
    leaves = [leaf for leaf in _leaves(result) if leaf.numel() and not leaf.is_meta]
    input_storages = {t.untyped_storage().data_ptr() for _, t in _tensors("", list((given or {}).values()))
                      if not t.is_meta}
    spans = []
    for leaf in leaves:
        if leaf.untyped_storage().data_ptr() in input_storages:
            spans.append((None, 0, 0))  # never overlaps
            continue
        start = leaf.data_ptr()
        extent = 1 + sum((size - 1) * stride for size, stride in zip(leaf.shape, leaf.stride()))
        spans.append((leaf.device, start, start + extent * leaf.element_size()))
    return tuple((j, k) for j in range(len(spans)) for k in range(j + 1, len(spans))
                 if spans[j][0] is not None and spans[j][0] == spans[k][0] and spans[j][1] < spans[k][2]
                 and spans[k][1] < spans[j][2])


def _returned_inputs(result, given):
    """Names of the input objects (tensors, lists, tuples, dicts and their items) that the result holds as
    they are."""
    by_id = {}
    for name, value in given.items():
        by_id[id(value)] = name
        if isinstance(value, (tuple, list)):
            by_id.update({id(v): f"{name}[{k}]" for k, v in enumerate(value)})
        elif isinstance(value, dict):
            by_id.update({id(v): f"{name}[{k!r}]" for k, v in value.items()})
    found = []

    def visit(value):
        if isinstance(value, (torch.Tensor, tuple, list, dict)) and id(value) in by_id:
            found.append(by_id[id(value)])
        if isinstance(value, (tuple, list)):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)

    visit(result)
    return tuple(dict.fromkeys(found))


def _input_name(names, path):
    """'[2][1]' -> 'state[1]' for inputs named [..., 'state', ...]."""
    index, _, rest = path[1:].partition("]")
    return names[int(index)] + rest
