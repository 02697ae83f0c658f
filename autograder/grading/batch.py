"""`python -m autograder grade ASSIGNMENT [...] --course-dir DIR`: grade the submissions of assignments.

Submissions are read from nbgrader's layout, `DIR/submitted/<student>/<ASSIGNMENT>/<ASSIGNMENT>.ipynb`.
Each one is graded in its own sandbox, `--jobs` at a time on this machine (one pool for every assignment of
the command), or on Dask workers (`--dask`:
a local cluster; `--scheduler ADDRESS`: an existing one, whose workers see DIR at the same path).
Every submission ends with one status row. With sqlite one process records the results in the gradebook
as they arrive; with a PostgreSQL gradebook on Dask each worker records its own (parallel writers).
A result is kept next to the gradebook (`DIR/.grading/results/`), so running the command again grades
only what is new, changed or failed (timeout, oom, crashed, error, missing) and keeps every grade
already recorded.
"""
import json
import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder.nbgrader.grading import submission_path
from autograder.grading.record import record_result
from .pipeline import GradingJob, fingerprint, grade_one, read_submission
from .plan import Tampered, nbgrader_meta, plan_submission, rebuilt_notebook
from .results import GRADED, SubmissionResult
from .sandbox import batch_runtime, close_servers, ensure_runtime, gpu_count, use_gpu

FINAL_STATUSES = GRADED | {"tampered", "invalid"}  # graded again only when the submission changes
RESULTS = Path(".grading") / "results"


def students_of(coursedir, assignment):
    """Every student with a folder for `assignment` under submitted/."""
    root = Path(coursedir.root) / coursedir.submitted_directory
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / assignment).is_dir())


def source_file(coursedir, assignment):
    folder = coursedir.format_path(coursedir.source_directory, ".", assignment)
    return Path(folder) / f"{assignment}.ipynb"


def result_file(coursedir, student, assignment):
    return Path(coursedir.root) / RESULTS / assignment / f"{student}.json"


def previous_result(coursedir, student, assignment):
    path = result_file(coursedir, student, assignment)
    try:
        return SubmissionResult.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class RecordedJob:
    """A job whose worker also records its result (PostgreSQL gradebook: one writer per worker)."""
    job: GradingJob
    course_dir: str
    student: str
    assignment: str


def grade_and_record(recorded):
    from autograder.nbgrader.course import course_directory, load_course_config
    result = grade_one(recorded.job)
    config = load_course_config(Path(recorded.course_dir) / "nbgrader_config.py")
    record(course_directory(recorded.course_dir, config), result)
    return result


def grade_batch(coursedir, config, grading, assignment, students=None, jobs=None, unsafe=False,
                on_result=None, dask=False, scheduler=None, keep_servers=False, on_start=None):
    """Grade the submissions of one assignment; returns one SubmissionResult per student, in student order."""
    return grade_batches(coursedir, config, grading, {assignment: students}, jobs, unsafe, on_result, dask,
                         scheduler, keep_servers, on_start)


def grade_batches(coursedir, config, grading, batches, jobs=None, unsafe=False, on_result=None, dask=False,
                  scheduler=None, keep_servers=False, on_start=None):
    """Grade {assignment: students (None: every student with a submission)} in one pool, so that no worker
    waits for the last submission of one assignment before the next starts; returns the SubmissionResults
    assignment by assignment (in the order given), students in order.

    on_start(student, assignment) is called as a submission starts, on_result(result, kept) as each
    result is recorded (kept: an earlier grade was kept)."""
    device = batch_device(grading)
    runtime = batch_runtime()
    ensure_runtime(runtime)
    try:
        order, results, todo = [], {}, []
        for assignment, students in batches.items():
            students = sorted(students) if students else students_of(coursedir, assignment)
            template = GradingJob("", assignment, "", str(source_file(coursedir, assignment)), grading.seed,
                                  str(runtime), grading.limits, device, unsafe)
            for student in students:
                order.append((assignment, student))
                job = replace(template, student=student,
                              submission=str(submission_path(coursedir, student, assignment)))
                kept = previous_result(coursedir, student, assignment)
                if kept and kept.status in FINAL_STATUSES and kept.fingerprint == fingerprint(job):
                    results[assignment, student] = kept
                    if on_result:
                        on_result(kept, True)
                else:
                    todo.append(job)
        workers = max(1, jobs or os.cpu_count() or 1)
        gradebook = None  # one session for the batch's results (opening one per result cost ~25 ms each)
        try:
            for result, recorded in _graded(coursedir, todo, workers, dask or scheduler is not None, scheduler,
                                            on_start or (lambda student, assignment: None)):
                if not recorded:
                    gradebook = gradebook or _open_gradebook(coursedir)
                    record(coursedir, result, gradebook)
                results[result.assignment, result.student] = result
                if on_result:
                    on_result(result, False)
        finally:
            if gradebook is not None:
                gradebook.close()
        return [results[key] for key in order]
    finally:
        if not keep_servers:
            close_servers()


