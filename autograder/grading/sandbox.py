"""Run one submission's job in a bubblewrap sandbox and bring back what it wrote, bounded.

The sandbox (Debian's `bwrap`, run as an unprivileged user id of its own, outside and inside):
- no network (its own empty network namespace), its own pid, IPC and UTS namespaces, no capabilities;
- sees read-only: /usr (system libraries), the Python installation, the virtual environment's
  site-packages, the sandbox's own code (`runtime_dir`: autograder.sandbox, a do-nothing
  autograder.selfcheck, and rnn_demos.data), and its job folder (the job and the inputs of its checks);
  nothing else of the host: no repository, no course directory, no gradebook, no other submission, no
  reference, no expected value and no term seed;
- mounts them at fixed paths of its own (/opt/rnn-grader/python, /opt/rnn-grader/site-N, /opt/course), so
  a checkout, a venv or a Python under /tmp, a home folder or a path with spaces works the same;
- writes only to a private /tmp and home (size-capped tmpfs, gone at the end) and to /out, a size-capped
  tmpfs the grader reads back as plain files;
- limits: memory and process count (cgroup v2, v1, or rlimits: autograder.grading.limits), open files,
  file size, CPU time per cell and per check (in the runner), a wall-clock backstop per submission;
- ends with every process of the submission: the sandbox's pid namespace dies with its first process, so
  double-forked daemons die too; the cgroup is emptied as a second guard.

The Python installation and the virtual environment may live where the sandbox user cannot read (under
/root): a private mount namespace (`unshare -m`, as root) binds them to a world-readable place first, so
the host's mount table never changes for them.
"""
import atexit
import glob
import io
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
from dataclasses import dataclass, field, replace
from pathlib import Path

from .limits import limit_backend

WORK_ROOT = Path("/run/rnn-grader")
SANDBOX_HOME = "/home/student"
INSIDE_PYTHON, INSIDE_RUNTIME = "/opt/rnn-grader/python", "/opt/course"
RUNNER = "from autograder.sandbox.runner import main; main()"
SERVER = "from autograder.sandbox.forkserver import serve; serve()"
# What the sandbox imports of the course: the sandbox package, a do-nothing visible-check module (the
# notebooks' own check cells call it) and the data generators the notebooks' locked cells read.
RUNTIME_PACKAGES = ("autograder/sandbox",)
RUNTIME_MODULES = ("rnn_demos/data.py", "rnn_demos/text_data.py")
SELFCHECK_STAND_IN = "autograder/sandbox/selfcheck_stand_in.py"
CUDA_CONTEXT_MB = 1024  # host memory a CUDA context maps, beyond the memory limit the job itself gets
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
    cell_seconds: int = 60     # CPU seconds per cell (a cell that waits: ten times that, wall clock)
    check_seconds: int = 60    # CPU seconds per check, unless its spec asks for more
    submission_seconds: int = 1200  # wall-clock backstop for the whole submission

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


def check_sandbox(runtime_dir=None, limits=None):
    """Raise SandboxUnavailable naming what is wrong when no sandbox can grade here.

    Starts a real fork server with this interpreter and the staged course code, and runs a tiny job in
    it (a cell and a check), so a Python, a venv or a runtime the sandbox cannot reach fails here, once,
    with the reason, instead of on every submission. Given the runtime and the limits of a batch, the
    server that passed is kept for the first thread of this process that grades with them (its start
    is then paid once, not twice); every job still runs in its own isolated child of it."""
    return SandboxCheck(runtime_dir, limits).result()


