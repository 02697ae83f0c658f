"""Limits that hold wherever the grader runs, and outcomes that do not depend on the machine's load.

- each limit backend this machine offers (autograder.grading.limits): cgroup v1 here, cgroup v2 on a
  hierarchy the test finds or mounts (skipped with the reason when the kernel cannot give it the memory
  controller), and the rlimit fallback;
- limits per check: a check that runs out of memory or CPU time loses its own points, the others count;
- the same batch graded three times, twice with CPU burners started by the test, gives identical rows.
"""
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from autograder.grading import limits
from autograder.grading.course_dir import make_course
from autograder.grading.sandbox import Limits
from autograder.nbgrader.submissions import solved_copy, with_answer
from autograder.nbgrader.submissions import write_submission as write_notebook

A = "gru"
GROW = "import torch\nkeep = []\nwhile True:\n    keep.append(torch.ones(1 << 20))"


def _allocate_in(group, megabytes):
    """Exit status of a child that joins `group` and touches `megabytes` of memory."""
    pid = os.fork()
    if pid == 0:
        try:
            group.join()
            block = bytearray(megabytes << 20)
            for k in range(0, len(block), 4096):
                block[k] = 1
            os._exit(0)
        except MemoryError:
            os._exit(3)
        except BaseException:
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    return status


def _exercise_backend(backend):
    group = backend.create(f"test-{os.getpid()}-{time.monotonic_ns()}", Limits(memory_mb=64, processes=16))
    try:
        assert os.WIFEXITED(_allocate_in(group, 8)) and os.WEXITSTATUS(_allocate_in(group, 8)) == 0
        status = _allocate_in(group, 256)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9, status
        assert group.oom_kills() >= 1
    finally:
        group.kill_all()
        group.remove()


def test_cgroup_v1_limits_memory_and_counts_the_kill():
    backend = limits.CgroupV1()
    why = backend.usable()
    if why:
        pytest.skip(f"no cgroup v1 here: {why}")
    _exercise_backend(backend)


def test_cgroup_v2_limits_memory_and_counts_the_kill():
    mounted = None
    root = Path("/sys/fs/cgroup")
    if not (root / "cgroup.controllers").is_file():
        mounted = Path(tempfile.mkdtemp(prefix="cgroup2-"))
        if subprocess.run(["mount", "-t", "cgroup2", "none", str(mounted)], capture_output=True).returncode != 0:
            mounted.rmdir()
            pytest.skip("no cgroup v2 hierarchy here and none can be mounted")
        root = mounted
    try:
        backend = limits.CgroupV2(root)
        why = backend.usable()
        if why:
            pytest.skip(f"cgroup v2 cannot limit memory here: {why}")
        _exercise_backend(backend)
    finally:
        if mounted:
            (mounted / limits.SUBTREE).rmdir() if (mounted / limits.SUBTREE).exists() else None
            subprocess.run(["umount", str(mounted)], check=False)
            mounted.rmdir()


def test_the_rlimit_fallback_says_what_holds_and_limits_a_process():
    backend = limits.RlimitsOnly("forced by the test")
    assert "WARNING" in backend.describe() and "RLIMIT_DATA" in backend.describe()
    code = "b = bytearray(512 << 20)"
    run = subprocess.run(["prlimit", f"--data={128 << 20}", sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode != 0 and "MemoryError" in run.stderr


# ----- per-check limits and load, through the instructor's command -----

def _course(tmp_path_factory, name, limits_json):
    course_dir = tmp_path_factory.mktemp(name) / "course"
    make_course(course_dir, [A], seed=4242)
    config = json.loads((course_dir / "grading.json").read_text())
    config["limits"] = limits_json
    (course_dir / "grading.json").write_text(json.dumps(config))
    release = nbformat.read(course_dir / "release" / A / f"{A}.ipynb", as_version=4)
    solved = solved_copy(release, nbformat.read(course_dir / "source" / A / f"{A}.ipynb", as_version=4))
    return course_dir, release, solved


def _submit(course_dir, student, nb):
    path = course_dir / "submitted" / student / A / f"{A}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(nb, path)


def _grade(course_dir, env=None):
    shutil.rmtree(course_dir / ".grading", ignore_errors=True)  # grade everything again
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", A, "--course-dir", str(course_dir),
                          "--jobs", "2"], capture_output=True, text=True, timeout=1800, env=env)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    rows = {}
    for path in (course_dir / ".grading" / "results" / A).glob("*.json"):
        row = json.loads(path.read_text())
        rows[row["student"]] = (row["status"], row["score"],
                                tuple((p["grade_id"], p["score"]) for p in row["parts"]))
    return rows, run


