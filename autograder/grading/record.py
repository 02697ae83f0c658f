"""Record a sandboxed grading result where nbgrader looks for it: the gradebook and the autograded folder.

The scores go into the gradebook as nbgrader's `SaveAutoGrades` would put them
(autograder.grading.gradebook), with the submission time of `timestamp.txt` for late penalties.
The autograded notebook is the one the grader rebuilt (source cells plus the student's answers), with
each test cell's output set from its verdict: an error output for a part that lost its points, a line of
text for one that passed, as if nbgrader had run it. So formgrader, `generate_feedback` and `export` work
as usual, without nbgrader executing anything.
"""
import copy
import shutil
from pathlib import Path

import nbformat
from nbgrader import utils

from .gradebook import record_result as write_scores, write_result
from .submission_files import RefusedFile, read_file


def with_verdicts(nb, result):
    """A copy of `nb` whose test cells show the verdicts of `result` and whose other cells show nothing."""
    nb = copy.deepcopy(nb)
    verdicts = {part.grade_id: part for part in result.parts}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if utils.is_grade(cell) and not utils.is_solution(cell):
            part = verdicts.get(cell.metadata["nbgrader"]["grade_id"])
            message = part.message if part else "not graded"
            if part is not None and part.score >= part.max_score:
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=message + "\n")]
            else:
                ename = "NotImplementedError" if "not implemented yet" in message else "AssertionError"
                cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=message,
                                                       traceback=[f"{ename}: {message}"])]
    if result.status != "graded":
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(
            f"**Grading status: {result.status}.** {result.message}"))
    return nb


MAX_TIMESTAMP_BYTES = 200


def read_timestamp(path):
    """The submission time in `timestamp.txt` (nbgrader's format), or None when there is none, it is not
    a regular file with one name, it is longer than a date, or it is not a date. Its text is never shown."""
    path = Path(path)
    try:
        data = read_file(path, MAX_TIMESTAMP_BYTES, root=path.parents[2])
        return utils.parse_utc(data.decode("ascii").strip())
    except (OSError, RefusedFile, ValueError, UnicodeDecodeError, OverflowError):
        return None


def record_result(coursedir, result, graded_nb, timestamp_file=None, gradebook=None):
    """Write `result` (a SubmissionResult) into the gradebook and the autograded folder.

    `graded_nb` is the notebook to record: the rebuilt one, or the release when nothing could be rebuilt.
    `gradebook`: an open nbgrader Gradebook of the course to write through (a batch keeps one open), else
    one is opened for this result.
    """
    timestamp = read_timestamp(timestamp_file) if timestamp_file is not None else None
    if gradebook is None:
        write_scores(coursedir.db_url, coursedir.course_id, result, timestamp)
    else:
        write_result(gradebook, result, timestamp)
    folder = Path(coursedir.format_path(coursedir.autograded_directory, result.student, result.assignment))
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    nbformat.write(with_verdicts(graded_nb, result), str(folder / f"{result.assignment}.ipynb"))
    if timestamp is not None:  # written from the parsed date: the student's file is never copied
        (folder / "timestamp.txt").write_text(timestamp.isoformat(sep=" ") + "\n")
