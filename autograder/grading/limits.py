"""Memory and process limits for one sandbox: cgroup v2, cgroup v1, or rlimits when neither can be used.

    backend = limit_backend()          # the best this machine offers, found once
    group = backend.create(name, limits)
    preexec=group.join                  # the sandbox's first process joins it before it executes
    group.oom_kills(), group.kill_all(), group.remove()

- cgroup v2 (Debian 12's default): a delegated subtree `rnn-grader/` with `memory` and `pids` enabled;
  per sandbox `memory.max`, `memory.swap.max` = 0, `pids.max`; `memory.events` counts `oom_kill`.
- cgroup v1: `memory/rnn-grader/<name>` (`memory.limit_in_bytes`, `memory.memsw.limit_in_bytes` where
  swap accounting exists, `memory.oom_control`) and `pids/rnn-grader/<name>` (`pids.max`).
- neither: per-process rlimits only (RLIMIT_DATA for memory, RLIMIT_NPROC for processes, per sandbox uid);
  `describe()` says so, and the grader prints it as a warning row.
"""
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
SUBTREE = "rnn-grader"


@dataclass
class _Group:
    folders: list              # the cgroup folders the sandbox joins
    events: list               # (path, key) of the counters of OOM kills
    kill_file: Path | None = None

    def join(self):
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(os.getpid()))

    def oom_kills(self):
        kills = 0
        for path, key in self.events:
            try:
                fields = dict(line.split() for line in path.read_text().splitlines() if len(line.split()) == 2)
            except OSError:
                continue
            kills += int(fields.get(key, 0))
        return kills

    def kill_all(self):
        """SIGKILL every process left in the group until none is left."""
        if self.kill_file is not None:
            try:
                self.kill_file.write_text("1")
            except OSError:
                pass
        for folder in self.folders:
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

    def remove(self):
        for folder in self.folders:
            _remove(folder)


class _NoGroup(_Group):
    def __init__(self):
        super().__init__([], [])


def _remove(folder):
    for _ in range(50):
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


class CgroupV2:
    name = "cgroup v2"

    def __init__(self, root=CGROUP_ROOT):
        self.root = Path(root)
        self.parent = self.root / SUBTREE

    def usable(self):
        """None when a delegated subtree with memory and pids can be made here, else why not."""
        controllers_file = self.root / "cgroup.controllers"
        if not controllers_file.is_file():
            return "no cgroup v2 hierarchy at " + str(self.root)
        available = controllers_file.read_text().split()
        missing = [c for c in ("memory", "pids") if c not in available]
        if missing:
            return f"cgroup v2 at {self.root} lacks the {' and '.join(missing)} controller(s) (bound to cgroup v1?)"
        try:
            enabled = (self.root / "cgroup.subtree_control").read_text().split()
            if not {"memory", "pids"} <= set(enabled):
                (self.root / "cgroup.subtree_control").write_text("+memory +pids")
            self.parent.mkdir(exist_ok=True)
            (self.parent / "cgroup.subtree_control").write_text("+memory +pids")
        except OSError as error:
            return f"cannot delegate memory and pids under {self.parent}: {error.strerror}"
        return None

    def create(self, name, limits):
        folder = self.parent / name
        folder.mkdir()
        try:
            (folder / "memory.max").write_text(str(limits.memory_mb << 20))
            if (folder / "memory.swap.max").exists():
                (folder / "memory.swap.max").write_text("0")
            (folder / "pids.max").write_text(str(limits.processes))
        except OSError:
            _remove(folder)
            raise
        kill = folder / "cgroup.kill"
        return _Group([folder], [(folder / "memory.events", "oom_kill")], kill if kill.exists() else None)

    def describe(self):
        return f"memory and process limits: {self.name} ({self.parent})"


class CgroupV1:
    name = "cgroup v1"

    def __init__(self, root=CGROUP_ROOT):
        self.root = Path(root)

    def usable(self):
        for controller in ("memory", "pids"):
            folder = self.root / controller
            if not folder.is_dir():
                return f"no cgroup v1 {controller} controller at {folder}"
            try:
                (folder / SUBTREE).mkdir(exist_ok=True)
            except OSError as error:
                return f"cannot write the cgroup v1 {controller} controller: {error.strerror}"
        return None

    def create(self, name, limits):
        made = []
        try:
            memory = self.root / "memory" / SUBTREE / name
            memory.mkdir()
            made.append(memory)
            (memory / "memory.limit_in_bytes").write_text(str(limits.memory_mb << 20))
            (memory / "memory.swappiness").write_text("0")
            if (memory / "memory.memsw.limit_in_bytes").exists():
                (memory / "memory.memsw.limit_in_bytes").write_text(str(limits.memory_mb << 20))
            pids = self.root / "pids" / SUBTREE / name
            pids.mkdir()
            made.append(pids)
            (pids / "pids.max").write_text(str(limits.processes))
        except OSError:
            for folder in made:
                _remove(folder)
            raise
        return _Group(made, [(memory / "memory.oom_control", "oom_kill")])

    def describe(self):
        return f"memory and process limits: {self.name} ({self.root}/memory, {self.root}/pids)"


class RlimitsOnly:
    name = "rlimits"

    def __init__(self, why=""):
        self.why = why

    def usable(self):
        return None

    def create(self, name, limits):
        return _NoGroup()

    def describe(self):
        return ("WARNING: no cgroup can be used here" + (f" ({self.why})" if self.why else "")
                + "; memory is limited per process (RLIMIT_DATA) and processes per sandbox user "
                  "(RLIMIT_NPROC); an out-of-memory end shows as a MemoryError or a crash, not as `oom`")


_chosen = None
# RNN_GRADER_LIMITS=cgroup-v2 | cgroup-v1 | rlimits forces one (a host whose cgroups should not be used,
# and the tests of each backend); a forced cgroup backend that cannot be used here falls back to rlimits.
FORCE_VARIABLE = "RNN_GRADER_LIMITS"


def limit_backend(refresh=False):
    """The first usable of cgroup v2, cgroup v1, rlimits (found once per process)."""
    global _chosen
    if _chosen is None or refresh:
        forced = os.environ.get(FORCE_VARIABLE, "")
        candidates = {"cgroup-v2": (CgroupV2(),), "cgroup-v1": (CgroupV1(),), "rlimits": ()}.get(
            forced, (CgroupV2(), CgroupV1()))
        reasons = [f"{FORCE_VARIABLE}={forced}"] if forced == "rlimits" else []
        for backend in candidates:
            why = backend.usable()
            if why is None:
                _chosen = backend
                break
            reasons.append(why)
        else:
            _chosen = RlimitsOnly("; ".join(reasons))
    return _chosen
