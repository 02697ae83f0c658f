"""Grade a batch on Dask: a local cluster by default, or an existing scheduler by address.

    for result in grade_on_dask(jobs, grade_one):                      # LocalCluster on 127.0.0.1
    for result in grade_on_dask(jobs, grade_one, address="tcp://head:8786")   # Slurm, Kubernetes, ...
    for result in grade_on_dask(jobs, grade_one, gpu=True)             # only on workers with GPU=1

A job is plain picklable data that names its submission: attributes or keys ``student`` and
``assignment`` (used to label the row of a job that never came back, and the start announcements).
``grade_one(job)`` grades one submission and returns its ``SubmissionResult``; it must be importable on
the workers (a module function, not a lambda of the caller's ``__main__``). ``on_start(student,
assignment)`` is called, from the Dask client's thread, each time a worker starts a job.

Nothing is lost when a worker dies: the scheduler runs the job again on another worker, up to
``distributed.scheduler.allowed-failures`` times (3 by default); when it gives up (``KilledWorker``) the
job is submitted again ``resubmits`` times, and after that it ends as a ``crashed`` row. A ``grade_one``
that raises (a grader bug: it should return a status row instead) is retried ``retries`` times by Dask
and then ends as an ``error`` row. Every job yields exactly one result.

The scheduler blames a worker's death on every task assigned to that worker, running or waiting. So that
an honest submission is never blamed for a hostile one, no more jobs are handed to the scheduler than
the cluster has slots (worker threads, or GPUs with ``gpu=True``): each worker holds only the job it runs.
"""
import logging
import os
import time
import uuid
from collections import deque
from concurrent.futures import CancelledError

import dask
from distributed import Client, KilledWorker, LocalCluster, as_completed, get_worker

from .results import SubmissionResult
from .sandbox import gpu_count, use_gpu

GPU_RESOURCES = {"GPU": 1}
STARTED_TOPIC = "autograder-job-started"
SLOTS_REFRESH_SECONDS = 1.0     # how often the cluster's size is asked again (it may grow or shrink)


def quiet_dask_logs():
    """Dask's INFO lines (scheduler, nannies, workers, connections) off stderr; warnings and errors stay.

    The local cluster's scheduler runs in this process, its workers in child processes that read the
    level from their environment when they import distributed."""
    os.environ["DASK_LOGGING__DISTRIBUTED"] = "warning"
    dask.config.set({"logging.distributed": "warning"})
    logging.getLogger("distributed").setLevel(logging.WARNING)


def grade_on_dask(jobs, grade_one, address=None, n_workers=None, gpu=False, on_result=None,
                  on_start=None, retries=1, resubmits=1):
    """Yield one SubmissionResult per job, in completion order; on_result(result) is called for each."""
    jobs = list(jobs)
    if not jobs:
        return
    if address is not None:
        with Client(address) as client:
            yield from _grade(client, jobs, grade_one, gpu, on_result, on_start, retries, resubmits)
        return
    # Workers that are not daemonic processes (also when a nanny restarts one), so that grade_one may
    # start processes of its own: a sandbox, a fork server. The workers of a real cluster need the same:
    # DASK_DISTRIBUTED__WORKER__DAEMON=False in their environment.
    n_workers = n_workers or os.cpu_count() or 1
    if gpu:  # one worker per GPU, each pinned to its own (the worker's name is its index)
        n_workers = max(1, min(n_workers, gpu_count()))
    with dask.config.set({"distributed.worker.daemon": False}), \
            _local_cluster(n_workers, gpu) as cluster, \
            Client(cluster.scheduler_address) as client:
        yield from _grade(client, jobs, grade_one, gpu, on_result, on_start, retries, resubmits, pin_gpu=gpu)


def _local_cluster(n_workers, gpu):
    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",          # HTTP routes (health, metrics) on loopback only
        worker_dashboard_address="127.0.0.1:0",
        resources=GPU_RESOURCES if gpu else None,
    )