class SandboxCheck:
    """check_sandbox in two steps, so that the caller's own imports overlap the server's start:
    constructing it checks the tools and bwrap and starts the fork server's process (which imports
    torch on its own); result() then waits for it, runs the probe job and returns what check_sandbox
    returns, or raises SandboxUnavailable. Nothing here imports torch before result(). Construct it on
    the thread that lives longest (the main one): the server dies with the thread that started it."""

    def __init__(self, runtime_dir=None, limits=None):
        missing = [tool for tool in ("bwrap", "unshare", "setpriv", "prlimit") if shutil.which(tool) is None]
        if missing:
            raise SandboxUnavailable(f"missing {', '.join(missing)} (Debian: apt-get install bubblewrap util-linux)")
        if os.geteuid() != 0:
            raise SandboxUnavailable("the grader must run as root to give each sandbox its own user id "
                                     "(and to bind the Python installation read-only)")
        probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "setpriv",
                                "--reuid=65534", "--regid=65534", "--clear-groups", "bwrap", "--unshare-all",
                                "--ro-bind", "/usr", "/usr", *_system_links(), "/usr/bin/true"],
                               capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            raise SandboxUnavailable(f"bwrap cannot start: {probe.stderr.strip()[:300]}")
        self.staged = runtime_dir is None
        self.keep = not self.staged and limits is not None
        self.runtime = ensure_runtime(runtime_dir or WORK_ROOT / f"runtime-check-{uuid.uuid4().hex}")
        self.server = ForkServer(self.runtime, limits if self.keep else Limits(submission_seconds=180))
        self.finished = False
        try:
            self.server._start()
        except BaseException:
            self.close()
            raise

    def close(self):
        """End the check without its result (the caller failed before asking for it)."""
        if not self.finished:
            self.finished = True
            self.server.close()
            if self.staged:
                shutil.rmtree(self.runtime, ignore_errors=True)

    def result(self):
        kept, self.finished = False, True
        try:
            job = {"cells": [{"grade_id": "probe", "kind": "locked",
                              "source": "import torch\nfrom autograder.selfcheck import check\nanswer = lambda: 42"}],
                   "checks": [{"grade_id": "probe", "check_id": "probe.answer", "function": "answer",
                               "refusals": [], "cpu_seconds": 30}],
                   "device": "cpu", "cell_seconds": 30}
            from autograder.sandbox.observe import Call
            from autograder.sandbox.wire import load_records, write_inputs
            buffer = io.BytesIO()
            write_inputs(buffer, {"probe": [(Call({}, no_arguments=True), False)]})
            run = self.server.run(job, buffer.getvalue())
            report = json.loads(run.files.get("report.json", b"null") or b"null")
            failed = report and (report.get("cells") or [None])[0]
            if failed:
                raise SandboxUnavailable(f"the sandbox's Python cannot run the course: {failed['error']}")
            if "probe.npz" not in run.files:
                raise SandboxUnavailable("the sandbox ran but wrote no result "
                                         f"(exit {run.exit_code}; {run.output.strip()[-300:]})")
            _, records = load_records(run.files["probe.npz"])
            if records[0][0].result != 42:
                raise SandboxUnavailable("the sandbox's probe returned a wrong record")
            if self.keep:
                with _idle_lock:
                    _idle_servers.setdefault((str(self.runtime), self.server.limits, False), []).append(self.server)
                    _all_servers.append(self.server)
                kept = True
        except SandboxUnavailable as error:
            raise SandboxUnavailable(f"{error} [Python {sys.executable}, site-packages {', '.join(_site_dirs())}]") \
                from None
        finally:
            if not kept:                  # kept only once its probe passed
                self.server.close()
            if self.staged:
                shutil.rmtree(self.runtime, ignore_errors=True)
        return limit_backend().describe()


def batch_runtime():
    """Where this process stages the sandbox's code for its batches (check_sandbox may start the first
    fork server on it)."""
    WORK_ROOT.mkdir(parents=True, exist_ok=True)
    return WORK_ROOT / f"runtime-{os.getpid()}"


_staging = threading.Lock()


def ensure_runtime(destination):
    """The sandbox's code staged at `destination` (once; a Dask worker on another machine stages its own
    the first time a job names the folder)."""
    destination = Path(destination)
    with _staging:
        if not (destination / "autograder").is_dir():
            staging = destination.with_name(destination.name + f".{os.getpid()}.tmp")
            stage_runtime(staging)
            try:
                staging.rename(destination)
                _staged.append(destination)
            except OSError:  # another process staged it first
                shutil.rmtree(staging, ignore_errors=True)
    return destination


