"""The grader where an instructor's files live: a checkout and a venv under /tmp, in folders with spaces.

The sandbox mounts a private /tmp of its own; a grader that bound the checkout or the venv at their host
paths would hide them under it and grade nothing. This copies the working tree (tracked and untracked files,
not the ignored ones) to "/tmp/rnn course .../course checkout", makes a venv of its own at ".../grading venv"
as the README does, and runs the demonstration round of `make all` there.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def activated(python):
    """The environment of a shell where that venv is activated (nbgrader runs `alembic` from the PATH)."""
    path = os.pathsep.join([str(python.parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "VIRTUAL_ENV": str(python.parent.parent), "PYTHONPATH": ""}


def copy_working_tree(destination):
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def make_venv(folder, checkout):
    """A venv of its own with requirements.txt installed (pip's cache holds the wheels `make venv` fetched),
    the course installed editable from the copy."""
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    start = time.perf_counter()
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                                "-r", "requirements.txt"], cwd=checkout, capture_output=True, text=True,
                               timeout=1200)
    assert installed.returncode == 0, installed.stderr[-3000:]
    print(f"pip install -r requirements.txt into {folder}: {time.perf_counter() - start:.0f} s")
    return python


@pytest.fixture(scope="module")
def elsewhere():
    root = Path(tempfile.mkdtemp(prefix="rnn course ", dir="/tmp"))
    checkout = root / "course checkout"
    copy_working_tree(checkout)
    python = make_venv(root / "grading venv", checkout)
    yield root, checkout, python
    shutil.rmtree(root, ignore_errors=True)


def test_the_copy_imports_its_own_code_from_its_own_venv(elsewhere):
    root, checkout, python = elsewhere
    where = subprocess.run([str(python), "-c", "import sys, autograder, rnn_demos; "
                            "print(sys.prefix); print(autograder.__file__); print(rnn_demos.__file__)"],
                           cwd="/", capture_output=True, text=True, env=activated(python))
    assert where.returncode == 0, where.stderr
    prefix, grader, demos = where.stdout.split("\n")[:3]
    assert prefix == str(root / "grading venv")
    assert grader.startswith(str(checkout)) and demos.startswith(str(checkout))


def test_the_demonstration_round_grades_under_tmp_with_spaces(elsewhere):
    root, checkout, python = elsewhere
    course_dir = root / "course dir"
    round_ = subprocess.run([str(python), "-m", "autograder.grading.demo", "--course-dir", str(course_dir)],
                            cwd=checkout, capture_output=True, text=True, timeout=1500,
                            env=activated(python))
    assert round_.returncode == 0, round_.stdout[-3000:] + round_.stderr[-3000:]
    lines = round_.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("student "))
    rows = [line.split(None, 3) for line in lines[header + 1:] if line.strip() and not line.startswith("total ")]
    statuses = {(student, assignment): (score, status) for student, assignment, score, status in rows}
    alice = [(score, status) for (student, _), (score, status) in statuses.items() if student == "alice"]
    assert len(alice) >= 4 and all(status == "graded" and score.split("/")[0] == score.split("/")[1]
                                   for score, status in alice), statuses
    assert not any(status.startswith("error") for _, status in statuses.values()), statuses
    assert (course_dir / "grades.csv").is_file()
