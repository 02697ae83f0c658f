"""The instructor's term through the commands the README gives: `grade` of several assignments in one pool,
then `feedback`, and the report that links what they made.

A submission whose answer prints nbgrader's hidden-test marker must not stop anyone's feedback.
"""
import os
import re
import subprocess
import sys

import nbformat
import pytest

from autograder.grading.course_dir import make_course
from autograder.nbgrader.submissions import solved_copy, with_answer, write_submission

pytestmark = pytest.mark.slow

ASSIGNMENTS = ("sequence_models", "rnn")
PRINTS_THE_MARKER = '''def rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    print("### BEGIN HIDDEN TESTS")  # what a student may well type
    pre_activation = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    if nonlinearity == "tanh":
        return torch.tanh(pre_activation)
    if nonlinearity == "relu":
        return torch.relu(pre_activation)
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}")
'''


def command(*args):
    return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                          timeout=1200, env={**os.environ, "PYTHONPATH": ""})


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    course_dir = tmp_path_factory.mktemp("term") / "course dir"
    make_course(course_dir, ASSIGNMENTS, seed=31)
    for assignment in ASSIGNMENTS:
        release = nbformat.read(course_dir / "release" / assignment / f"{assignment}.ipynb", as_version=4)
        source = nbformat.read(course_dir / "source" / assignment / f"{assignment}.ipynb", as_version=4)
        for student in ("ann", "ben"):
            write_submission(solved_copy(release, source),
                             course_dir / "submitted" / student / assignment / f"{assignment}.ipynb")
        if assignment == "rnn":
            write_submission(with_answer(solved_copy(release, source), "rnn_cell", PRINTS_THE_MARKER),
                             course_dir / "submitted" / "eve" / "rnn" / "rnn.ipynb")
    graded = command("grade", *ASSIGNMENTS, "--course-dir", str(course_dir))
    feedback = command("feedback", *ASSIGNMENTS, "--course-dir", str(course_dir))
    return course_dir, graded, feedback


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
