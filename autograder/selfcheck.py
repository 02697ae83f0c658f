"""Visible self-checks for the exercise notebooks.

    from autograder.selfcheck import check, check_notebook
    check("lstm.forget_gate", forget_gate)       # raises AssertionError saying what is wrong
    check_notebook("lstm", globals())            # runs every check whose function is defined

The inputs are small and public (one fixed seed, float64 on the CPU); the references come from
torch.nn modules (see references.py). Grading uses other, hidden inputs (package autograder).
"""
from dataclasses import replace

import torch

from autograder.checks.cases import visible_family_cases
from autograder.checks.collect import through_wire
from autograder.checks.families import GRADIENT_FAMILIES
from autograder.checks.contracts import contract_for
from autograder.checks.gradients import gradient_checked
from autograder.checks.judge import expected_outcome, judge
from autograder.checks.specs import SPECS, Case, assignment_of, function_name
from autograder.checks.tolerances import tolerance_for
from autograder.hints import COURSE_KERNELS
from autograder.hints.diagnose import case_view, diagnose
from autograder.sandbox.observe import observe
from autograder.sandbox.threads import one_thread


# Fewer and smaller cases than the hidden ones, enforcing the same rules (autograder.checks.contracts): the
# public case in float64, the same in float32 (dtype follows the inputs), one step with batch 1 (no axis
# squeezed away), steps == batch for sequences (the layout comes from batch_first, not from the shapes),
# every invalid option the text documents, CUDA when the student has it (device follows the inputs), and
# one case of each family of inputs that applies (autograder.checks.cases.visible_family_cases).
VISIBLE_VARIANTS = (dict(), dict(dtype=torch.float32, seed=1), dict(steps=1, batch=1, seed=2))
STEPS_EQUAL_BATCH = dict(steps=3, batch=3, seed=3)
SEQUENCE_OPTION = "batch_first"


def visible_cases(check_id):
    options_list = SPECS[check_id].visible_options
    variants = list(VISIBLE_VARIANTS)
    if any(SEQUENCE_OPTION in options for options in options_list):
        variants.append(STEPS_EQUAL_BATCH)
    if torch.cuda.is_available():
        variants.append(dict(device="cuda", dtype=torch.float32, seed=4))
    cases = [replace(Case(), **variant).with_options(**options) for options in options_list for variant in variants]
    cases += [Case().with_options(**{**options_list[0], **invalid})
              for invalid, _ in contract_for(check_id).value_errors]
    return cases + visible_family_cases(check_id)


def visible_tolerance(check_id, case):
    """The hidden checks' tolerance for the case's device and dtype: the same rules, visible or hidden."""
    return tolerance_for(check_id, case.device, case.dtype)


def check(check_id, fn):
    """Run the visible check `check_id` on `fn`; print an ok line, or raise AssertionError(reason)
    (NotImplementedError while `fn` is still the stub)."""
    if check_id not in SPECS:
        known = ", ".join(sorted(SPECS))
        raise ValueError(f"unknown check {check_id!r}; known checks: {known}")
    if not callable(fn):
        raise TypeError(f"check({check_id!r}, fn) needs a function, got {type(fn).__name__}")
    cases = visible_cases(check_id)
    failure = _first_failure(check_id, fn, cases)
    if failure:
        where, reason = failure
        if reason.startswith("not implemented"):
            raise NotImplementedError(f"{check_id}: {reason}")
        raise AssertionError(f"{check_id}{where}:\n{reason}" if where else f"{check_id}: {reason}")
    print(f"ok: {check_id} ({len(cases)} visible case{'s' * (len(cases) > 1)})")
    if getattr(SPECS[check_id], "explanation", ""):  # a question's explanation, shown once it is answered right
        print(SPECS[check_id].explanation)


def _first_failure(check_id, fn, cases):
    """(where, reason) for the first case `fn` gets wrong, or None when all pass.

    `where` describes the case ("" while the function is not implemented: the inputs do not matter yet);
    `reason` says what is wrong, with the likely mistake when one is recognised.
    """
    with one_thread():
        return _first_failure_of(SPECS[check_id], check_id, fn, cases)


def _first_failure_of(spec, check_id, fn, cases):
    views, failure = [], None
    for index, case in enumerate(cases):
        inputs = spec.make_inputs(case)
        # One gradient is enough to show that the function stays differentiable: the first case's; and those
        # of saturated gates, where a `where`-based sigmoid has NaN gradients.
        gradient_due = (index == 0 or case.family in GRADIENT_FAMILIES) and gradient_checked(contract_for(check_id),
                                                                                             case)
        [(call, _)] = through_wire([(spec.call_for(inputs), gradient_due)])
        observation = observe(fn, call, gradient_due, spec.refusals, COURSE_KERNELS)
        outcome = expected_outcome(spec, inputs)
        tolerance = visible_tolerance(check_id, case)
        reason = judge(spec, inputs, observation, tolerance, outcome, gradient_due=gradient_due)
        if reason and reason.startswith("not implemented"):
            return "", reason
        view = case_view(spec, case, inputs, observation, outcome, tolerance)
        views.append(view)
        if reason and failure is None:
            failure = (view, reason)
    if failure is None:
        return None
    view, reason = failure
    if not view.passed and not view.observation.forbidden:
        where, hint = diagnose(spec, views)
        reason += "".join(f"\nWhere: {line}" for line in where)
        reason += f"\nLikely mistake: {hint}" if hint else ""
    return f" ({view.case.describe(view.inputs)})", reason


def check_notebook(assignment, namespace):
    """Run every visible check of `assignment` whose function is defined in `namespace`; print a table.

    Returns {check id: "passed" | "failed: <reason>" | "not implemented yet"}.
    """
    ids = [check_id for check_id in SPECS if assignment_of(check_id) == assignment]
    if not ids:
        assignments = sorted({assignment_of(c) for c in SPECS})
        raise ValueError(f"unknown assignment {assignment!r}; known: {', '.join(assignments)}")
    results = {}
    for check_id in ids:
        fn = namespace.get(function_name(check_id))
        if fn is None:
            results[check_id] = "not implemented yet (function not defined)"
            continue
        failure = _first_failure(check_id, fn, visible_cases(check_id))
        if failure is None:
            results[check_id] = "passed"
        elif failure[1].startswith("not implemented"):
            results[check_id] = "not implemented yet"
        else:
            results[check_id] = f"failed: {failure[1]}"
    width = max(len(function_name(c)) for c in ids)
    for check_id, status in results.items():
        first_line, *more = status.split("\n")
        print(f"{function_name(check_id):<{width}}  {first_line}")
        for line in more:
            print(f"{'':<{width}}    {line}")
    passed = sum(status == "passed" for status in results.values())
    print(f"{passed} of {len(results)} checks passed")
    return results
