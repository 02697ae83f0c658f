"""After grading (autograder.grading.batch): feedback without hidden tests, CSV export, the status table."""
import contextlib
from pathlib import Path

import nbformat

from nbgrader.api import Gradebook
from nbgrader.converters import GenerateFeedback
from nbgrader.plugins import CsvExportPlugin

from .course import run_step
from .feedback import typeset_feedback

HIDDEN_TEST_TRACES = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "autograder.hidden")


def submission_path(coursedir, student, assignment):
    return Path(coursedir.format_path(coursedir.submitted_directory, student, assignment)) / f"{assignment}.ipynb"


def feedback_and_notebook(coursedir, row):
    """(feedback HTML, autograded notebook) paths of a row's submission (they exist once made)."""
    name = row.assignment
    return (Path(coursedir.format_path(coursedir.feedback_directory, row.student, name)) / f"{name}.html",
            Path(coursedir.format_path(coursedir.autograded_directory, row.student, name)) / f"{name}.ipynb")


@contextlib.contextmanager
def _student_markers_neutralised(autograded):
    """While feedback is made: nbgrader's hidden-test delimiters typed in a cell that is not a test cell (an
    answer that prints one) get an invisible break, else nbgrader refuses the whole notebook. The autograded
    notebook is put back as it was afterwards."""
    original = autograded.read_bytes()
    nb = nbformat.reads(original.decode("utf-8"), as_version=4)
    changed = False
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"].get("solution"):
            continue  # a test cell: its hidden tests are what nbgrader must find and clear
        for delimiter in ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            if delimiter in cell.source:
                cell.source = cell.source.replace(delimiter, delimiter.replace(" HIDDEN", " HIDDEN\u200b"))
                changed = True
    if not changed:
        yield
        return
    nbformat.write(nb, str(autograded))
    try:
        yield
    finally:
        autograded.write_bytes(original)


def feedback_for(coursedir, config, rows):
    """Feedback HTML for every recorded row, each on its own: (files made, {(student, assignment): why not}).

    A row whose feedback cannot be made, or whose feedback would show hidden test code (its file is then
    removed), is listed with the reason; the others go on."""
    files, problems = [], {}
    for row in rows:
        feedback, autograded = feedback_and_notebook(coursedir, row)
        if not autograded.is_file():
            continue
        try:
            with _student_markers_neutralised(autograded):
                run_step(GenerateFeedback, coursedir, config, row.assignment, row.student)
        except Exception as error:  # nbgrader's own failure on what this student wrote: the rest goes on
            problems[row.student, row.assignment] = f"{type(error).__name__}: {str(error)[:300]}"
            continue
        typeset_feedback(feedback.parent)  # also nbgrader's post-convert hook; here its failure is not hidden
        for path in sorted(feedback.parent.glob("*.html")):
            leaked = [trace for trace in HIDDEN_TEST_TRACES if trace in path.read_text(encoding="utf-8")]
            if leaked:
                path.unlink()
                problems[row.student, row.assignment] = f"feedback would show hidden test code ({', '.join(leaked)})"
            else:
                files.append(path)
    return files, problems


def generate_feedback(coursedir, config, rows):
    """Feedback HTML for every recorded row; raises if any could not be made or shows hidden test code."""
    files, problems = feedback_for(coursedir, config, rows)
    if problems:
        raise RuntimeError("feedback failed for " + "; ".join(f"{s}/{a}: {why}" for (s, a), why in problems.items()))
    return files


def export_csv(coursedir, config, destination):
    plugin = CsvExportPlugin(config=config)
    plugin.to = str(destination)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        plugin.export(gradebook)
    return Path(destination)
