"""The program that runs inside the sandbox: one submission's cells, then each graded function on the
hidden cases, its outputs written as plain records.

    python -I -c "...; from autograder.grading.runner import main; main()" JOB_FILE OUT_DIR
    python -I -c "...; from autograder.grading.runner import serve; serve()" OUT_DIR REPLY_FD

`serve` is the fork server: it imports torch, IPython and the course once, then for each job read from
stdin forks a child that isolates itself (new user, mount, pid and IPC namespaces; fresh /tmp, home and
/dev/shm; no capabilities; CPU limit) and runs the job as `main` would; it answers each job with the
child's exit status on the file descriptor it is given. The server never runs student code and cannot be traced by its children
(not dumpable; they live in a nested user namespace).

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
MAX_REPORTED_CELLS = 50  # the report lists the cells that raised, up to this many


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
    run_job(json.loads(Path(job_file).read_text()), out_dir)


def run_job(job, out_dir):
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
    failed_cells = [cell for cell in cells if cell["error"]]
    report = {"cells": failed_cells[:MAX_REPORTED_CELLS], "cells_run": len(cells), "cells_failed": len(failed_cells),
              "checks": checks, "seconds": round(time.perf_counter() - started, 3)}
    (Path(out_dir) / "report.json").write_text(json.dumps(report))
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: the sandbox is killed next anyway


CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWIPC = 0x00020000, 0x10000000, 0x20000000, 0x08000000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x4000, 0x40000
PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 4, 38


def serve(argv=None):
    out_dir, reply_fd = (argv or sys.argv[1:])[:2]
    import ctypes
    import resource

    import torch
    from IPython.core.interactiveshell import InteractiveShell  # noqa: F401 (imported once, for every child)
    import autograder.collect, autograder.records, autograder.cases  # noqa: F401,E401

    torch.set_num_threads(1)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    replies = os.fdopen(int(reply_fd), "w", buffering=1)
    replies.write("ready\n")
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            try:
                # The job must not reach the server's channels: a reply it wrote, or a job it read,
                # would be taken for the server's.
                replies.close()
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                os.close(devnull)
                _isolated_child(libc, resource, job, out_dir)
            except BaseException:
                traceback.print_exc()
            os._exit(70)
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"status": status}) + "\n")


def _isolated_child(libc, resource, job, out_dir):
    """In a fork of the server: new namespaces, fresh writable folders, then the job as pid 1."""
    uid, gid = os.getuid(), os.getgid()
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # the server stays undumpable; its child may write its own maps
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC) != 0:
        raise OSError(ctypes_errno(libc), "unshare")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE, None)
    for folder, size in (("/tmp", job["tmp_mb"]), (job["home"], job["tmp_mb"]), ("/dev/shm", 16)):
        _mount(libc, "tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size}m,mode=1777")
    pid = os.fork()
    if pid:
        _, status = os.waitpid(pid, 0)
        os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
    # pid 1 of the new pid namespace: when it ends, every process the job started ends with it
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _drop_capabilities(libc)
    cpu = job["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    output = os.open(Path(out_dir) / "output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the file size limit, writes fail instead
    os.chdir(job["home"])
    run_job(job, out_dir)


def ctypes_errno(libc):
    import ctypes
    return ctypes.get_errno()


def _mount(libc, source, target, fstype, flags, data):
    def text(value):
        return value.encode() if value is not None else None
    if libc.mount(text(source), text(target), text(fstype), flags, text(data)) != 0:
        raise OSError(ctypes_errno(libc), f"mount {target}")


def _drop_capabilities(libc):
    """Empty effective, permitted and inheritable sets (capset, version 3)."""
    import ctypes

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes_errno(libc), "capset")


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        traceback.print_exc()
        os._exit(3)
