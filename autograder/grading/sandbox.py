"""Run one submission's job in a bubblewrap sandbox and bring back what it wrote, bounded.

The sandbox (Debian's `bwrap`, run as an unprivileged user id of its own, outside and inside):
- no network (its own empty network namespace), its own pid, IPC and UTS namespaces, no capabilities;
- sees read-only: /usr (system libraries), the Python installation and the virtual environment, a copy of
  the course packages (`runtime_dir`), its job file; nothing else of the host (no repository, no course
  directory, no gradebook, no other submission);
- writes only to a private /tmp and home (size-capped tmpfs, gone at the end) and to /out, a size-capped
  tmpfs the grader reads back as plain files;
- limits: memory and process count (cgroup v1, else rlimits), open files, file size, CPU time, output;
  a wall-clock limit for the whole submission;
- ends with every process of the submission: the sandbox's pid namespace dies with its first process, so
  double-forked daemons die too; the cgroup is emptied as a second guard.

The Python installation and the virtual environment may live where the sandbox user cannot read (under
/root): a private mount namespace (`unshare -m`, as root) binds them to a world-readable place first, so
the host's mount table never changes for them.
"""
import atexit
import glob
import itertools
import json
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

WORK_ROOT = Path("/run/rnn-grader")
CGROUP_ROOT = Path("/sys/fs/cgroup")
SANDBOX_HOME = "/home/student"
RUNNER = "import sys; sys.path.insert(0, '/opt/course'); from autograder.grading.runner import main; main()"
SERVER = "import sys; sys.path.insert(0, '/opt/course'); from autograder.grading.runner import serve; serve()"
_uids = itertools.count()


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 2048
    processes: int = 256
    open_files: int = 256
    file_size_mb: int = 64
    tmp_mb: int = 256          # each of /tmp and home
    out_mb: int = 64           # everything the sandbox hands back
    output_kb: int = 64        # what the submission prints, kept for the log
    cell_seconds: int = 60
    check_seconds: int = 60
    submission_seconds: int = 300

    @classmethod
    def from_json(cls, data):
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown sandbox limits: {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass
class SandboxRun:
    exit_code: int | None
    seconds: float
    timed_out: bool = False
    out_of_memory: bool = False
    output: str = ""                       # first output_kb of what the sandbox printed
    output_truncated: bool = False
    files: dict = field(default_factory=dict)   # name -> bytes, regular files of /out only
    problems: list = field(default_factory=list)  # files refused (too big, not regular, too many)


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or cannot start here."""


def check_sandbox():
    """Raise SandboxUnavailable with the reason when no sandbox can start on this machine."""
    missing = [tool for tool in ("bwrap", "unshare", "setpriv", "prlimit") if shutil.which(tool) is None]
    if missing:
        raise SandboxUnavailable(f"missing {', '.join(missing)} (Debian: apt-get install bubblewrap util-linux)")
    if os.geteuid() != 0:
        raise SandboxUnavailable("the grader must run as root to give each sandbox its own user id")
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "setpriv",
                            "--reuid=65534", "--regid=65534", "--clear-groups", "bwrap", "--unshare-all",
                            "--ro-bind", "/usr", "/usr", *_system_links(), "/usr/bin/true"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        raise SandboxUnavailable(f"bwrap cannot start: {probe.stderr.strip()[:300]}")


_staging = threading.Lock()


def ensure_runtime(destination):
    """The course packages of this process staged at `destination` (once; a Dask worker on another
    machine stages its own the first time a job names the folder)."""
    import autograder
    import rnn_demos
    destination = Path(destination)
    with _staging:
        if not (destination / "autograder").is_dir():
            staging = destination.with_name(destination.name + f".{os.getpid()}.tmp")
            stage_runtime(staging, [Path(autograder.__file__).parent, Path(rnn_demos.__file__).parent])
            try:
                staging.rename(destination)
                _staged.append(destination)
            except OSError:  # another process staged it first
                shutil.rmtree(staging, ignore_errors=True)
    return destination


def stage_runtime(destination, packages):
    """Copy the course packages the runner imports (their .py files only) to a world-readable folder."""
    destination = Path(destination)
    for package in packages:
        package = Path(package)
        for source in package.rglob("*.py"):
            target = destination / package.name / source.relative_to(package)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    for path in [destination, *destination.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return destination


class _Enclosure:
    """What one sandbox needs on the host: a work folder, a user id, a size-capped /out, cgroups."""

    def __init__(self, limits, unsafe=False):
        self.limits, self.unsafe = limits, unsafe
        self.work = WORK_ROOT / uuid.uuid4().hex
        self.uid = 100_000 + (os.getpid() % 1000) * 1000 + next(_uids) % 1000
        self.out = self.work / "out"
        self.cgroups, self.mounted = [], False
        (self.work / "job").mkdir(parents=True)
        self.work.chmod(0o711)
        (self.work / "job").chmod(0o755)
        self.out.mkdir()
        if not unsafe:
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={limits.out_mb}m,nr_inodes=1000,mode=0700,"
                            f"uid={self.uid},gid={self.uid},nosuid,nodev", "rnn-grader-out", str(self.out)],
                           check=True)
            self.mounted = True
            self.cgroups = _make_cgroups(self.work.name, limits)

    def clear_out(self):
        for entry in os.scandir(self.out):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)

    def close(self):
        _kill_cgroup(self.cgroups)
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.out)], check=False)
        for cgroup in self.cgroups:
            _remove_cgroup(cgroup)
        shutil.rmtree(self.work, ignore_errors=True)


def run_job(job, runtime_dir, limits=Limits(), unsafe=False):
    """Run the runner on `job` (a JSON-able dict) in a fresh sandbox; returns a SandboxRun."""
    enclosure = _Enclosure(limits, unsafe)
    try:
        job_file = enclosure.work / "job" / "job.json"
        job_file.write_text(json.dumps(job))
        job_file.chmod(0o644)
        if unsafe:
            command = [sys.executable, "-I", "-c", RUNNER.replace("/opt/course", str(runtime_dir)),
                       str(job_file), str(enclosure.out)]
        else:
            command = _sandbox_command(enclosure.work, enclosure.uid, runtime_dir, limits, RUNNER,
                                       ["/job/job.json", "/out"], gpu=job.get("device") == "cuda")
        return _run(command, enclosure.cgroups, enclosure.out, limits)
    finally:
        enclosure.close()


_servers = threading.local()


def run_in_server(job, runtime_dir, limits=Limits()):
    """Run `job` in this thread's fork server for (runtime_dir, limits, GPU), started on first use."""
    gpu = job.get("device") == "cuda"
    key = (str(runtime_dir), limits, gpu)
    server = getattr(_servers, "by_key", {}).get(key)
    if server is None:
        server = ForkServer(runtime_dir, limits, gpu)
        _servers.by_key = {**getattr(_servers, "by_key", {}), key: server}
        _all_servers.append(server)
    return server.run(job)


def close_servers():
    """End every fork server this process started (each kills what it runs); remove staged runtimes."""
    while _all_servers:
        _all_servers.pop().close()
    _servers.by_key = {}
    while _staged:
        shutil.rmtree(_staged.pop(), ignore_errors=True)


_all_servers, _staged = [], []
atexit.register(close_servers)


class ForkServer:
    """A sandbox that imported torch and the course once and forks an isolated child per job.

    Each job still starts clean: the child gets new user, mount, pid and IPC namespaces, fresh /tmp,
    home and /dev/shm, and /out is emptied before each job. A job that runs past its time, goes over
    the memory limit or breaks the server ends the server; the next job starts a new one.
    """

    def __init__(self, runtime_dir, limits=Limits(), gpu=False):
        self.runtime_dir, self.limits, self.gpu = runtime_dir, limits, gpu
        self.enclosure = self.process = self.replies = None

    def run(self, job):
        if self.process is None or self.process.poll() is not None:
            self._start()
        self.enclosure.clear_out()
        oom_before = _oom_kills(self.enclosure.cgroups)
        start = time.perf_counter()
        job = {**job, "tmp_mb": self.limits.tmp_mb, "home": SANDBOX_HOME,
               "cpu_seconds": self.limits.submission_seconds + 30}
        reply = None
        try:
            self.process.stdin.write((json.dumps(job) + "\n").encode())
            self.process.stdin.flush()
            reply = self._reply(self.limits.submission_seconds)
        except (BrokenPipeError, OSError):
            pass
        seconds = time.perf_counter() - start
        out_of_memory = _oom_kills(self.enclosure.cgroups) > oom_before
        run = SandboxRun(exit_code=None, seconds=seconds, timed_out=reply is None and not out_of_memory
                         and self.process.poll() is None, out_of_memory=out_of_memory)
        status = _wait_status(reply)
        if status is not None:
            run.exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
        else:
            self.close()  # timed out or broken: everything it ran dies with it
        run.files, run.problems = read_out_files(self.enclosure.out if self.enclosure else None,
                                                 self.limits.out_mb << 20) if self.enclosure else ({}, [])
        output = run.files.pop("output.txt", b"")
        run.output = output[:self.limits.output_kb << 10].decode("utf-8", "replace")
        run.output_truncated = len(output) > self.limits.output_kb << 10
        return run

    def _start(self):
        self.close()
        self.enclosure = _Enclosure(self.limits)
        read_end, write_end = os.pipe()
        command = _sandbox_command(self.enclosure.work, self.enclosure.uid, self.runtime_dir, self.limits,
                                   SERVER, ["/out", str(write_end)], read_only_root=True, gpu=self.gpu)
        self.log = open(self.enclosure.work / "server.log", "wb")
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True, pass_fds=(write_end,),
                                        preexec_fn=_join_cgroups(self.enclosure.cgroups))
        os.close(write_end)
        self.replies = os.fdopen(read_end, "rb")
        if self._reply(120) != "ready":
            self.close()
            raise SandboxUnavailable("the fork server did not start")

    def _reply(self, seconds):
        ready, _, _ = select.select([self.replies], [], [], seconds)
        if not ready:
            return None
        line = self.replies.readline()
        return line.decode().strip() if line else None

    def close(self):
        if self.process is not None:
            _kill_group(self.process)
            self.process.wait()
            self.process.stdin.close()
            self.process = None
        if self.replies is not None:
            self.replies.close()
            self.replies = None
        if self.enclosure is not None:
            self.enclosure.close()
            self.enclosure = None


