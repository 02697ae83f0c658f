"""What `autograder.selfcheck` is inside the grading sandbox: the visible checks do nothing there.

The notebooks' test cells import `check` and `check_notebook`; in the sandbox those calls must neither
fail nor judge anything (the sandbox knows no answer). The grader stages this file as
`autograder/selfcheck.py` in the sandbox's runtime; the hidden checks are judged outside.
"""


def check(check_id, fn):
    """Nothing to check here: the grader judges the hidden cases outside the sandbox."""
    return None


def check_notebook(assignment, namespace):
    """Nothing to check here: the grader judges every part outside the sandbox."""
    return {}
