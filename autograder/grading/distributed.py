"""Grade a batch on Dask: a local cluster by default, or an existing scheduler by address.

    for result in grade_on_dask(jobs, grade_one):                      # LocalCluster on 127.0.0.1
    for result in grade_on_dask(jobs, grade_one, address="tcp://head:8786")   # Slurm, Kubernetes, ...
    for result in grade_on_dask(jobs, grade_one, gpu=True)             # only on workers with GPU=1

A job is plain picklable data that names its submission: attributes or keys ``student`` and
``assignment`` (used only to label the row of a job that never came back). ``grade_one(job)`` grades one
submission and returns its ``SubmissionResult``; it must be importable on the workers (a module function,
not a lambda of the caller's ``__main__``).

Nothing is lost when a worker dies: the scheduler runs the job again on another worker, up to
``distributed.scheduler.allowed-failures`` times (3 by default); when it gives up (``KilledWorker``: the
job was on every worker that died) the job is submitted again ``resubmits`` times, and after that it ends
as a ``crashed`` row. A ``grade_one`` that raises (a grader bug: it should return a status row instead) is
retried ``retries`` times by Dask and then ends as an ``error`` row. Every job yields exactly one result.
"""
import os
from concurrent.futures import CancelledError

import dask
from distributed import Client, KilledWorker, LocalCluster, as_completed

from .results import SubmissionResult

GPU_RESOURCES = {"GPU": 1}


def grade_on_dask(jobs, grade_one, address=None, n_workers=None, gpu=False, on_result=None,
                  retries=1, resubmits=1):
    """Yield one SubmissionResult per job, in completion order; on_result(result) is called for each."""
    jobs = list(jobs)
    if not jobs:
        return
    if address is not None:
        with Client(address) as client:
            yield from _grade(client, jobs, grade_one, gpu, on_result, retries, resubmits)
        return
    # Workers that are not daemonic processes (also when a nanny restarts one), so that grade_one may
    # start processes of its own: a sandbox, a fork server. The workers of a real cluster need the same:
    # DASK_DISTRIBUTED__WORKER__DAEMON=False in their environment.
    with dask.config.set({"distributed.worker.daemon": False}), \
            _local_cluster(n_workers or (1 if gpu else os.cpu_count()), gpu) as cluster, \
            Client(cluster.scheduler_address) as client:
        yield from _grade(client, jobs, grade_one, gpu, on_result, retries, resubmits)


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


def _grade(client, jobs, grade_one, gpu, on_result, retries, resubmits):
    options = {"retries": retries, "pure": False}
    if gpu:
        options["resources"] = GPU_RESOURCES

    job_of = {}           # future key -> index of its job
    attempts = {}         # index of a job -> times it was submitted
    pending = as_completed()

    def submit(index):
        future = client.submit(grade_one, jobs[index], **options)
        job_of[future.key] = index
        attempts[index] = attempts.get(index, 0) + 1
        pending.add(future)

    for index in range(len(jobs)):
        submit(index)

    for future in pending:
        index = job_of.pop(future.key)
        if future.status == "finished":
            result = future.result()
            future.release()
        else:
            try:
                error = future.exception()
            except Exception as cancelled:  # a cancelled future has no exception to give, it raises
                error = cancelled
            future.release()
            if isinstance(error, KilledWorker) and attempts[index] <= resubmits:
                submit(index)
                continue
            result = _failed_result(jobs[index], error, attempts[index])
        if on_result is not None:
            on_result(result)
        yield result


def _failed_result(job, error, attempts):
    student, assignment = job_identity(job)
    if isinstance(error, KilledWorker):
        return SubmissionResult(
            student, assignment, status="crashed",
            message=f"every worker that ran this submission died ({attempts} submissions of the job, "
                    f"each retried by the scheduler up to its allowed failures)")
    if isinstance(error, CancelledError):
        return SubmissionResult(student, assignment, status="error",
                                message="the Dask scheduler cancelled or lost this job")
    return SubmissionResult(
        student, assignment, status="error",
        message=f"the grader raised {type(error).__name__}: {str(error)[:300]}")


def job_identity(job):
    """(student, assignment) that a job names, as attributes or as mapping keys."""
    if isinstance(job, dict):
        return str(job.get("student", "?")), str(job.get("assignment", "?"))
    return str(getattr(job, "student", "?")), str(getattr(job, "assignment", "?"))
