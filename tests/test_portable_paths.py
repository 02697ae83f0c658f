"""The grader where an instructor's files live, run as the README says: a copy of the repository under /tmp
in folders with spaces, the README's instructor commands pasted into a shell there one by one, then the
demonstration round of `make all`.

The sandbox mounts a private /tmp of its own; a grader that bound the checkout or the venv at their host
paths would hide them under it and grade nothing. The copy holds the working tree (tracked and untracked
files, not the ignored ones, so no venv): the README's first command makes the venv (pip reads the wheels
`make venv` left in its cache).
"""
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from autograder.nbgrader.submissions import solved_copy, write_submission

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def copy_working_tree(destination):
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def readme_instructor_commands():
    """The command lines of the README's instructor block, as written (comment lines left out)."""
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Instructor workflow", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def shell(line, checkout, home):
    """One pasted line in bash, in the copy, for a user whose home is `home` (so ~ is there)."""
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(REPO)))  # not this checkout's venv
    env["HOME"] = str(home)
    env["MPLCONFIGDIR"] = str(home / ".matplotlib")  # a font cache of its own: the copy is deleted afterwards
    start = time.perf_counter()
    done = subprocess.run(["bash", "-c", line], cwd=checkout, env=env, capture_output=True, text=True, timeout=1800)
    print(f"{time.perf_counter() - start:6.1f} s  {line}")
    return done


@pytest.fixture(scope="module")
def pasted():
    root = Path(tempfile.mkdtemp(prefix="rnn course ", dir="/tmp"))
    checkout, home = root / "course checkout", root / "instructor home"
    home.mkdir()
    copy_working_tree(checkout)
    course_dir = home / "rnn-2027"
    runs = {}
    for line in readme_instructor_commands():
        if " grade " in line:  # the README's comment: collect the submissions first
            for assignment in re.search(r" grade ([a-z_ ]+?) --", line).group(1).split():
                release = nbformat.read(course_dir / "release" / assignment / f"{assignment}.ipynb", as_version=4)
                source = nbformat.read(course_dir / "source" / assignment / f"{assignment}.ipynb", as_version=4)
                write_submission(solved_copy(release, source),
                                 course_dir / "submitted" / "alice" / assignment / f"{assignment}.ipynb")
        runs[line] = shell(line, checkout, home)
        assert runs[line].returncode == 0, f"{line}\n{runs[line].stdout[-3000:]}\n{runs[line].stderr[-3000:]}"
    yield root, checkout, course_dir, runs
    shutil.rmtree(root, ignore_errors=True)


def test_the_readme_block_has_the_commands_this_test_checks():
    lines = readme_instructor_commands()
    assert [next(word for word in ("grading-deps", " course ", " grade ", " feedback ", "nbgrader export")
                 if word in line) for line in lines] == [
        "grading-deps", " course ", " grade ", " feedback ", "nbgrader export"]


def test_the_copy_runs_its_own_code_from_its_own_venv(pasted):
    root, checkout, _, _ = pasted
    python = checkout / ".venv" / "bin" / "python"
    where = subprocess.run([str(python), "-c", "import sys, autograder, rnn_demos; "
                            "print(sys.prefix); print(autograder.__file__); print(rnn_demos.__file__)"],
                           cwd="/", capture_output=True, text=True)
    assert where.returncode == 0, where.stderr
    prefix, grader, demos = where.stdout.split("\n")[:3]
    assert prefix == str(checkout / ".venv")
    assert grader.startswith(str(checkout)) and demos.startswith(str(checkout))


def test_each_pasted_command_did_what_the_readme_says(pasted):
    _, _, course_dir, runs = pasted
    deps, course, grade, feedback, export = runs.values()
    assert "memory and process limits" in deps.stdout  # the sandbox probe ran
    assert (course_dir / "nbgrader_config.py").is_file() and (course_dir / "grading.json").is_file()
    rows = [line.split(None, 3) for line in grade.stdout.splitlines() if line.startswith("alice ")]
    assert sorted(assignment for _, assignment, _, _ in rows) == ["gru", "lstm", "rnn"]
    assert all(status == "graded" and score.split("/")[0] == score.split("/")[1] for _, _, score, status in rows), rows
    assert sorted(p.parent.name for p in course_dir.glob("feedback/alice/*/*.html")) == ["gru", "lstm", "rnn"]
    report = course_dir / "reports" / "rnn-lstm-gru.html"
    links = re.findall(r'href="([^"]+)"', report.read_text())
    assert len(links) == 6 and all((report.parent / link).is_file() for link in links)
    exported = {row["assignment"]: row for row in csv.DictReader((course_dir / "grades.csv").open())}
    assert all(exported[a]["student_id"] == "alice" and exported[a]["score"] == exported[a]["max_score"]
               for a in ("rnn", "lstm", "gru")), exported


def test_the_demonstration_round_grades_under_tmp_with_spaces(pasted):
    root, checkout, _, _ = pasted
    course_dir = root / "demo course"
    round_ = subprocess.run([str(checkout / ".venv" / "bin" / "python"), "-m", "autograder.grading.demo",
                             "--course-dir", str(course_dir)], cwd=checkout, capture_output=True, text=True,
                            timeout=1500, env={**os.environ, "PATH": f"{checkout / '.venv' / 'bin'}:{os.environ['PATH']}",
                                               "MPLCONFIGDIR": str(root / ".matplotlib")})
    assert round_.returncode == 0, round_.stdout[-3000:] + round_.stderr[-3000:]
    lines = round_.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("student "))
    rows = [line.split(None, 3) for line in lines[header + 1:] if line.strip() and not line.startswith("total ")]
    statuses = {(student, assignment): (score, status) for student, assignment, score, status in rows}
    alice = [(score, status) for (student, _), (score, status) in statuses.items() if student == "alice"]
    assert len(alice) >= 4 and all(status == "graded" and score.split("/")[0] == score.split("/")[1]
                                   for score, status in alice), statuses
    assert not any(status.startswith("error") for _, status in statuses.values()), statuses
    assert (course_dir / "grades.csv").is_file() and (course_dir / "reports" / "demo.html").is_file()
