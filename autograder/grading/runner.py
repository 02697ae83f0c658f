"""The program that runs inside the sandbox: one submission's cells, then each graded function on the
hidden cases, its outputs written as plain records.

    python -I -c "...; from autograder.grading.runner import main; main()" JOB_FILE OUT_DIR

Nothing written here is trusted: the grader outside reads only the records (npz without pickle, checked
for size and shape) and judges them against references it computes itself. This file only has to be
honest for honest submissions; a submission that subverts it can at most spoil its own records.
"""
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

MAX_MESSAGE = 300


class CellTimeout(BaseException):
    """Raised by the alarm when a cell or a check runs past its time (BaseException: `except Exception`
    in the student's code does not swallow it)."""


def _on_alarm(signum, frame):
    raise CellTimeout()


def _short(error):
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


def run_cells(shell, cells, seconds):
    """Run each cell in order, like a kernel with errors allowed; one report per cell."""
    reports = []
    for cell in cells:
        start = time.perf_counter()
        signal.alarm(seconds)
        error = None
        try:
            result = shell.run_cell(cell["source"], store_history=False, silent=False)
            failure = result.error_before_exec or result.error_in_exec
            if isinstance(failure, CellTimeout):
                error = f"the cell ran longer than {seconds} s and was stopped"
            elif failure is not None:
                error = _short(failure)
        except CellTimeout:
            error = f"the cell ran longer than {seconds} s and was stopped"
        except BaseException as caught:  # SystemExit, KeyboardInterrupt: the next cell still runs
            error = _short(caught)
        finally:
            signal.alarm(0)
        reports.append({"grade_id": cell["grade_id"], "kind": cell["kind"], "error": error,
                        "seconds": round(time.perf_counter() - start, 4)})
    return reports


def run_checks(namespace, checks, seed, device, seconds, out_dir):
    """Call each graded function on its hidden cases; records to OUT_DIR/<grade_id>.npz."""
    from autograder.cases import hidden_cases
    from autograder.collect import collect
    from autograder.records import save_records

    reports = []
    for check in checks:
        report = {"grade_id": check["grade_id"], "check_id": check["check_id"], "error": None}
        reports.append(report)
        try:
            fn = eval(check["function"], namespace)  # the expression comes from the instructor's test cell
        except NameError as error:
            report["error"] = f"not defined: {error}"
            continue
        except BaseException as error:
            report["error"] = _short(error)
            continue
        signal.alarm(seconds)
        try:
            cases = hidden_cases(check["check_id"], device, seed)
            records = collect(check["check_id"], fn, device, cases=cases)
            save_records(str(Path(out_dir) / f"{check['grade_id']}.npz"), check["check_id"], records)
        except CellTimeout:
            report["error"] = f"the check ran longer than {seconds} s and was stopped"
        except BaseException as error:
            report["error"] = _short(error)
        finally:
            signal.alarm(0)
    return reports


def main(argv=None):
    job_file, out_dir = (argv or sys.argv[1:])[:2]
    job = json.loads(Path(job_file).read_text())
    import torch  # imported before any student code, as the notebook's setup cell would
    from IPython.core.interactiveshell import InteractiveShell

    torch.set_num_threads(1)
    if job["device"] == "cuda":
        from autograder.devices import disable_tf32
        disable_tf32()
    signal.signal(signal.SIGALRM, _on_alarm)
    shell = InteractiveShell.instance(colors="NoColor")
    started = time.perf_counter()
    cells = run_cells(shell, job["cells"], job["cell_seconds"])
    checks = run_checks(shell.user_ns, job["checks"], job["seed"], job["device"], job["check_seconds"], out_dir)
    report = {"cells": cells, "checks": checks, "seconds": round(time.perf_counter() - started, 3)}
    (Path(out_dir) / "report.json").write_text(json.dumps(report))
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: the sandbox is killed next anyway


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        traceback.print_exc()
        os._exit(3)