def stage_runtime(destination):
    """Copy the code the sandbox imports (and nothing that knows an answer) to a world-readable folder."""
    import autograder
    repository = Path(autograder.__file__).resolve().parent.parent
    destination = Path(destination)
    files = {"autograder/__init__.py": None, "rnn_demos/__init__.py": None,
             "autograder/selfcheck.py": repository / SELFCHECK_STAND_IN}
    for package in RUNTIME_PACKAGES:
        for source in sorted((repository / package).glob("*.py")):
            files[str(source.relative_to(repository))] = source
    for module in RUNTIME_MODULES:
        if (repository / module).is_file():
            files[module] = repository / module
    for name, source in files.items():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source is None:
            target.write_text("")
        else:
            shutil.copyfile(source, target)
    for path in [destination, *destination.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return destination


class _Enclosure:
    """What one sandbox needs on the host: a work folder, a user id, a size-capped /out, a limit group."""

    def __init__(self, limits, unsafe=False):
        self.limits, self.unsafe = limits, unsafe
        self.work = WORK_ROOT / uuid.uuid4().hex
        self.uid = 100_000 + (os.getpid() % 1000) * 1000 + next(_uids) % 1000
        self.out = self.work / "out"
        self.group, self.mounted = None, False
        (self.work / "job").mkdir(parents=True)
        self.work.chmod(0o711)
        (self.work / "job").chmod(0o755)
        self.out.mkdir()
        if not unsafe:
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={limits.out_mb}m,nr_inodes=1000,mode=0700,"
                            f"uid={self.uid},gid={self.uid},nosuid,nodev", "rnn-grader-out", str(self.out)],
                           check=True)
            self.mounted = True
            self.group = limit_backend().create(self.work.name, limits)

    def put_inputs(self, job, inputs):
        """Write the inputs of the job's checks where the sandbox reads them; the job names the file."""
        name = f"inputs-{uuid.uuid4().hex}.npz"
        path = self.work / "job" / name
        path.write_bytes(inputs)
        path.chmod(0o644)
        return {**job, "inputs": str(path) if self.unsafe else f"/job/{name}"}, path

    def clear_out(self):
        for entry in os.scandir(self.out):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)

    def oom_kills(self):
        return self.group.oom_kills() if self.group else 0

    def join(self):
        return self.group.join if self.group and self.group.folders else None

    def close(self):
        if self.group:
            self.group.kill_all()
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.out)], check=False)
        if self.group:
            self.group.remove()
        shutil.rmtree(self.work, ignore_errors=True)


def run_job(job, inputs, runtime_dir, limits=Limits(), unsafe=False):
    """Run the runner on `job` (a JSON-able dict) and `inputs` (npz bytes of autograder.sandbox.wire) in a
    fresh sandbox; returns a SandboxRun."""
    gpu = _gpus_for(job)
    limits = _with_gpu_room(limits, gpu)
    enclosure = _Enclosure(limits, unsafe)
    try:
        job, _ = enclosure.put_inputs(job, inputs)
        job_file = enclosure.work / "job" / "job.json"
        job_file.write_text(json.dumps(job))
        job_file.chmod(0o644)
        if unsafe:
            entry = f"import sys; sys.path.insert(0, {str(runtime_dir)!r}); {RUNNER}"
            command = [sys.executable, "-I", "-c", entry, str(job_file), str(enclosure.out)]
        else:
            command = _sandbox_command(enclosure.work, enclosure.uid, runtime_dir, limits, RUNNER,
                                       ["/job/job.json", "/out"], gpu=gpu)
        return _run(command, enclosure, limits)
    finally:
        enclosure.close()


_servers = threading.local()
_gpu_slot = threading.local()


def use_gpu(slot):
    """Pin the sandboxes this thread starts to one GPU: the slot-th of those this process may use."""
    _gpu_slot.index = slot


