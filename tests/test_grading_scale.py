"""The real grader at scale: on a Dask scheduler and two workers (one killed in the middle), and with a
PostgreSQL gradebook written by parallel workers; both must give the grades of local sqlite grading."""
import json
import os
import shutil
import signal
import subprocess
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.grading.batch import grade_batch
from autograder.grading.config import load_grading_config
from autograder.grading.course_dir import make_course
from autograder.nbgrader.course import course_directory, load_course_config
from autograder.nbgrader.submissions import solved_copy, with_answer
from autograder.nbgrader.submissions import write_submission as write_notebook
from test_distributed import DaskCluster

pytest_plugins = ["pg_server"]
pytestmark = pytest.mark.slow

A = "lstm"
PARTIAL = '''def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    return torch.sigmoid(x @ W_if.T + h @ W_hf.T + b_hf)'''
HOSTILE = "import sys\nsys.modules['autograder.checks.compare'].compare = lambda *a, **k: None"


def course_with_batch(course_dir, db_url=None):
    if db_url is not None:
        course_dir.mkdir(parents=True)
        from autograder.grading.course_dir import course_config_text
        (course_dir / "nbgrader_config.py").write_text(
            course_config_text() + f"\nc.CourseDirectory.db_url = {db_url!r}\n")
    make_course(course_dir, [A], seed=7)
    release = nbformat.read(course_dir / "release" / A / f"{A}.ipynb", as_version=4)
    solved = solved_copy(release, nbformat.read(course_dir / "source" / A / f"{A}.ipynb", as_version=4))
    batch = {"alice": solved, "bob": release, "trent": with_answer(solved, "forget_gate", PARTIAL),
             "mallory": with_answer(release, "forget_gate", HOSTILE)}
    batch.update({f"s{i}": solved for i in range(4)})
    for student, nb in batch.items():
        write_notebook(nb, course_dir / "submitted" / student / A / f"{A}.ipynb")
    return course_dir


def graded(course_dir, **options):
    config = load_course_config(course_dir / "nbgrader_config.py")
    coursedir = course_directory(course_dir, config)
    rows = grade_batch(coursedir, config, load_grading_config(course_dir), A, **options)
    return {r.student: (r.status, r.score, [(p.grade_id, p.score) for p in r.parts]) for r in rows}, coursedir


def gradebook_scores(coursedir):
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        return {s.student.id: s.score for s in gradebook.find_assignment(A).submissions}


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    course_dir = course_with_batch(tmp_path_factory.mktemp("local") / "course")
    rows, coursedir = graded(course_dir, jobs=2)
    return course_dir, rows, gradebook_scores(coursedir)


def test_local_grades_are_the_expected_ones(local):
    _, rows, scores = local
    full = sum(points for _, points in rows["alice"][2])
    assert full > 0 and all(score > 0 for _, score in rows["alice"][2])
    assert rows["alice"][0] == "graded" and rows["bob"][:2] == ("graded", 0)
    assert rows["trent"][0] == "graded" and 0 < rows["trent"][1] < full
    assert rows["mallory"][:2] == ("flagged", 0)
    assert scores == {student: row[1] for student, row in rows.items()}


def test_dask_cluster_gives_the_local_grades_and_loses_nothing_when_a_worker_dies(local, tmp_path):
    course_dir = tmp_path / "course"
    shutil.copytree(local[0], course_dir, ignore=shutil.ignore_patterns(".grading", "autograded", "reports"))
    cluster = DaskCluster(tmp_path, {"w1": ["--no-nanny"], "w2": ["--no-nanny"]})
    killed = []

    def kill_a_worker_after_the_first_result(result, kept):
        if not killed:
            os.killpg(cluster.workers["w1"].pid, signal.SIGKILL)
            killed.append("w1")

    try:
        rows, coursedir = graded(course_dir, scheduler=cluster.address, on_result=kill_a_worker_after_the_first_result)
    finally:
        cluster.close()
    assert killed and cluster.workers["w1"].returncode == -signal.SIGKILL
    assert rows == local[1]
    assert gradebook_scores(coursedir) == local[2]


def test_postgres_gradebook_with_parallel_writers_gives_the_sqlite_grades(local, postgres_server, tmp_path):
    db_url = postgres_server.create_database("course_parallel")
    course_dir = course_with_batch(tmp_path / "course", db_url=db_url)
    rows, coursedir = graded(course_dir, dask=True, jobs=2)
    assert coursedir.db_url == db_url
    assert rows == local[1]
    assert gradebook_scores(coursedir) == local[2]
    feedback_ready = [p for p in (course_dir / "autograded").glob(f"*/{A}/{A}.ipynb")]
    assert len(feedback_ready) == len(rows)


def test_the_command_grades_on_a_local_dask_cluster(local, tmp_path):
    course_dir = tmp_path / "course"
    shutil.copytree(local[0], course_dir, ignore=shutil.ignore_patterns(".grading", "autograded", "reports"))
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", A, "--course-dir", str(course_dir), "--dask",
                          "--jobs", "2"], capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "8 submissions" in run.stdout and (course_dir / "reports" / f"{A}.html").is_file()
    rows = {json.loads(p.read_text())["student"]: json.loads(p.read_text())["score"]
            for p in (course_dir / ".grading" / "results" / A).glob("*.json")}
    assert rows == {student: row[1] for student, row in local[1].items()}
