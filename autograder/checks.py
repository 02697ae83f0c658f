"""The registry of hidden checks: check id -> run the function on the hidden cases and judge it."""
from autograder.assess import assess
from autograder.collect import collect
from autograder.specs import SPECS

CHECK_IDS = tuple(SPECS)


def run_check(check_id, fn, device=None):
    """Collect the function's outputs on the hidden cases, then judge them; returns an assess.Result."""
    if check_id not in SPECS:
        raise ValueError(f"unknown check {check_id!r}; known checks: {', '.join(CHECK_IDS)}")
    if not callable(fn):
        raise TypeError(f"the function under test for {check_id} must be callable, got {type(fn).__name__}")
    return assess(check_id, collect(check_id, fn, device))


def checks_of(assignment):
    return [check_id for check_id in CHECK_IDS if check_id.split(".")[0] == assignment]