def gpu_count():
    """How many GPUs this process may use (CUDA_VISIBLE_DEVICES applied)."""
    import torch
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def visible_gpus(slot, visible):
    """CUDA_VISIBLE_DEVICES for a sandbox: the slot-th entry of the host's list (`visible`, None when unset:
    every GPU, numbered from 0), or the host's value as it is when the thread is not pinned (slot None)."""
    if slot is None:
        return visible
    devices = [device.strip() for device in visible.split(",") if device.strip()] if visible is not None else None
    if devices is None:
        return str(slot)
    if slot >= len(devices):
        raise ValueError(f"GPU slot {slot}, but CUDA_VISIBLE_DEVICES={visible!r} names {len(devices)}")
    return devices[slot]


def _with_gpu_room(limits, gpu):
    """The limits of a sandbox, with room for the CUDA context (host memory the driver maps) when it has GPUs."""
    return limits if gpu is False else replace(limits, memory_mb=limits.memory_mb + CUDA_CONTEXT_MB)


def _gpus_for(job):
    """False for a CPU job; else the CUDA_VISIBLE_DEVICES value its sandbox gets (None: every GPU)."""
    if job.get("device") != "cuda":
        return False
    return visible_gpus(getattr(_gpu_slot, "index", None), os.environ.get("CUDA_VISIBLE_DEVICES")) or None


def run_in_server(job, inputs, runtime_dir, limits=Limits()):
    """Run `job` in this thread's fork server for (runtime_dir, limits, GPUs), started on first use."""
    gpu = _gpus_for(job)
    key = (str(runtime_dir), limits, gpu)
    server = getattr(_servers, "by_key", {}).get(key)
    if server is None:
        with _idle_lock:
            idle = _idle_servers.get((str(runtime_dir), _with_gpu_room(limits, gpu), gpu))
            server = idle.pop() if idle else None
    if server is None:
        server = ForkServer(runtime_dir, limits, gpu)
        _all_servers.append(server)
    _servers.by_key = {**getattr(_servers, "by_key", {}), key: server}
    return server.run(job, inputs)


def close_servers():
    """End every fork server this process started (each kills what it runs); remove staged runtimes."""
    while _all_servers:
        _all_servers.pop().close()
    _servers.by_key = {}
    with _idle_lock:
        _idle_servers.clear()
    while _staged:
        shutil.rmtree(_staged.pop(), ignore_errors=True)


_all_servers, _staged = [], []
_idle_servers, _idle_lock = {}, threading.Lock()   # (runtime, limits, gpu) -> started servers no thread holds
atexit.register(close_servers)


class ForkServer:
    """A sandbox that imported torch and the sandbox package once and forks an isolated child per job.

    Each job still starts clean: the child gets new user, mount, pid and IPC namespaces, fresh /tmp,
    home and /dev/shm, and /out is emptied before each job. A job that runs past its time, goes over
    the memory limit or breaks the server ends the server; the next job starts a new one.
    """

    def __init__(self, runtime_dir, limits=Limits(), gpu=False):
        self.runtime_dir, self.limits, self.gpu = runtime_dir, _with_gpu_room(limits, gpu), gpu
        self.enclosure = self.process = self.replies = None
        self.ready = False

    def run(self, job, inputs):
        if self.process is None or (self.ready and self.process.poll() is not None):
            self._start()
        self._await_ready()
        self.enclosure.clear_out()
        job, inputs_file = self.enclosure.put_inputs(job, inputs)
        oom_before = self.enclosure.oom_kills()
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
        out_of_memory = self.enclosure.oom_kills() > oom_before
        run = SandboxRun(exit_code=None, seconds=seconds, timed_out=reply is None and not out_of_memory
                         and self.process.poll() is None, out_of_memory=out_of_memory)
        status = _wait_status(reply)
        if status is not None:
            run.exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
        else:
            self.close()  # timed out or broken: everything it ran dies with it
        if self.enclosure:
            inputs_file.unlink(missing_ok=True)
            run.files, run.problems = read_out_files(self.enclosure.out, self.limits.out_mb << 20)
        output = run.files.pop("output.txt", b"")
        run.output = output[:self.limits.output_kb << 10].decode("utf-8", "replace")
        run.output_truncated = len(output) > self.limits.output_kb << 10
        return run

    def _start(self):
        """Start the server's process; it imports torch and the sandbox package on its own while this
        process goes on, and the first run() waits until it is ready."""
        self.close()
        self.enclosure = _Enclosure(self.limits)
        read_end, write_end = os.pipe()
        command = _sandbox_command(self.enclosure.work, self.enclosure.uid, self.runtime_dir, self.limits,
                                   SERVER, ["/out", str(write_end)], read_only_root=True, gpu=self.gpu)
        self.log = open(self.enclosure.work / "server.log", "wb")
        # bwrap --die-with-parent: the server lives as long as the thread that starts it (see SandboxCheck)
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True, pass_fds=(write_end,),
                                        preexec_fn=self.enclosure.join())
        os.close(write_end)
        self.replies = os.fdopen(read_end, "rb")
        self.ready = False

    def _await_ready(self):
        if self.ready:
            return
        if self._reply(180) != "ready":
            log = (self.enclosure.work / "server.log").read_bytes()[-600:].decode("utf-8", "replace").strip()
            self.close()
            raise SandboxUnavailable(f"the fork server did not start: {log or 'no output'}")
        self.ready = True

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


