"""The program that runs inside the sandbox: one submission's cells, then each graded function called on
the inputs the grader sent, its outputs written as plain records.

    python -I -c "...; from autograder.sandbox.runner import main; main()" JOB_FILE OUT_DIR

(`autograder.sandbox.forkserver` runs the same `run_job` in a fork of a warm process.)

Limits are per cell and per check, in CPU time, so the load of the machine changes no outcome: a cell or
check that uses more CPU seconds than it may is stopped (SIGPROF), one that waits (sleep, a blocking call)
is stopped by a wall-clock backstop ten times longer. Each check runs in a forked child of this process:
a check that runs out of time or memory, or crashes, loses its own points and the next check still runs.
(CUDA cannot be used in a forked child once initialised: on the GPU the checks run one after another in
this process.)

Nothing written here is trusted: the grader outside reads only the records (npz without pickle, checked
for size and shape) and judges them against references it computes itself.
"""
import json
import os
import resource
import signal
import sys
import time
import traceback
from pathlib import Path

MAX_MESSAGE = 300
MAX_REPORTED_CELLS = 50  # the report lists the cells that raised, up to this many
WALL_FACTOR, WALL_EXTRA = 10, 30  # the wall-clock backstop of a cell or check: 10 x its CPU seconds + 30 s
EXIT_RECORDED, EXIT_CPU, EXIT_FAILED, EXIT_MEMORY = 0, 3, 4, 5


class OverLimit(BaseException):
    """Raised by the timers when a cell or a check runs past its time (BaseException: `except Exception`
    in the student's code does not swallow it)."""


def _on_timer(signum, frame):
    raise OverLimit("cpu" if signum == signal.SIGPROF else "wall")


def _short(error):
    try:
        text = f"{type(error).__name__}: {error}"
    except Exception:
        text = type(error).__name__
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


class limited:
    """CPU-time limit (ITIMER_PROF counts this process's user + system time) and a wall backstop."""

    def __init__(self, cpu_seconds):
        self.cpu_seconds = cpu_seconds

    def __enter__(self):
        signal.setitimer(signal.ITIMER_PROF, self.cpu_seconds)
        signal.setitimer(signal.ITIMER_REAL, WALL_FACTOR * self.cpu_seconds + WALL_EXTRA)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        return False


def _limit_text(kind, seconds):
    if kind == "cpu":
        return f"used more than {seconds} s of CPU time and was stopped"
    return f"waited longer than {WALL_FACTOR * seconds + WALL_EXTRA} s (wall clock) and was stopped"


def run_cells(shell, cells, cpu_seconds):
    """Run each cell in order, like a kernel with errors allowed; one report per cell."""
    reports = []
    for cell in cells:
        start = time.perf_counter()
        error = None
        try:
            with limited(cpu_seconds):
                result = shell.run_cell(cell["source"], store_history=False, silent=False)
            failure = result.error_before_exec or result.error_in_exec
            if isinstance(failure, OverLimit):
                error = f"the cell {_limit_text(failure.args[0], cpu_seconds)}"
            elif failure is not None:
                error = _short(failure)
        except OverLimit as caught:
            error = f"the cell {_limit_text(caught.args[0], cpu_seconds)}"
        except BaseException as caught:  # SystemExit, KeyboardInterrupt: the next cell still runs
            error = _short(caught)
        reports.append({"grade_id": cell["grade_id"], "kind": cell["kind"], "error": error,
                        "seconds": round(time.perf_counter() - start, 4)})
    return reports