def _wait_status(reply):
    """The child's wait status from a server reply line, or None for anything else."""
    try:
        status = json.loads(reply)["status"]
    except (TypeError, ValueError, KeyError):
        return None
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def _system_links():
    """/lib, /lib64, /bin and /sbin as the host has them: symlinks into /usr (Debian) or read-only binds."""
    args = []
    for name in ("lib", "lib64", "bin", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _sandbox_command(work, uid, runtime_dir, limits, entry, args, read_only_root=False, gpu=False):
    python_home, venv = Path(sys.base_prefix), Path(sys.prefix)
    binds = work / "binds"
    (binds).mkdir()
    # What the sandbox user could not reach (e.g. under /root) is bound to binds/ first, in a private
    # mount namespace (as root), then bound read-only into the sandbox at its own path.
    reachable = {"python": python_home, "runtime": Path(runtime_dir)}
    if venv != python_home:
        reachable["venv"] = venv
    inside = {"python": str(python_home), "venv": str(venv), "runtime": "/opt/course"}
    bwrap = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
             "--hostname", "sandbox", "--ro-bind", "/usr", "/usr", *_system_links()]
    for name in reachable:
        bwrap += ["--ro-bind", f"{binds}/{name}", inside[name]]
    bwrap += ["--ro-bind", str(work / "job"), "/job", "--bind", str(work / "out"), "/out",
              "--proc", "/proc", "--dev", "/dev",
              "--size", str(limits.tmp_mb << 20), "--tmpfs", "/tmp",
              "--size", str(limits.tmp_mb << 20), "--tmpfs", SANDBOX_HOME,
              "--clearenv", "--setenv", "HOME", SANDBOX_HOME, "--setenv", "PATH", "/usr/bin:/bin",
              "--setenv", "MPLCONFIGDIR", "/tmp/matplotlib", "--setenv", "OMP_NUM_THREADS", "1",
              "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--chdir", SANDBOX_HOME]
    if gpu:  # the NVIDIA device nodes; the driver's libraries are under /usr already
        for device in sorted(glob.glob("/dev/nvidia*")):
            bwrap += ["--dev-bind", device, device]
    if read_only_root:  # last: every mount point above is made by now; children get fresh writable ones
        bwrap += ["--remount-ro", "/dev", "--remount-ro", "/"]
    limit = ["prlimit", f"--nofile={limits.open_files}", f"--fsize={limits.file_size_mb << 20}",
             f"--cpu={limits.submission_seconds + 30}", "--core=0"]
    if not (CGROUP_ROOT / "pids").is_dir():
        limit.append(f"--nproc={limits.processes}")
    drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all"]
    inner = [*limit, "--", *drop, *bwrap, str(venv / "bin" / "python"), "-I", "-c", entry, *args]
    script = [f"mount -t tmpfs -o size=1m,mode=0755 rnn-grader-binds {binds}"]
    for name, source in reachable.items():
        script += [f"mkdir {binds}/{name}", f"mount --bind -o ro {shlex.quote(str(source))} {binds}/{name}"]
    script.append("exec " + " ".join(shlex.quote(part) for part in inner))
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", " && ".join(script)]


