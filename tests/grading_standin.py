"""A stand-in for the grader's ``grade_one(job) -> SubmissionResult`` in tests of the batch machinery
(Dask backend): importable on Dask workers, as slow as the job says, its result a pure function of the job.

Each call appends "start"/"end" events (worker name, process id, job) to ``job.events_file`` so that a
test can see where a job ran and which runs were cut short.
"""
import multiprocessing
import os
import signal
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from autograder.grading.results import PartResult, SubmissionResult

PARTS = ("forget_gate", "input_gate", "cell_update")


@dataclass(frozen=True)
class StandInJob:
    student: str
    assignment: str
    seconds: float = 0.2
    events_file: str = ""
    kills_its_worker: bool = False
    raises: bool = False                 # a grader bug: grade_one should return a status row instead
    starts_a_process: bool = False       # as a sandbox or a fork server does


def expected_result(job):
    """What grading ``job`` gives: scores derived from its names, so any two runs agree."""
    parts = []
    for name in PARTS:
        points = zlib.crc32(f"{job.student}/{job.assignment}/{name}".encode()) % 3
        parts.append(PartResult(f"{job.assignment}.{name}", f"{job.assignment}.{name}", float(points), 2.0,
                                hint="wrong gate order" if points == 1 else None))
    return SubmissionResult(job.student, job.assignment, status="graded",
                            score=sum(p.score for p in parts), max_score=sum(p.max_score for p in parts),
                            seconds=job.seconds, parts=parts)


def grade_one(job):
    _log(job, "start")
    if job.kills_its_worker:
        os.kill(os.getpid(), signal.SIGKILL)
    if job.raises:
        raise RuntimeError(f"grader bug on {job.student}")
    if job.starts_a_process:
        child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(0.01,))
        child.start()
        child.join()
    time.sleep(job.seconds)
    _log(job, "end")
    return expected_result(job)


def _log(job, event):
    if not job.events_file:
        return
    try:
        from distributed import get_worker
        worker = get_worker().name
    except ValueError:          # not on a Dask worker
        worker = "local"
    line = f"{event} {worker} {os.getpid()} {job.student}/{job.assignment}\n"
    with open(job.events_file, "a") as events:
        events.write(line)


def read_events(path):
    """[(event, worker name, pid, "student/assignment")] in the order they were written."""
    if not Path(path).exists():
        return []
    return [tuple(line.split()) for line in Path(path).read_text().splitlines()]
