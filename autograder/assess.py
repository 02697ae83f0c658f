"""Judge collected records against references computed here, and name the likely mistake.

Needs only the records (plain data) and the check id: the inputs are rebuilt from each case's seed,
the references come from torch.nn (autograder.references), the tolerances from
autograder.tolerances.
"""
from dataclasses import dataclass

from autograder.diagnose import case_view, diagnose
from autograder.tolerances import tolerance_for
from autograder.compare import max_error
from autograder.contracts import contract_for
from autograder.gradients import gradient_checked
from autograder.outcome import expected_outcome, judge
from autograder.specs import SPECS
from autograder.threads import one_thread


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
        expected, expected_error = outcome = expected_outcome(spec, inputs)
        message = judge(spec, inputs, record.observation, tolerance, outcome,
                        gradient_due=gradient_checked(contract_for(check_id), case))
        if message and message.startswith("not implemented"):
            return Result(check_id, False, f"{check_id}: {message}", float("inf"), len(records), seconds)
        view = case_view(spec, case, inputs, record.observation, outcome, tolerance)
        views.append(view)
        if message and failure is None:
            failure = (view, message)
        elif not message and expected_error is None:
            largest = max(largest, max_error(record.observation.result, expected))
    if failure:
        view, message = failure
        where, hint = diagnose(spec, views) if not view.passed and not view.observation.forbidden else ([], None)
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
