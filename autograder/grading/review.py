"""A person's decision on a flagged submission: `python -m autograder review ASSIGNMENT --course-dir DIR
--student S --accept|--reject [--note TEXT]`.

A flagged submission was graded like any other, but its answer cells do something the static scan cannot
clear (autograder.grading.scan); it is scored 0 and keeps what its checks gave. Accepting credits those
scores in the gradebook; rejecting keeps 0. The decision and its note are kept with the result, shown in
the report, and stay as long as the submission does not change (a changed submission is graded again).
"""
from .batch import previous_result, record


class ReviewError(ValueError):
    """The submission cannot be reviewed (not graded yet, or not flagged)."""


def review(coursedir, assignment, student, accept, note=""):
    """Record the decision; returns the updated SubmissionResult."""
    result = previous_result(coursedir, student, assignment)
    if result is None:
        raise ReviewError(f"{student}/{assignment} has no grading result yet: grade it first")
    if result.status != "flagged":
        raise ReviewError(f"{student}/{assignment} is {result.status}, not flagged: nothing to review")
    result.review, result.review_note = ("accepted" if accept else "rejected"), note
    for part in result.parts:
        checks = part.checks_score if part.checks_score is not None else 0.0
        part.score = checks if accept else 0.0
    result.score = sum(part.score for part in result.parts)
    record(coursedir, result)
    return result
