"""What the sandbox is asked to run for a check, and the same run in this process (visible checks, plain
nbgrader, benchmarks).

`planned_calls(check_id, cases)` turns cases into the calls the sandbox makes (inputs built here, from
each case's seed; gradients asked where autograder.checks.gradients says so). `collect` makes those calls
in this process, after sending the inputs through the same wire format as the sandbox (so both see the
same objects: fresh strings, the same strides), and returns one CaseRecord per case.
"""
import io
import time
from dataclasses import dataclass

from autograder.checks.contracts import contract_for
from autograder.checks.gradients import gradient_checked
from autograder.checks.specs import SPECS, Case
from autograder.sandbox.observe import Observation, observe
from autograder.sandbox.threads import one_thread
from autograder.sandbox.wire import read_inputs, save_records, write_inputs


@dataclass(frozen=True)
class CaseRecord:
    case: Case
    observation: Observation
    seconds: float


def planned_calls(check_id, cases):
    """[(Call, with_gradient)] for the cases, in order."""
    spec, contract = SPECS[check_id], contract_for(check_id)
    return [(spec.call_for(spec.make_inputs(case)), gradient_checked(contract, case)) for case in cases]


def through_wire(calls):
    """The calls as the sandbox receives them (encoded to npz and decoded again)."""
    buffer = io.BytesIO()
    write_inputs(buffer, {"calls": calls})
    return read_inputs(buffer.getvalue())["calls"]


def collect(check_id, fn, cases, refused_modules=()):
    """One CaseRecord per case; stops after the first refused kernel. `refused_modules`: course modules
    whose functions must raise while `fn` runs."""
    spec = SPECS[check_id]
    records = []
    with one_thread():
        for case, (call, with_gradient) in zip(cases, through_wire(planned_calls(check_id, cases))):
            start = time.perf_counter()
            observation = observe(fn, call, with_gradient, spec.refusals, refused_modules)
            records.append(CaseRecord(case, observation, time.perf_counter() - start))
            if observation.forbidden:
                break
    return records


def save_case_records(target, check_id, records):
    """Write CaseRecords as the sandbox writes its records (the cases stay here)."""
    save_records(target, check_id, [r.observation for r in records], [r.seconds for r in records])


def case_records(cases, loaded):
    """CaseRecords from the grader's own cases and the (observation, seconds) pairs the sandbox sent."""
    return [CaseRecord(case, observation, seconds) for case, (observation, seconds) in zip(cases, loaded)]
