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
from autograder.devices import grading_device
from autograder.outcome import Observation, observe
from autograder.specs import SPECS, Case


@dataclass(frozen=True)
class CaseRecord:
    case: Case
    observation: Observation
    seconds: float


def collect(check_id, fn, device=None, cases=None):
    """One CaseRecord per case (default: the hidden cases of `check_id` with the default seed); stops
    after the first refused kernel."""
    spec = SPECS[check_id]
    records = []
    for case in cases if cases is not None else hidden_cases(check_id, device or grading_device()):
        inputs = spec.make_inputs(case)
        start = time.perf_counter()
        observation = observe(spec, fn, inputs)
        records.append(CaseRecord(case, observation, time.perf_counter() - start))
        if observation.forbidden:
            break
    return records
