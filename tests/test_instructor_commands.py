"""The instructor's term through the commands the README gives: `grade` of several assignments in one pool,
then `feedback`, and the report that links what they made (the `term` fixture: tests/instructor_term.py).

A submission whose answer prints nbgrader's hidden-test marker must not stop anyone's feedback.
"""
import re

import pytest

from instructor_term import ASSIGNMENTS

pytestmark = pytest.mark.slow


def test_one_command_grades_every_assignment(term):
    course_dir, graded, _ = term
    assert graded.returncode == 0, graded.stderr[-3000:]
    rows = [line.split(None, 3) for line in graded.stdout.splitlines()
            if line.startswith(("ann ", "ben ", "eve "))]
    assert sorted((student, assignment) for student, assignment, _, _ in rows) == sorted(
        [(s, a) for s in ("ann", "ben") for a in ASSIGNMENTS] + [("eve", "rnn")])
    for _, _, score, status in rows:
        got, full = score.split("/")
        assert status == "graded" and got == full, rows


def test_feedback_is_made_for_everyone_without_hidden_tests(term):
    course_dir, _, feedback = term
    assert feedback.returncode == 0, feedback.stdout[-2000:] + feedback.stderr[-2000:]
    made = sorted(course_dir.glob("feedback/*/*/*.html"))
    assert [(p.parts[-3], p.parts[-2]) for p in made] == sorted(
        [(s, a) for s in ("ann", "ben") for a in ASSIGNMENTS] + [("eve", "rnn")])
    for path in made:
        text = path.read_text()
        assert "autograder.hidden" not in text and "END HIDDEN TESTS" not in text, path


def test_the_report_links_every_feedback_and_notebook(term):
    course_dir, _, feedback = term
    report = course_dir / "reports" / f"{'-'.join(ASSIGNMENTS)}.html"
    page = report.read_text()
    links = re.findall(r'href="([^"]+)"', page)
    assert len(links) == 2 * 5  # feedback and notebook of each of the five submissions
    assert all((report.parent / link).is_file() for link in links)
    csv_rows = report.with_suffix(".csv").read_text().splitlines()
    assert len(csv_rows) == 1 + 5
