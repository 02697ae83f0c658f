"""The call in a hidden test cell: `grade("lstm.forget_gate", forget_gate)`.

The cell names the function and the check; inputs, references and tolerances live in this package.
"""
from autograder.checks import run_check


def grade(check_id, fn):
    """Raise AssertionError(why) when `fn` fails the hidden check `check_id`; print a line when it passes."""
    result = run_check(check_id, fn)
    if not result.passed:
        raise AssertionError(result.message)
    print(result.message)
    return result
