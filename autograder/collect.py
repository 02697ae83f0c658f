"""Run the function under test on the hidden cases and record what it did, as plain data.

This is the only grading step that executes student code (with the kernels it must implement refused,
see autograder.forbidden). Its records (case + Observation) hold
numpy arrays, numbers and strings only, so a later secure grader can run this step in a sandbox,
ship the records out (e.g. as npz + JSON) and run autograder.assess in a process the student's code
never touched.
"""
import time
from dataclasses import dataclass

from autograder.cases import hidden_cases
from autograder.contracts import contract_for
from autograder.devices import grading_device
from autograder.gradients import gradient_checked
from autograder.outcome import Observation, observe
from autograder.specs import SPECS, Case
from autograder.threads import one_thread


@dataclass(frozen=True)
class CaseRecord:
    case: Case
    observation: Observation
    seconds: float


def collect(check_id, fn, device=None, cases=None):
    """One CaseRecord per case (default: the hidden cases of `check_id` with the default seed); stops
    after the first refused kernel."""
    with one_thread():
        return _collect(SPECS[check_id], check_id, fn, device, cases)


def _collect(spec, check_id, fn, device, cases):
    records = []
    for case in cases if cases is not None else hidden_cases(check_id, device or grading_device()):
        inputs = spec.make_inputs(case)
        start = time.perf_counter()
        observation = observe(spec, fn, inputs, with_gradient=gradient_checked(contract_for(check_id), case))
        records.append(CaseRecord(case, observation, time.perf_counter() - start))
        if observation.forbidden:
            break
    return records
