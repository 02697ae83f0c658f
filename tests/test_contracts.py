"""Every rule a notebook's text states is enforced by a visible and by a hidden check.

The rule table (autograder.checks.contracts) is printed by `test_rule_table`: one row per (check, rule), with
the visible and the hidden check that enforce it. Each row is proven, not declared: a correct solution
broken in exactly that rule must fail both checks with a message that names the rule.
"""
import json
import re
from pathlib import Path

import pytest
import torch

import reference_solutions
import reference_solutions_new_parts
from autograder.assess import run_check
from autograder.checks.contracts import CONTRACTS, contract_for, rules_of
from autograder.sandbox.autodiff import output_leaves
from autograder.selfcheck import check, visible_cases
from autograder.checks.specs import SPECS

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = {**reference_solutions.BY_CHECK_ID, **reference_solutions_new_parts.BY_CHECK_ID}

# What a violating solution must be told, per rule.
PHRASES = {
    "returns": ("should be a", "expected a tuple", "should be a Python int"),
    "dtype": ("has dtype",),
    "device": ("is on device meta",),
    "no_in_place": ("in place",),
    "new_objects": ("returned it", "holds the input object"),
    "separate_outputs": ("share memory",),
    "differentiable": ("carries no gradient",),
    "value_error": ("should raise ValueError",),
}


def _map_leaves(result, transform):
    if isinstance(result, torch.Tensor):
        return transform(result)
    if isinstance(result, tuple):
        return tuple(_map_leaves(v, transform) for v in result)
    if isinstance(result, list):
        return [_map_leaves(v, transform) for v in result]
    if isinstance(result, dict):
        return {k: _map_leaves(v, transform) for k, v in result.items()}
    return result


def _tensor_args(args, kwargs):
    found = []
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, (tuple, list)):
            found += [v for v in value if isinstance(v, torch.Tensor)]
    return found


def _wrong_container(result):
    if isinstance(result, tuple):
        return list(result)
    if isinstance(result, torch.Tensor):
        return result.tolist()
    if isinstance(result, int):
        return float(result)
    if isinstance(result, dict):
        return list(result.values())
    raise AssertionError(f"no container rule for {type(result).__name__}")


def _returning_an_input(result, args, kwargs):
    """The first output leaf written into an input tensor of its shape and dtype, which is returned."""
    leaves = output_leaves(result)
    for leaf in leaves:
        for tensor in _tensor_args(args, kwargs):
            if tensor.shape == leaf.shape and tensor.dtype == leaf.dtype:
                tensor.copy_(leaf)
                return _map_leaves(result, lambda t, leaf=leaf, tensor=tensor: tensor if t is leaf else t)
    raise AssertionError("no input of an output's shape")


def _twin_leaves(leaves):
    """(first, second): two output leaves of the same shape and dtype, or None."""
    for j, first in enumerate(leaves):
        for second in leaves[j + 1:]:
            if first.shape == second.shape and first.dtype == second.dtype and first.numel():
                return first, second
    return None


def _one_tensor_twice(result):
    """The result with one tensor returned in the place of another of its shape: two outputs that alias."""
    first, second = _twin_leaves(output_leaves(result))
    return _map_leaves(result, lambda t: first if t is second else t)


def violator(check_id, rule):
    """The correct solution of `check_id`, broken in `rule` only."""
    fn = SOLUTIONS[check_id]

    def broken(*args, **kwargs):
        if rule == "value_error":
            try:
                return fn(*args, **kwargs)
            except ValueError:
                return None  # the invalid option silently "handled"
        result = fn(*args, **kwargs)
        if rule == "returns":
            return _wrong_container(result)
        if rule == "dtype":
            return _map_leaves(result, lambda t: t.to(torch.float32 if t.dtype == torch.float64 else torch.float64))
        if rule == "device":
            return _map_leaves(result, lambda t: torch.empty_like(t, device="meta"))
        if rule == "no_in_place":
            next(t for t in _tensor_args(args, kwargs) if t.is_floating_point()).mul_(1.5)
            return result
        if rule == "new_objects":
            return _returning_an_input(result, args, kwargs)
        if rule == "differentiable":
            return _map_leaves(result, lambda t: t.detach())
        if rule == "separate_outputs":
            return _one_tensor_twice(result)
        raise AssertionError(rule)
    return broken