def _parts(rows, student):
    return dict(rows[student][2])


# Parts no other part calls, so each loses only its own points.
MEMORY_HOG = '''def parameter_counts(input_size, hidden_size):
    keep = []
    while True:
        keep.append(torch.ones(1 << 20))'''
CPU_HOG = '''def answer_q2():
    total = 0
    while True:
        total += 1'''
WRONG = '''def gru_hidden_update(h, z, n):
    return z * n + (1 - z) * h'''


@pytest.fixture(scope="module")
def limited_course(tmp_path_factory):
    if shutil.which("bwrap") is None or os.geteuid() != 0:
        pytest.skip("the sandboxed grader needs bubblewrap and root")
    course_dir, release, solved = _course(tmp_path_factory, "limits", {
        "memory_mb": 768, "cell_seconds": 20, "check_seconds": 4, "submission_seconds": 900})
    _submit(course_dir, "solved", solved)
    _submit(course_dir, "memory", with_answer(solved, "parameter_counts", MEMORY_HOG))
    _submit(course_dir, "cpu", with_answer(solved, "answer_q2", CPU_HOG))
    _submit(course_dir, "wrong", with_answer(solved, "gru_hidden_update", WRONG))
    _submit(course_dir, "blank", release)
    return course_dir


@pytest.mark.slow
def test_a_check_over_its_memory_or_cpu_limit_loses_only_its_own_points(limited_course):
    rows, run = _grade(limited_course)
    full = rows["solved"][1]
    assert rows["solved"][0] == "graded" and full > 0
    for student, grade_id in (("memory", "test_parameter_counts"), ("cpu", "test_answer_q2")):
        status, score, parts = rows[student]
        parts = dict(parts)
        assert status == "graded", rows[student]
        assert parts[grade_id] == 0 and score == full - dict(rows["solved"][2])[grade_id], rows[student]
    messages = {json.loads(p.read_text())["student"]: json.loads(p.read_text())
                for p in (limited_course / ".grading" / "results" / A).glob("*.json")}
    memory_part = next(p for p in messages["memory"]["parts"] if p["grade_id"] == "test_parameter_counts")
    cpu_part = next(p for p in messages["cpu"]["parts"] if p["grade_id"] == "test_answer_q2")
    assert "memory limit" in memory_part["message"], memory_part["message"]
    assert "CPU time" in cpu_part["message"], cpu_part["message"]


def _burn(stop):
    while not stop.is_set():
        pass


@pytest.mark.slow
def test_the_same_batch_gives_the_same_rows_idle_and_under_load(limited_course):
    first, _ = _grade(limited_course)
    stop = multiprocessing.Event()
    burners = [multiprocessing.Process(target=_burn, args=(stop,)) for _ in range(2 * (os.cpu_count() or 1))]
    for burner in burners:
        burner.start()
    try:
        loaded = [_grade(limited_course)[0] for _ in range(2)]
    finally:
        stop.set()
        for burner in burners:
            burner.join(10)
            if burner.is_alive():
                burner.kill()
    assert loaded[0] == first and loaded[1] == first


@pytest.mark.slow
def test_without_cgroups_the_grader_says_so_and_the_memory_limit_still_holds(limited_course, tmp_path):
    env = {**os.environ, limits.FORCE_VARIABLE: "rlimits"}
    rows, run = _grade(limited_course, env)
    assert "WARNING: no cgroup" in run.stderr
    assert rows["solved"][0] == "graded" and _parts(rows, "memory")["test_parameter_counts"] == 0
    assert rows["memory"][1] == rows["solved"][1] - dict(rows["solved"][2])["test_parameter_counts"]