def _make_cgroups(name, limits):
    """Per-job memory and pids cgroups (v1), or [] when the controllers cannot be written here."""
    made = []
    settings = {"memory": {"memory.limit_in_bytes": limits.memory_mb << 20, "memory.swappiness": 0},
                "pids": {"pids.max": limits.processes}}
    for controller, values in settings.items():
        folder = CGROUP_ROOT / controller / "rnn-grader" / name
        try:
            folder.mkdir(parents=True)
            for key, value in values.items():
                (folder / key).write_text(str(value))
            memsw = folder / "memory.memsw.limit_in_bytes"
            if memsw.exists():
                memsw.write_text(str(limits.memory_mb << 20))
            made.append(folder)
        except OSError:
            _remove_cgroup(folder)
    return made


def _join_cgroups(cgroups):
    def join():
        for folder in cgroups:
            (folder / "cgroup.procs").write_text(str(os.getpid()))
    return join


def _run(command, cgroups, out, limits):
    start = time.perf_counter()
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True,
                               preexec_fn=_join_cgroups(cgroups) if cgroups else None)
    captured = _OutputCap(process.stdout, limits.output_kb << 10)
    timed_out = False
    try:
        process.wait(timeout=limits.submission_seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(process)
        process.wait()
    _kill_group(process)
    _kill_cgroup(cgroups)
    captured.join()
    run = SandboxRun(exit_code=process.returncode, seconds=time.perf_counter() - start, timed_out=timed_out,
                     out_of_memory=_oom_kills(cgroups) > 0, output=captured.text(),
                     output_truncated=captured.dropped > 0)
    run.files, run.problems = read_out_files(out, limits.out_mb << 20)
    return run


def _kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _kill_cgroup(cgroups):
    """SIGKILL every process left in the job's cgroups until none is left."""
    for folder in cgroups:
        procs = folder / "cgroup.procs"
        for _ in range(100):
            try:
                pids = [int(p) for p in procs.read_text().split()]
            except OSError:
                break
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)


