"""The fork server: a warm sandbox process that imported torch, IPython and the sandbox package once, and
forks an isolated child per job.

    python -I -c "...; from autograder.sandbox.forkserver import serve; serve()" OUT_DIR REPLY_FD

For each job read from stdin (one JSON line) it forks a child that isolates itself (new user, mount, pid
and IPC namespaces; fresh /tmp, home and /dev/shm; no capabilities; no new privileges; CPU limit) and
runs the job as `autograder.sandbox.runner.run_job`; it answers each job with the child's wait status
on the file descriptor it is given. The server never runs student code and cannot be traced by its
children (not dumpable; they live in a nested user namespace).
"""
import json
import os
import sys
import traceback
from pathlib import Path

from autograder.sandbox.runner import run_job

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWIPC = 0x00020000, 0x10000000, 0x20000000, 0x08000000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x4000, 0x40000
PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 4, 38


def serve(argv=None):
    out_dir, reply_fd = (argv or sys.argv[1:])[:2]
    import ctypes
    import resource

    import torch
    from IPython.core.interactiveshell import InteractiveShell  # noqa: F401 (imported once, for every child)
    import autograder.sandbox.wire  # noqa: F401 (imported once, for every child)
    from autograder.sandbox.observe import warm_meta_device

    torch.set_num_threads(1)
    warm_meta_device()
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
    import signal
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


