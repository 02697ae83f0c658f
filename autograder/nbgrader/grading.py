"""After grading (autograder.grading.batch): feedback without hidden tests, CSV export, the status table."""
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.converters import GenerateFeedback
from nbgrader.plugins import CsvExportPlugin

from .course import run_step

HIDDEN_TEST_TRACES = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "autograder.hidden")


def submission_path(coursedir, student, assignment):
    return Path(coursedir.format_path(coursedir.submitted_directory, student, assignment)) / f"{assignment}.ipynb"


def generate_feedback(coursedir, config, rows):
    """Feedback HTML for every recorded row; raises if any of it shows hidden test code."""
    files = []
    for row in rows:
        autograded = Path(coursedir.format_path(coursedir.autograded_directory, row.student, row.assignment))
        if not (autograded / f"{row.assignment}.ipynb").is_file():
            continue
        run_step(GenerateFeedback, coursedir, config, row.assignment, row.student)
        folder = Path(coursedir.format_path(coursedir.feedback_directory, row.student, row.assignment))
        files.extend(sorted(folder.glob("*.html")))
    for path in files:
        text = path.read_text(encoding="utf-8")
        leaked = [trace for trace in HIDDEN_TEST_TRACES if trace in text]
        if leaked:
            raise RuntimeError(f"feedback {path} shows hidden test code ({', '.join(leaked)})")
    return files


def export_csv(coursedir, config, destination):
    plugin = CsvExportPlugin(config=config)
    plugin.to = str(destination)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        plugin.export(gradebook)
    return Path(destination)
