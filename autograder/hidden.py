"""The call in a hidden test cell: `grade("lstm.forget_gate", forget_gate)`.

The cell names the function and the check; inputs, references and tolerances live in this package.
"""
from autograder.assess import run_check


def grade(check_id, fn):
    """Raise AssertionError(why) when `fn` fails the hidden check `check_id` (NotImplementedError while it
    is still the stub); print a line when it passes."""
    result = run_check(check_id, fn)
    if not result.passed:
        if result.message.startswith(f"{check_id}: not implemented"):
            raise NotImplementedError(result.message)
        raise AssertionError(result.message)
    print(result.message)
    return result