def run_check(namespace, check, calls, out_dir):
    """Call the check's function on each of its inputs; records to OUT_DIR/<grade_id>.npz.

    Returns an exit code (EXIT_*) and an error text or None."""
    from autograder.sandbox.observe import observe
    from autograder.sandbox.wire import save_records

    try:
        fn = eval(check["function"], namespace)  # the expression comes from the instructor's test cell
    except NameError as error:
        return EXIT_FAILED, f"not defined: {error}"
    except BaseException as error:
        return EXIT_FAILED, _short(error)
    observations, seconds = [], []
    try:
        with limited(check["cpu_seconds"]):
            for call, with_gradient in calls:
                start = time.perf_counter()
                observation = observe(fn, call, with_gradient, check["refusals"])
                observations.append(observation)
                seconds.append(time.perf_counter() - start)
                if observation.forbidden:
                    break
            save_records(str(Path(out_dir) / f"{check['grade_id']}.npz"), check["check_id"], observations, seconds)
    except OverLimit as caught:
        return EXIT_CPU, f"the check {_limit_text(caught.args[0], check['cpu_seconds'])}"
    except MemoryError:
        return EXIT_MEMORY, "the check went over the memory limit"
    except BaseException as error:
        return EXIT_FAILED, _short(error)
    return EXIT_RECORDED, None


def run_checks(namespace, checks, inputs, out_dir, fork):
    reports = []
    for check in checks:
        report = {"grade_id": check["grade_id"], "check_id": check["check_id"], "error": None}
        reports.append(report)
        calls = inputs.get(check["grade_id"], [])
        if not fork:
            report["error"] = run_check(namespace, check, calls, out_dir)[1]
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code, error = EXIT_FAILED, "the check ended without a result"
            try:
                hard = check["cpu_seconds"] + 5
                resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
                code, error = run_check(namespace, check, calls, out_dir)
                if error:
                    (Path(out_dir) / f"{check['grade_id']}.error").write_text(error[:MAX_MESSAGE + 10])
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status, usage = os.wait4(pid, 0)
        report["error"] = _child_error(status, usage, check, out_dir)
    return reports


def _child_error(status, usage, check, out_dir):
    """What ended a check's child, from its wait status, its CPU time and the error it wrote."""
    written = Path(out_dir) / f"{check['grade_id']}.error"
    if os.WIFEXITED(status):
        if os.WEXITSTATUS(status) == EXIT_RECORDED:
            return None
        try:
            text = written.read_text()[:MAX_MESSAGE + 10]
            written.unlink()
            return text
        except OSError:
            return f"the check ended with exit status {os.WEXITSTATUS(status)} before its result was written"
    signum = os.WTERMSIG(status)
    if signum == signal.SIGXCPU or usage.ru_utime + usage.ru_stime >= check["cpu_seconds"]:
        return f"the check {_limit_text('cpu', check['cpu_seconds'])}"
    if signum == signal.SIGKILL:
        return "the check was killed: it went over the memory limit"
    return f"the check was ended by signal {signal.Signals(signum).name}"


def main(argv=None):
    job_file, out_dir = (argv or sys.argv[1:])[:2]
    run_job(json.loads(Path(job_file).read_text()), out_dir)


def run_job(job, out_dir):
    import torch  # imported before any student code, as the notebook's setup cell would
    from IPython.core.interactiveshell import InteractiveShell

    from autograder.sandbox.observe import warm_meta_device
    from autograder.sandbox.wire import read_inputs

    torch.set_num_threads(1)
    warm_meta_device()  # before the limits start (a fork server's child finds it done already)
    if job["device"] == "cuda":
        from autograder.sandbox.devices import disable_tf32
        disable_tf32()
    signal.signal(signal.SIGPROF, _on_timer)
    signal.signal(signal.SIGALRM, _on_timer)
    inputs = read_inputs(job["inputs"])
    shell = InteractiveShell.instance(colors="NoColor")
    started = time.perf_counter()
    cells = run_cells(shell, job["cells"], job["cell_seconds"])
    checks = run_checks(shell.user_ns, job["checks"], inputs, out_dir, fork=job["device"] != "cuda")
    failed_cells = [cell for cell in cells if cell["error"]]
    report = {"cells": failed_cells[:MAX_REPORTED_CELLS], "cells_run": len(cells), "cells_failed": len(failed_cells),
              "checks": checks, "seconds": round(time.perf_counter() - started, 3)}
    (Path(out_dir) / "report.json").write_text(json.dumps(report))
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: the sandbox is killed next anyway


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        traceback.print_exc()
        os._exit(3)