def _site_dirs():
    """The site-packages (or dist-packages) folders of this interpreter, the venv's first."""
    return [p for p in sys.path if p.rstrip("/").endswith(("site-packages", "dist-packages")) and Path(p).is_dir()]


def _interpreter():
    """(the real Python executable, its installation prefix)."""
    executable = Path(os.path.realpath(sys.executable))
    return executable, Path(sys.base_prefix).resolve()


def _layout():
    """{name: (host path, path inside)} of what the sandbox binds read-only, and the interpreter inside.

    Everything lands under fixed paths of its own, never under /tmp or the sandbox's home, so a host
    path under /tmp, a home folder or with spaces cannot be hidden by the sandbox's private /tmp."""
    executable, prefix = _interpreter()
    binds = {}
    if prefix.parts[:2] == ("/", "usr"):
        inside_python = prefix            # a system Python: /usr is bound as it is
    else:
        inside_python = Path(INSIDE_PYTHON)
        binds["python"] = (prefix, inside_python)
    try:
        inside_executable = inside_python / executable.relative_to(prefix)
    except ValueError:  # an executable outside its prefix: bind it beside
        binds["executable"] = (executable, Path("/opt/rnn-grader/bin") / executable.name)
        inside_executable = binds["executable"][1]
    sites = []
    for k, site in enumerate(_site_dirs()):
        site = Path(site).resolve()
        if site.parts[:2] == ("/", "usr"):
            sites.append(str(site))
        elif prefix in site.parents:
            sites.append(str(inside_python / site.relative_to(prefix)))
        else:
            binds[f"site-{k}"] = (site, Path(f"/opt/rnn-grader/site-{k}"))
            sites.append(binds[f"site-{k}"][1].as_posix())
    return binds, inside_executable, inside_python, sites


def _entry_code(entry, sites):
    """The -c code the sandbox's interpreter runs: the site folders (with their .pth files) and the
    runtime on the path, then `entry`."""
    return (f"import site, sys; [site.addsitedir(p) for p in {sites!r}]; sys.path.insert(0, {INSIDE_RUNTIME!r}); "
            + entry)


def _gpu_nodes():
    """The NVIDIA device nodes to bind (creating /dev/nvidia-uvm when the driver has it but udev did not)."""
    uvm = Path("/dev/nvidia-uvm")
    if not uvm.exists() and Path("/dev/nvidiactl").exists():
        majors = dict(reversed(line.split(None, 1)) for line in Path("/proc/devices").read_text().splitlines()
                      if line.strip() and line.split(None, 1)[0].isdigit())
        if "nvidia-uvm" in majors:
            for minor, name in ((0, "nvidia-uvm"), (1, "nvidia-uvm-tools")):
                subprocess.run(["mknod", "-m", "666", f"/dev/{name}", "c", majors["nvidia-uvm"], str(minor)],
                               check=False)
    return sorted(glob.glob("/dev/nvidia*"))


