"""The Dask backend on real processes: a scheduler and two workers started with the `dask` command on
loopback (and a LocalCluster), grading a batch with the stand-in grader of grading_standin.py."""
import io
import json
from collections import Counter
from dataclasses import replace
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.grading.distributed import grade_on_dask
from autograder.grading.progress import BatchProgress
from grading_standin import StandInJob, expected_result, grade_one, read_events

TESTS_DIR = Path(__file__).resolve().parent
DASK = str(Path(sys.executable).with_name("dask"))


def _key(result):
    return result.student, result.assignment


def _batch(n, events_file, seconds=0.3):
    assignments = ("rnn", "lstm", "gru")
    return [StandInJob(f"student{i:02d}", assignments[i % 3], seconds=seconds, events_file=str(events_file))
            for i in range(n)]


class DaskCluster:
    """A `dask scheduler` and `dask worker` processes on 127.0.0.1, stopped by close()."""

    def __init__(self, folder, workers, allowed_failures=3):
        self.folder = Path(folder)
        self.scheduler_file = self.folder / "scheduler.json"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]),
                   DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=str(allowed_failures))
        self.logs = []
        self.scheduler = self._start(env, "scheduler", [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                                        "--no-dashboard", "--scheduler-file", str(self.scheduler_file)])
        self.workers = {}
        try:
            for name, options in workers.items():
                self.workers[name] = self._start(env, name, [
                    DASK, "worker", "--scheduler-file", str(self.scheduler_file), "--host", "127.0.0.1",
                    "--nthreads", "1", "--no-dashboard", "--name", name, *options])
            self.address = self._wait_for_workers(len(workers))
        except BaseException:
            self.close()
            raise

    def _start(self, env, name, command):
        log = open(self.folder / f"{name}.log", "w")
        self.logs.append(log)
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def _wait_for_workers(self, count, timeout=60):
        from distributed import Client
        deadline = time.monotonic() + timeout
        address = None
        while address is None:
            if time.monotonic() > deadline or self.scheduler.poll() is not None:
                raise RuntimeError(f"scheduler did not start: {(self.folder / 'scheduler.log').read_text()}")
            time.sleep(0.1)
            try:
                address = json.loads(self.scheduler_file.read_text())["address"]
            except (FileNotFoundError, json.JSONDecodeError):   # not there, or being written
                pass
        with Client(address, timeout=timeout) as client:
            client.wait_for_workers(count, timeout=timeout)
        return address

    def close(self):
        for process in [*self.workers.values(), self.scheduler]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*self.workers.values(), self.scheduler]:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in self.logs:
            log.close()


@pytest.fixture(scope="module")
def nanny_cluster(tmp_path_factory):
    """Two workers under nannies (a dead worker is restarted); only "gpu" offers the GPU resource."""
    cluster = DaskCluster(tmp_path_factory.mktemp("dask"), {"cpu": [], "gpu": ["--resources", "GPU=1"]},
                          allowed_failures=1)
    yield cluster
    cluster.close()


def test_cluster_by_address_gives_the_local_loop_results(nanny_cluster, tmp_path):
    jobs = _batch(12, tmp_path / "events")
    arrived = []
    progress = BatchProgress(total=len(jobs), stream=io.StringIO())

    def on_result(result):
        arrived.append(result)
        progress.finished(result)

    results = list(grade_on_dask(jobs, grade_one, address=nanny_cluster.address, on_result=on_result,
                                 on_start=progress.started))

    assert sorted(map(_key, results)) == sorted(map(_key, jobs))
    assert sorted(results, key=_key) == sorted((grade_one(job) for job in jobs), key=_key)
    assert arrived == results
    assert (progress.done, progress.running, progress.failed) == (12, 0, 0)
    ran_on = {worker for event, worker, *_ in read_events(tmp_path / "events") if worker != "local"}
    assert ran_on == {"cpu", "gpu"}


def test_gpu_jobs_run_only_on_the_gpu_worker(nanny_cluster, tmp_path):
    jobs = _batch(6, tmp_path / "events", seconds=0.1)
    results = list(grade_on_dask(jobs, grade_one, address=nanny_cluster.address, gpu=True))

    assert sorted(results, key=_key) == sorted(map(expected_result, jobs), key=_key)
    assert {worker for _, worker, *_ in read_events(tmp_path / "events")} == {"gpu"}