def _run_job(grade_one, job, batch, pin_gpu=False):
    """On a worker: announce the start of the job to the client of its batch, then grade it (on the GPU
    of the worker's index when the local cluster pins them)."""
    if pin_gpu:
        use_gpu(int(get_worker().name))
    if batch is not None:
        student, assignment = job_identity(job)
        get_worker().log_event(STARTED_TOPIC, {"batch": batch, "student": student, "assignment": assignment})
    return grade_one(job)


class _Slots:
    """How many jobs the cluster can run at once, asked again every SLOTS_REFRESH_SECONDS."""

    def __init__(self, client, gpu):
        self.client, self.gpu = client, gpu
        self.count, self.asked_at = 1, None

    def __call__(self):
        now = time.monotonic()
        if self.asked_at is None or now - self.asked_at >= SLOTS_REFRESH_SECONDS:
            workers = self.client.scheduler_info()["workers"].values()
            if self.gpu:
                slots = sum(int(w.get("resources", {}).get("GPU", 0)) for w in workers)
            else:
                slots = sum(w.get("nthreads", 1) for w in workers)
            self.count, self.asked_at = max(1, slots), now
        return self.count


def _grade(client, jobs, grade_one, gpu, on_result, on_start, retries, resubmits, pin_gpu=False):
    options = {"retries": retries, "pure": False}
    if gpu:
        options["resources"] = GPU_RESOURCES
    batch = None
    if on_start is not None:
        batch = uuid.uuid4().hex          # other batches may share the scheduler and the topic

        def announce(event):
            message = event[1]
            if message.get("batch") == batch:
                on_start(message["student"], message["assignment"])
        client.subscribe_topic(STARTED_TOPIC, announce)

    slots = _Slots(client, gpu)
    waiting = deque(range(len(jobs)))  # indices of jobs not yet handed to the scheduler
    job_of = {}                        # key of a future in flight -> index of its job
    attempts = {}                      # index of a job -> times it was handed to the scheduler
    in_flight = as_completed()

    def hand_out():
        free = slots() - len(job_of)
        while waiting and (free > 0 or not job_of):
            index = waiting.popleft()
            future = client.submit(_run_job, grade_one, jobs[index], batch, pin_gpu, **options)
            job_of[future.key] = index
            attempts[index] = attempts.get(index, 0) + 1
            in_flight.add(future)
            free -= 1

    hand_out()
    try:
        for future in in_flight:
            index = job_of.pop(future.key)
            result = _result_of(future, jobs[index], attempts[index], resubmits)
            if result is None:                  # the scheduler gave up after worker deaths: once more
                waiting.appendleft(index)
            hand_out()
            if result is not None:
                if on_result is not None:
                    on_result(result)
                yield result
    finally:
        if on_start is not None:
            client.unsubscribe_topic(STARTED_TOPIC)


def _result_of(future, job, attempts, resubmits):
    """The job's SubmissionResult, or None when it should be handed to the scheduler again."""
    try:
        result = future.result()  # raises what the job raised, KilledWorker, or CancelledError
    except Exception as raised:  # (its status may still read "finished" a moment before)
        error = raised
    else:
        future.release()
        return result
    future.release()
    student, assignment = job_identity(job)
    if isinstance(error, KilledWorker):
        if attempts <= resubmits:
            return None
        return SubmissionResult(
            student, assignment, status="crashed",
            message=f"every worker that ran this submission died ({attempts} submissions of the job, "
                    f"each retried by the scheduler up to its allowed failures)")
    if isinstance(error, CancelledError):
        return SubmissionResult(student, assignment, status="error",
                                message="the Dask scheduler cancelled or lost this job")
    return SubmissionResult(student, assignment, status="error",
                            message=f"the grader raised {type(error).__name__}: {str(error)[:300]}")


def job_identity(job):
    """(student, assignment) that a job names, as attributes or as mapping keys."""
    if isinstance(job, dict):
        return str(job.get("student", "?")), str(job.get("assignment", "?"))
    return str(getattr(job, "student", "?")), str(getattr(job, "assignment", "?"))
