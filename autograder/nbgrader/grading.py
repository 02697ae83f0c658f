"""Autograde a batch of submissions in a course directory: one status row per submission, whatever
happens to the others (a missing file, a notebook that does not parse, a crash of nbgrader itself)."""
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.converters.base import NbGraderException
from nbgrader.plugins import CsvExportPlugin

from .course import run_step

HIDDEN_TEST_TRACES = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "autograder.hidden")


@dataclass
class Row:
    student: str
    assignment: str
    score: float = 0.0
    max_score: float = 0.0
    status: str = "pending"
    message: str = ""


def submission_path(coursedir, student, assignment):
    return Path(coursedir.format_path(coursedir.submitted_directory, student, assignment)) / f"{assignment}.ipynb"


def precheck(coursedir, student, assignment):
    """None when the submitted notebook can be graded, else (status, message)."""
    path = submission_path(coursedir, student, assignment)
    if not path.is_file():
        others = sorted(p.name for p in path.parent.glob("*")) if path.parent.is_dir() else []
        found = f"; found instead: {', '.join(others)}" if others else ""
        return "missing", f"no file {path.relative_to(coursedir.root)}{found}"
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        nbformat.validate(nb)
    except UnicodeDecodeError:
        return "invalid", "not a notebook: the file is not UTF-8 text"
    except nbformat.reader.NotJSONError as error:
        cause = error.__cause__ or error.__context__
        where = f" at line {cause.lineno}, column {cause.colno} ({cause.msg})" if isinstance(
            cause, json.JSONDecodeError) else ""
        return "invalid", f"not a notebook: the file is not valid JSON{where}"
    except (nbformat.ValidationError, ValueError, KeyError, AttributeError) as error:
        return "invalid", f"not a valid notebook: {str(error).splitlines()[0][:200]}"
    return None


def gradebook_result(coursedir, student, assignment):
    """(score, max score, grade ids of the test cells that lost points) of an autograded submission."""
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        lost = [grade.name for notebook in submission.notebooks for grade in notebook.grades
                if grade.max_score and (grade.score or 0) < grade.max_score]
        return submission.score, submission.max_score, sorted(lost)


def max_score(coursedir, assignment):
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        return gradebook.find_assignment(assignment).max_score


def autograde_all(coursedir, config, pairs):
    """Autograde each (student, assignment) pair; returns a Row for every pair, never raises for one."""
    rows = []
    for student, assignment in pairs:
        row = Row(student, assignment, max_score=max_score(coursedir, assignment))
        problem = precheck(coursedir, student, assignment)
        if problem:
            row.status, row.message = problem
            rows.append(row)
            continue
        try:
            run_step(Autograde, coursedir, config, assignment, student)
            row.score, row.max_score, lost = gradebook_result(coursedir, student, assignment)
            row.status = "graded"
            if lost and row.score > 0:
                row.message = "lost points in " + ", ".join(lost)
        except (NbGraderException, MissingEntry) as error:
            row.status, row.message = "error", f"nbgrader autograde failed: {error}"
        rows.append(row)
    return rows


def generate_feedback(coursedir, config, rows):
    """Feedback HTML for every graded row; raises if any of it shows hidden test code."""
    files = []
    for row in rows:
        if row.status != "graded":
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


def format_table(rows):
    header = ("student", "assignment", "score", "status")
    lines = [(r.student, r.assignment, f"{r.score:g}/{r.max_score:g}",
              r.status + (f": {r.message}" if r.message else "")) for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header[:3])]
    out = ["  ".join(h.ljust(w) for h, w in zip(header[:3], widths)) + "  " + header[3]]
    out += ["  ".join(c.ljust(w) for c, w in zip(line[:3], widths)) + "  " + line[3] for line in lines]
    return "\n".join(out)