def _sandbox_command(work, uid, runtime_dir, limits, entry, args, read_only_root=False, gpu=False):
    binds_dir = work / "binds"
    binds_dir.mkdir()
    layout, inside_executable, inside_python, sites = _layout()
    layout = {**layout, "runtime": (Path(runtime_dir), Path(INSIDE_RUNTIME))}
    # What the sandbox user could not reach (e.g. under /root) is bound to binds/ first, in a private
    # mount namespace (as root), then bound read-only into the sandbox at its fixed path.
    bwrap = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
             "--hostname", "sandbox", "--ro-bind", "/usr", "/usr", *_system_links(),
             "--proc", "/proc", "--dev", "/dev",
             "--size", str(limits.tmp_mb << 20), "--tmpfs", "/tmp",
             "--size", str(limits.tmp_mb << 20), "--tmpfs", SANDBOX_HOME]
    for name, (_, inside) in layout.items():
        bwrap += ["--ro-bind", f"{binds_dir}/{name}", str(inside)]
    bwrap += ["--ro-bind", str(work / "job"), "/job", "--bind", str(work / "out"), "/out",
              "--clearenv", "--setenv", "HOME", SANDBOX_HOME, "--setenv", "PATH", "/usr/bin:/bin",
              "--setenv", "MPLCONFIGDIR", "/tmp/matplotlib", "--setenv", "OMP_NUM_THREADS", "1",
              "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--setenv", "LD_LIBRARY_PATH", f"{inside_python}/lib",
              "--chdir", SANDBOX_HOME]
    if gpu is not False:  # the NVIDIA device nodes (the driver's libraries are under /usr already), and which
        for device in _gpu_nodes():  # GPUs this sandbox may use (every one when gpu is None)
            bwrap += ["--dev-bind", device, device]
        if gpu is not None:
            bwrap += ["--setenv", "CUDA_VISIBLE_DEVICES", gpu]
    if read_only_root:  # last: every mount point above is made by now; children get fresh writable ones
        bwrap += ["--remount-ro", "/dev", "--remount-ro", "/"]
    backend = limit_backend()
    limit = ["prlimit", f"--nofile={limits.open_files}", f"--fsize={limits.file_size_mb << 20}",
             f"--cpu={limits.submission_seconds + 30}", "--core=0"]
    if backend.name == "rlimits":
        limit += [f"--nproc={limits.processes}", f"--data={limits.memory_mb << 20}"]
    drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all"]
    inner = [*limit, "--", *drop, *bwrap, str(inside_executable), "-I", "-S", "-c", _entry_code(entry, sites), *args]
    script = [f"mount -t tmpfs -o size=1m,mode=0755 rnn-grader-binds {binds_dir}"]
    for name, (source, _) in layout.items():
        kind = "touch" if source.is_file() else "mkdir"
        script += [f"{kind} {binds_dir}/{name}", f"mount --bind -o ro {shlex.quote(str(source))} {binds_dir}/{name}"]
    script.append("exec " + " ".join(shlex.quote(part) for part in inner))
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", " && ".join(script)]


def _run(command, enclosure, limits):
    start = time.perf_counter()
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=enclosure.join())
    captured = _OutputCap(process.stdout, limits.output_kb << 10)
    timed_out = False
    try:
        process.wait(timeout=limits.submission_seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(process)
        process.wait()
    _kill_group(process)
    if enclosure.group:
        enclosure.group.kill_all()
    captured.join()
    run = SandboxRun(exit_code=process.returncode, seconds=time.perf_counter() - start, timed_out=timed_out,
                     out_of_memory=enclosure.oom_kills() > 0, output=captured.text(),
                     output_truncated=captured.dropped > 0)
    run.files, run.problems = read_out_files(enclosure.out, limits.out_mb << 20)
    return run


def _kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


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