def _remove_cgroup(folder):
    for _ in range(50):
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def _oom_kills(cgroups):
    """How many processes the memory cgroup has killed so far."""
    kills = 0
    for folder in cgroups:
        control = folder / "memory.oom_control"
        if control.exists():
            fields = dict(line.split() for line in control.read_text().splitlines() if len(line.split()) == 2)
            kills += int(fields.get("oom_kill", 0))
    return kills


def read_out_files(out, max_total):
    """{name: bytes} of the regular files directly in `out`, never following a link; refuse the rest."""
    files, problems, total = {}, [], 0
    try:
        entries = sorted(os.scandir(out), key=lambda e: e.name)
    except OSError as error:
        return {}, [f"cannot read the sandbox's output: {error}"]
    for entry in entries[:200]:
        if not entry.is_file(follow_symlinks=False):
            problems.append(f"{entry.name}: not a regular file")
            continue
        size = entry.stat(follow_symlinks=False).st_size
        if total + size > max_total:
            problems.append(f"{entry.name}: over the output limit")
            continue
        fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            files[entry.name] = handle.read(max_total - total + 1)
        total += len(files[entry.name])
    if len(entries) > 200:
        problems.append(f"{len(entries) - 200} more files ignored")
    return files, problems


class _OutputCap:
    """Read a pipe to its end on a thread, keeping the first `limit` bytes."""

    def __init__(self, pipe, limit):
        self.pipe, self.limit = pipe, limit
        self.kept, self.dropped = bytearray(), 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while chunk := self.pipe.read1(65536):
            room = self.limit - len(self.kept)
            self.kept += chunk[:max(room, 0)]
            self.dropped += max(len(chunk) - max(room, 0), 0)

    def join(self):
        self.thread.join(timeout=5)

    def text(self):
        return self.kept.decode("utf-8", "replace")
