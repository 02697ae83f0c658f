"""`python -m autograder grade ... --dask` keeps Dask's INFO lines (scheduler, nannies, connections) off
stderr unless `--verbose` asks for them; the grades are the same either way."""
import os
import subprocess
import sys

import nbformat
import pytest

from autograder.grading.course_dir import make_course
from autograder.nbgrader.submissions import solved_copy, write_submission

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    course = tmp_path_factory.mktemp("dask-logs") / "course"
    make_course(course, ["sequence_models"], seed=31)
    release = nbformat.read(course / "release" / "sequence_models" / "sequence_models.ipynb", as_version=4)
    source = nbformat.read(course / "source" / "sequence_models" / "sequence_models.ipynb", as_version=4)
    write_submission(solved_copy(release, source), course / "submitted" / "ann" / "sequence_models" /
                     "sequence_models.ipynb")
    return course


def grade_on_dask(course, *flags):
    (course / ".grading" / "results" / "sequence_models" / "ann.json").unlink(missing_ok=True)
    run = subprocess.run([sys.executable, "-m", "autograder", *flags, "grade", "sequence_models", "--course-dir",
                          str(course), "--dask", "--jobs", "1"], capture_output=True, text=True, timeout=900,
                         env={**os.environ, "PYTHONPATH": ""})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "ann sequence_models: graded" in run.stderr + run.stdout
    return [line for line in run.stderr.splitlines() if line.startswith("INFO distributed")]


def test_dask_info_lines_only_with_verbose(course_dir):
    assert grade_on_dask(course_dir) == []
    assert len(grade_on_dask(course_dir, "--verbose")) >= 10