def _applies(check_id, rule):
    """Whether the rule can be broken for this check (a count has no dtype; some outputs match no input)."""
    spec = SPECS[check_id]
    inputs = spec.make_inputs(visible_cases(check_id)[0])
    result = spec.call(SOLUTIONS[check_id], inputs)
    leaves = [t for t in output_leaves(result) if t.is_floating_point()]
    if rule in ("dtype", "device"):
        return bool(leaves)
    if rule == "no_in_place":
        return any(t.is_floating_point() for t in _tensor_args(inputs.values(), {}))
    if rule == "new_objects":
        tensors = _tensor_args(inputs.values(), {})
        return any(t.shape == leaf.shape and t.dtype == leaf.dtype for leaf in leaves for t in tensors)
    if rule == "separate_outputs":
        return _twin_leaves(output_leaves(result)) is not None
    return True


# The notebooks whose right implementations live in tests/reference_solutions*.py (a notebook being added
# proves its rules in its own tests until its solutions join them).
RULE_ROWS = [(check_id, rule) for check_id in CONTRACTS if check_id in SOLUTIONS for rule in rules_of(check_id)]


def _base_rule(rule):
    return "value_error" if rule.startswith("value_error") else rule


def test_rule_table_lists_each_rule_with_the_checks_that_enforce_it(capsys):
    with capsys.disabled():
        print(f"\n{'check':<40} {'rule':<48} visible / hidden check")
        for check_id, rule in RULE_ROWS:
            applies = _applies(check_id, _base_rule(rule))
            print(f"{check_id:<40} {rule:<48} {'check(' + repr(check_id) + ') / grade(...)' if applies else 'n/a'}")
    assert len(RULE_ROWS) >= 5 * len(CONTRACTS)


@pytest.mark.parametrize("check_id, rule", RULE_ROWS, ids=[f"{c}-{r}" for c, r in RULE_ROWS])
def test_each_rule_is_enforced_by_the_visible_and_the_hidden_check(check_id, rule):
    base = _base_rule(rule)
    if not _applies(check_id, base):
        pytest.skip(f"{rule} cannot be broken for {check_id}")
    broken = violator(check_id, base)
    with pytest.raises(AssertionError) as visible:
        check(check_id, broken)
    hidden = run_check(check_id, broken, device="cpu")
    assert not hidden.passed
    for where, message in (("visible", str(visible.value)), ("hidden", hidden.message)):
        assert any(phrase in message for phrase in PHRASES[base]), f"{where} message does not name {rule}:\n{message}"


def _notebook_parts():
    """(assignment, function name, the markdown that introduces it) for every answer cell."""
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        text = ""
        for cell in cells:
            source = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                text = source
            elif source.startswith("def ") and "### BEGIN SOLUTION" in source:
                yield path.parent.name, source[4:source.index("(")], text


@pytest.mark.parametrize("assignment, name, text", list(_notebook_parts()), ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "")
def test_the_text_and_the_contract_table_state_the_same_rules(assignment, name, text):
    check_id = f"{assignment}.{name}"
    if check_id not in CONTRACTS:
        pytest.skip(f"{check_id} has no contract entry yet (common rules only)")
    contract = contract_for(check_id)
    assert ("ValueError" in text) == bool(contract.value_errors), check_id
    if re.search(r"[Rr]eturn[^.]*`?float64`? tensor", text):  # not "the check compares in float64"
        assert torch.float64 in contract.fixed_dtype.values(), check_id
    if "Python `int`" in text:
        assert "int" in contract.returns, check_id
