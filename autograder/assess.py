"""Judge collected records against references computed here, and name the likely mistake.

`assess(check_id, records)` needs only the records (plain data) and the check id: the inputs are rebuilt
from each case's seed, the references come from torch.nn (autograder.checks.references), the tolerances
from autograder.checks.tolerances, the explanations from autograder.hints. `run_check` collects and
judges in one process (plain nbgrader, benchmarks, the blind sets); the sandboxed grader collects in the
sandbox and judges here.
"""
from dataclasses import dataclass

import torch

from autograder.checks.cases import DEFAULT_SEED, hidden_cases
from autograder.checks.collect import collect
from autograder.checks.compare import max_error
from autograder.checks.contracts import contract_for
from autograder.checks.gradients import gradient_checked, reference_gradients
from autograder.checks.judge import clone_inputs, expected_outcome, judge
from autograder.checks.specs import SPECS, assignment_of
from autograder.checks.tolerances import tolerance_for
from autograder.hints import COURSE_KERNELS
from autograder.hints.diagnose import case_view, diagnose
from autograder.sandbox.devices import grading_device
from autograder.sandbox.snapshots import snapshot
from autograder.sandbox.threads import one_thread

CHECK_IDS = tuple(SPECS)
# A grading worker judges many submissions on the same hidden cases: each case's reference outcome and
# gradients are computed once per process (the cases are rebuilt from their seeds, so equal descriptions
# mean equal inputs).
_OUTCOMES, _GRADIENTS = {}, {}
_OUTCOMES_KEPT = 4096


@dataclass(frozen=True)
class Result:
    check_id: str
    passed: bool
    message: str
    max_error: float
    cases: int
    seconds: float
    hint: str | None = None  # the likely mistake, when one was recognised


def assess(check_id, records):
    with one_thread():
        return _assess(check_id, records)


def _assess(check_id, records):
    spec = SPECS[check_id]
    seconds = sum(r.seconds for r in records)
    largest = 0.0
    views, failure = [], None
    for record in records:
        case = record.case
        inputs = spec.make_inputs(case)
        tolerance = tolerance_for(check_id, case.device, case.dtype)
        expected, expected_error = outcome = _reference_outcome(spec, case, inputs)
        message = judge(spec, inputs, record.observation, tolerance, outcome,
                        gradient_due=gradient_checked(contract_for(check_id), case),
                        gradients_of=lambda: _reference_gradients(spec, case, inputs))
        if message and message.startswith("not implemented"):
            return Result(check_id, False, f"{check_id}: {message}", float("inf"), len(records), seconds)
        view = case_view(spec, case, inputs, record.observation, outcome, tolerance)
        views.append(view)
        if message and failure is None:
            failure = (view, message)
        elif not message and expected_error is None and record.observation.error_type is None:  # not excused
            derived = spec.derive(record.observation.result, inputs)
            largest = max(largest, max_error(snapshot(derived) if isinstance(derived, torch.Tensor) else derived,
                                             expected))
    if failure:
        view, message = failure
        # Explained from every case whose values are wrong, even when the first failure is another rule's.
        values_wrong = any(not v.passed for v in views)
        where, hint = diagnose(spec, views) if values_wrong and not view.observation.forbidden else ([], None)
        text = f"{check_id} failed on a hidden case ({view.case.describe(view.inputs)}):\n{message}"
        text += "".join(f"\nWhere: {line}" for line in where)
        if hint:
            text += f"\nLikely mistake: {hint}"
        return Result(check_id, False, text, float("inf"), len(records), seconds, hint)
    devices = sorted({r.case.device for r in records})
    dtypes = sorted({str(r.case.dtype).replace("torch.", "") for r in records})
    text = (f"{check_id}: passed {len(records)} hidden cases ({', '.join(devices)}; {', '.join(dtypes)}), "
            f"largest error {largest:.2g}")
    return Result(check_id, True, text, largest, len(records), seconds)


def _reference_outcome(spec, case, inputs):
    key = (spec.check_id, repr(case))
    outcome = _OUTCOMES.get(key)  # one read: grading threads share the cache (and may clear it)
    if outcome is None:
        if len(_OUTCOMES) >= _OUTCOMES_KEPT:
            _OUTCOMES.clear()
        outcome = _OUTCOMES[key] = expected_outcome(spec, inputs)
    expected, expected_error = outcome
    return clone_inputs(expected), expected_error


def _reference_gradients(spec, case, inputs):
    key = (spec.check_id, repr(case))
    gradients = _GRADIENTS.get(key)  # one read, as in _reference_outcome
    if gradients is None:
        if len(_GRADIENTS) >= _OUTCOMES_KEPT:
            _GRADIENTS.clear()
        gradients = _GRADIENTS[key] = reference_gradients(spec, inputs)
    return {name: gradient.clone() for name, gradient in gradients.items()}


def prepare_references(checks):
    """Compute and keep the reference outcome (and gradients, where compared) of every case of `checks`
    ({check id: hidden cases}) not kept yet: the grader calls it while the sandbox runs, so the first
    submission of an assignment in a process does not wait for them after its run."""
    with one_thread():
        for check_id, cases in checks.items():
            spec = SPECS[check_id]
            contract = contract_for(check_id)
            for case in cases:
                key = (check_id, repr(case))
                wants_gradients = key not in _GRADIENTS and gradient_checked(contract, case)
                if key in _OUTCOMES and not wants_gradients:
                    continue
                inputs = spec.make_inputs(case)
                _, error = _reference_outcome(spec, case, inputs)
                if error is None and wants_gradients:
                    _reference_gradients(spec, case, inputs)


def run_check(check_id, fn, device=None, seed=DEFAULT_SEED):
    """Collect the function's outputs on the hidden cases of the term seed `seed`, then judge them."""
    if check_id not in SPECS:
        raise ValueError(f"unknown check {check_id!r}; known checks: {', '.join(SPECS)}")
    if not callable(fn):
        raise TypeError(f"the function under test for {check_id} must be callable, got {type(fn).__name__}")
    cases = hidden_cases(check_id, device or grading_device(), seed)
    return assess(check_id, collect(check_id, fn, cases=cases, refused_modules=COURSE_KERNELS))


def checks_of(assignment):
    return [check_id for check_id in SPECS if assignment_of(check_id) == assignment]