def test_a_job_that_kills_every_worker_ends_crashed_and_the_batch_goes_on(nanny_cluster, tmp_path):
    jobs = _batch(6, tmp_path / "events", seconds=0.5)
    killer = StandInJob("mallory", "lstm", events_file=str(tmp_path / "events"), kills_its_worker=True)
    results = list(grade_on_dask([killer, *jobs], grade_one, address=nanny_cluster.address, resubmits=1))

    # the honest jobs graded beside it, on the workers it kills, are never blamed for its crashes
    by_key = {_key(r): r for r in results}
    assert len(results) == len(by_key) == 7
    assert by_key["mallory", "lstm"].status == "crashed"
    assert "died" in by_key["mallory", "lstm"].message
    assert [by_key[_key(job)] for job in jobs] == [expected_result(job) for job in jobs]
    # allowed failures 1: two runs per submission of the job, and it was submitted twice.
    starts = [e for e in read_events(tmp_path / "events") if e[0] == "start" and e[3] == "mallory/lstm"]
    assert len(starts) == 4


def test_a_grader_that_raises_gives_an_error_row_after_its_retries(nanny_cluster, tmp_path):
    events = tmp_path / "events"
    buggy = StandInJob("bob", "gru", events_file=str(events), raises=True)
    results = list(grade_on_dask([buggy, *_batch(2, events, seconds=0.1)], grade_one,
                                 address=nanny_cluster.address, retries=2))

    assert len(results) == 3
    (error,) = [r for r in results if r.student == "bob"]
    assert error.status == "error" and "RuntimeError: grader bug on bob" in error.message
    assert sum(1 for e in read_events(events) if e[0] == "start" and e[3] == "bob/gru") == 3


def test_killing_a_worker_in_the_middle_loses_nothing(tmp_path):
    """Workers without nannies: the killed one stays dead, the other grades the rest. The worker killed
    is the one grading a long job, while it grades it."""
    cluster = DaskCluster(tmp_path, {"w1": ["--no-nanny"], "w2": ["--no-nanny"]})
    events = tmp_path / "events"
    long_job = StandInJob("victim", "lstm", seconds=4.0, events_file=str(events))
    jobs = [long_job, *_batch(15, events, seconds=0.3)]
    cut_job = "victim/lstm"
    killed = []

    def kill_the_worker_of_the_long_job(result):
        starts = [(worker, int(pid)) for event, worker, pid, job in read_events(events)
                  if event == "start" and job == cut_job]
        if not killed and starts:
            worker, pid = starts[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(worker)

    starts = []
    try:
        results = list(grade_on_dask(
            jobs, grade_one, address=cluster.address, on_result=kill_the_worker_of_the_long_job,
            on_start=lambda student, assignment: starts.append(f"{student}/{assignment}")))
        assert cluster.workers[killed[0]].wait(timeout=10) == -signal.SIGKILL
    finally:
        cluster.close()

    assert sorted(map(_key, results)) == sorted(map(_key, jobs))   # each job exactly once
    assert sorted(results, key=_key) == sorted(map(expected_result, jobs), key=_key)
    dead_worker = killed[0]
    survivor = ({"w1", "w2"} - {dead_worker}).pop()
    runs_of_cut_job = [(event, worker) for event, worker, _, job in read_events(events) if job == cut_job]
    assert runs_of_cut_job == [("start", dead_worker), ("start", survivor), ("end", survivor)]
    # every start was announced to the client, the cut job's twice
    assert Counter(starts) == Counter(job for event, _, _, job in read_events(events) if event == "start")
    assert starts.count(cut_job) == 2


def test_local_cluster_by_default(tmp_path):
    jobs = [replace(job, starts_a_process=True) for job in _batch(6, tmp_path / "events", seconds=0.1)]
    results = list(grade_on_dask(jobs, grade_one, n_workers=2))

    assert sorted(results, key=_key) == sorted(map(expected_result, jobs), key=_key)
    workers = {worker for _, worker, *_ in read_events(tmp_path / "events")}
    assert len(workers) == 2 and "local" not in workers