def batch_device(grading):
    """The device a batch is graded on: the grading configuration's, "auto" resolved here."""
    if grading.device != "auto":
        return grading.device
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


def _gpu_slots(todo, workers):
    """(GPU slots, pin): on a CUDA batch, one worker per GPU, each pinned to its own (at most `workers`)."""
    if not todo or todo[0].device != "cuda":
        return [], False
    return list(range(max(1, min(workers, gpu_count())))), True


def _graded(coursedir, todo, workers, dask, scheduler, on_start):
    """(result, already recorded) for each job, as they finish."""
    if not dask:
        def start_and_grade(job):
            on_start(job.student, job.assignment)
            return grade_one(job)
        slots, pin = _gpu_slots(todo, workers)
        with ThreadPoolExecutor(max_workers=len(slots) if pin else workers,
                                initializer=(lambda: use_gpu(slots.pop())) if pin else None) as pool:
            for future in as_completed([pool.submit(start_and_grade, job) for job in todo]):
                yield future.result(), False
        return
    from .distributed import grade_on_dask
    gpu = bool(todo) and todo[0].device == "cuda"
    if coursedir.db_url.startswith("sqlite"):
        for result in grade_on_dask(todo, grade_one, scheduler, workers, gpu, on_start=on_start):
            yield result, False
        return
    recorded = [RecordedJob(job, str(coursedir.root), job.student, job.assignment) for job in todo]
    for result in grade_on_dask(recorded, grade_and_record, scheduler, workers, gpu, on_start=on_start):
        yield result, bool(result.fingerprint)  # a job that never came back has no fingerprint


def _open_gradebook(coursedir):
    """An open Gradebook of the course, or None when it cannot be opened (each result then tries on its
    own and its row says why it could not be recorded)."""
    try:
        return Gradebook(coursedir.db_url, coursedir.course_id)
    except Exception:
        return None


def record(coursedir, result, gradebook=None):
    """Gradebook (through `gradebook` when one is open) + autograded notebook, then the result file (last:
    a crash in between regrades it)."""
    try:
        record_result(coursedir, result, _notebook_to_record(coursedir, result),
                      submission_path(coursedir, result.student, result.assignment).with_name("timestamp.txt"),
                      gradebook)
    except Exception as error:  # nbgrader refused it: the row says so, the batch goes on
        result.status = "error"
        result.message = f"recording in the gradebook failed: {type(error).__name__}: {error}"
    path = result_file(coursedir, result.student, result.assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json(), indent=1))


def _notebook_to_record(coursedir, result):
    """The rebuilt notebook when the submission could be read and planned, else the release."""
    source = nbformat.read(str(source_file(coursedir, result.assignment)), as_version=4)
    submitted, status, _ = read_submission(submission_path(coursedir, result.student, result.assignment))
    if submitted is not None:
        try:
            return rebuilt_notebook(source, plan_submission(source, submitted))
        except Tampered:
            pass
    release = Path(coursedir.format_path(coursedir.release_directory, ".", result.assignment))
    return nbformat.read(str(release / f"{result.assignment}.ipynb"), as_version=4)


def summary(results):
    counts = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def answers_of(coursedir, results):
    """{(student, assignment): {grade id: answer source}} of the readable submissions (for the report)."""
    answers = {}
    for result in results:
        nb, _, _ = read_submission(submission_path(coursedir, result.student, result.assignment))
        if nb is not None:
            answers[(result.student, result.assignment)] = {
                nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells
                if nbgrader_meta(c).get("solution") and "grade_id" in nbgrader_meta(c)}
    return answers
