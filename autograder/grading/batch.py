"""`python -m autograder grade ASSIGNMENT --course-dir DIR`: grade the submissions of one assignment.

Submissions are read from nbgrader's layout, `DIR/submitted/<student>/<ASSIGNMENT>/<ASSIGNMENT>.ipynb`.
Each one is graded in its own sandbox (`--jobs` at a time); one process records the results in the
gradebook, as they arrive. Every submission ends with one status row. A result is kept next to the
gradebook (`DIR/.grading/results/`), so running the command again grades only what is new, changed or
failed (timeout, oom, crashed, error, missing), and keeps every grade already recorded.
"""
import json
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path

import nbformat

import autograder
import rnn_demos
from autograder.nbgrader.grading import format_table, submission_path
from autograder.nbgrader.record import record_result
from .pipeline import GradingJob, fingerprint, grade_one, read_submission
from .plan import Tampered, plan_submission, rebuilt_notebook
from .results import SubmissionResult
from .sandbox import WORK_ROOT, close_servers, stage_runtime

FINAL_STATUSES = ("graded", "flagged", "refused", "tampered", "invalid")
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


def grade_batch(coursedir, config, grading, assignment, students=None, jobs=None, unsafe=False,
                on_result=None):
    """Grade the submissions; returns one SubmissionResult per student, in student order."""
    students = sorted(students) if students else students_of(coursedir, assignment)
    device = grading.device
    if device == "auto":
        import torch
        device = "cuda" if torch.cuda.is_available() else "cpu"
    WORK_ROOT.mkdir(parents=True, exist_ok=True)
    runtime = WORK_ROOT / f"runtime-{uuid.uuid4().hex}"
    stage_runtime(runtime, [Path(autograder.__file__).parent, Path(rnn_demos.__file__).parent])
    try:
        template = GradingJob("", assignment, "", str(source_file(coursedir, assignment)), grading.seed,
                              str(runtime), grading.limits, device, unsafe)
        results, todo = {}, []
        for student in students:
            job = replace(template, student=student,
                          submission=str(submission_path(coursedir, student, assignment)))
            kept = previous_result(coursedir, student, assignment)
            if kept and kept.status in FINAL_STATUSES and kept.fingerprint == fingerprint(job):
                results[student] = kept
                if on_result:
                    on_result(kept, True)
            else:
                todo.append(job)
        workers = max(1, jobs or os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(grade_one, job) for job in todo]
            for future in as_completed(futures):
                result = future.result()
                _record(coursedir, config, result)
                results[result.student] = result
                if on_result:
                    on_result(result, False)
        return [results[s] for s in students]
    finally:
        close_servers()
        shutil.rmtree(runtime, ignore_errors=True)


def _record(coursedir, config, result):
    """Gradebook + autograded notebook, then the result file (last: a crash in between regrades it)."""
    try:
        record_result(coursedir, config, result, _notebook_to_record(coursedir, result),
                      submission_path(coursedir, result.student, result.assignment).with_name("timestamp.txt"))
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


def status_table(results):
    return format_table(results)


def summary(results):
    counts = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
