"""The gradient a differentiable check compares: d/d(input) of a fixed weighted sum of the outputs.

The same functions run on both sides: in the sandbox through the student's function (the result leaves
as plain arrays), and in the judge through the reference. The weights of the sum ("cotangents") depend
only on each output's position and shape, so both sides draw the same ones; they are no answer.
"""
import torch

COTANGENT_SEED = 4242


def floating_inputs(inputs):
    """[(name, tensor)] of every floating-point tensor among the inputs, tuples included ("state[1]")."""
    found = []
    for name, value in inputs.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            found.append((name, value))
        elif isinstance(value, (tuple, list)):
            found += [(f"{name}[{k}]", v) for k, v in enumerate(value)
                      if isinstance(v, torch.Tensor) and v.is_floating_point()]
    return found


def with_grad(inputs):
    """A copy of `inputs` whose floating tensors are fresh leaves that require grad, and those leaves."""
    leaves = {}

    def copy(name, value):
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            leaves[name] = value.detach().clone().requires_grad_(True)
            return leaves[name]
        if isinstance(value, (tuple, list)):
            return type(value)(copy(f"{name}[{k}]", v) for k, v in enumerate(value))
        return value.clone() if isinstance(value, torch.Tensor) else value

    return {name: copy(name, value) for name, value in inputs.items()}, leaves


def output_leaves(result):
    """Tensor leaves of a result, depth first (a tuple's order), as a flat list."""
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        return [leaf for value in result for leaf in output_leaves(value)]
    if isinstance(result, dict):
        return [leaf for value in result.values() for leaf in output_leaves(value)]
    return []


def cotangent(index, leaf):
    generator = torch.Generator().manual_seed(COTANGENT_SEED + index)
    values = torch.randn(tuple(leaf.shape), generator=generator, dtype=torch.float64)
    return values.to(dtype=leaf.dtype, device=leaf.device)


def gradients(result, leaves):
    """({input name: gradient or None}, [indices of floating output leaves that carry no graph]).

    None for an input no gradient reaches. Raises what autograd raises.
    """
    outputs = [leaf for leaf in output_leaves(result) if leaf.is_floating_point()]
    detached = [k for k, leaf in enumerate(outputs) if not leaf.requires_grad]
    terms = [(cotangent(k, leaf) * leaf).sum() for k, leaf in enumerate(outputs) if leaf.requires_grad]
    if not terms:
        return {name: None for name in leaves}, detached
    grads = torch.autograd.grad(torch.stack(terms).sum(), list(leaves.values()), allow_unused=True)
    return dict(zip(leaves, grads)), detached
