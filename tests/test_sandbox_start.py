"""The sandbox check at the start of `grade` starts the fork server the first grading thread then uses
(its start is paid once per command, not twice), and each submission still runs in its own child."""
import threading
import uuid

import nbformat
import pytest

from autograder.grading import sandbox
from autograder.grading.config import load_grading_config
from autograder.grading.course_dir import make_course
from autograder.grading.pipeline import GradingJob, grade_one
from autograder.grading.sandbox import WORK_ROOT, check_sandbox, close_servers
from autograder.nbgrader.submissions import solved_copy, write_submission

pytestmark = pytest.mark.slow


def test_the_checked_server_grades_the_first_thread_and_no_other(tmp_path, monkeypatch):
    course = tmp_path / "course"
    make_course(course, ["sequence_models"], seed=31)
    release = nbformat.read(course / "release" / "sequence_models" / "sequence_models.ipynb", as_version=4)
    source = course / "source" / "sequence_models" / "sequence_models.ipynb"
    for student in ("ann", "ben"):
        write_submission(solved_copy(release, nbformat.read(source, as_version=4)),
                         course / "submitted" / student / "sequence_models" / "sequence_models.ipynb")
    grading = load_grading_config(course)
    runtime = WORK_ROOT / f"runtime-test-{uuid.uuid4().hex}"
    starts = []
    original_start = sandbox.ForkServer._start
    monkeypatch.setattr(sandbox.ForkServer, "_start", lambda self: (starts.append(self), original_start(self)))
    try:
        check_sandbox(runtime, grading.limits)
        assert len(starts) == 1
        checked = starts[0]
        results, used = {}, {}

        def grade(student):
            job = GradingJob(student, "sequence_models",
                             str(course / "submitted" / student / "sequence_models" / "sequence_models.ipynb"),
                             str(source), grading.seed, str(runtime), grading.limits)
            results[student] = grade_one(job)
            used[student] = next(iter(sandbox._servers.by_key.values()))

        for student in ("ann", "ben"):             # two threads, one after the other: two servers
            thread = threading.Thread(target=grade, args=(student,))
            thread.start()
            thread.join()
    finally:
        close_servers()
    assert {s: (r.status, r.score == r.max_score > 0) for s, r in results.items()} == {
        "ann": ("graded", True), "ben": ("graded", True)}
    assert used["ann"] is checked and used["ben"] is not checked
    assert len(starts) == 2           # the probe's server (kept for ann) and ben's own
