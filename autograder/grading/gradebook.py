"""Write graded submissions into an nbgrader gradebook (sqlite or PostgreSQL) as `nbgrader autograde` would.

The assignment, its notebooks and grade cells must already be in the gradebook (`nbgrader
generate_assignment` puts them there). For each result: the student and the submission are created when
missing, every grade cell of the assignment gets its ``auto_score`` (the part's score; 0 for a grade cell
the result has no part for, as nbgrader does for a missing notebook), and ``needs_manual_grade`` is set as
nbgrader's ``SaveAutoGrades`` sets it (True where a grader already gave a manual score, which is kept), and
True everywhere for a ``flagged`` submission, which a person must review. One transaction per result.

Safe for several writer processes on one PostgreSQL gradebook, as long as each (student, assignment) has
one writer at a time: two writers that create the same student at once both succeed.
With sqlite, keep to one writer process.
"""
from nbgrader.api import Gradebook, InvalidEntry, MissingEntry

from .results import SubmissionResult

NEEDS_REVIEW = {"flagged"}


def record_results(db_url, course_id, results):
    """Write each SubmissionResult into the gradebook at db_url (one connection for all)."""
    with Gradebook(db_url, course_id) as gradebook:
        for result in results:
            write_result(gradebook, result)


def record_result(db_url, course_id, result: SubmissionResult, timestamp=None):
    """Write one SubmissionResult (e.g. from a grading worker, on a PostgreSQL gradebook)."""
    with Gradebook(db_url, course_id) as gradebook:
        write_result(gradebook, result, timestamp)


def write_result(gradebook, result: SubmissionResult, timestamp=None):
    """Write one result through an open nbgrader Gradebook; raises ValueError for an unknown part.

    `timestamp` (the text of nbgrader's timestamp.txt) is the submission time late penalties use."""
    notebook_of = {cell.name: notebook.name
                   for notebook in gradebook.find_assignment(result.assignment).notebooks
                   for cell in notebook.grade_cells}
    scores = {part.grade_id: part.score for part in result.parts}
    unknown = sorted(set(scores) - set(notebook_of))
    if unknown:
        raise ValueError(f"{result.assignment} has no grade cell {', '.join(unknown)} in the gradebook "
                         f"(was it generated from the same source?)")
    _ensure_student(gradebook, result.student)
    if timestamp:
        gradebook.update_or_create_submission(result.assignment, result.student, timestamp=timestamp)
    else:
        gradebook.update_or_create_submission(result.assignment, result.student)
    try:
        for grade_id, notebook in notebook_of.items():
            grade = gradebook.find_grade(grade_id, notebook, result.assignment, result.student)
            grade.auto_score = scores.get(grade_id, 0.0)
            grade.needs_manual_grade = result.status in NEEDS_REVIEW or grade.manual_score is not None
        gradebook.db.commit()
    except BaseException:
        gradebook.db.rollback()
        raise


def _ensure_student(gradebook, student):
    try:
        gradebook.find_student(student)
    except MissingEntry:
        try:
            gradebook.add_student(student)
        except InvalidEntry:      # another writer added the same student meanwhile (it rolled back)
            gradebook.find_student(student)
