"""The instructor's term of tests/test_instructor_commands.py and tests/test_term_in_browser.py: `grade` of
two assignments in one pool, then `feedback`, on a course of solved submissions and one whose answer prints
nbgrader's hidden-test marker. Session-scoped (tests/conftest.py registers it), so the round runs once.
"""
import inspect
import os
import subprocess
import sys

import nbformat
import pytest

import reference_solutions
from autograder.grading.course_dir import make_course
from autograder.nbgrader.submissions import solved_copy, with_answer, write_submission

ASSIGNMENTS = ("sequence_models", "rnn")
# The right rnn_cell with a print of nbgrader's hidden-test marker as its first line.
PRINTS_THE_MARKER = inspect.getsource(reference_solutions.rnn_cell).replace(
    "\n", '\n    print("### BEGIN HIDDEN TESTS")  # what a student may well type\n', 1)


def command(*args):
    return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                          timeout=1200, env={**os.environ, "PYTHONPATH": ""})


@pytest.fixture(scope="session")
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
