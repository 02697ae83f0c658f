"""Rehearse attacks without a sandbox: check that each one runs and does what it intends.

    sudo .venv/bin/python tests/attacks/rehearse.py [NAME ...] [--timeout 40] [--keep]

Each attack runs as an unprivileged user of its own (uid REHEARSAL_UID, so `kill -9 -1` and the process
limit only reach its own processes) in a scratch course under /tmp/attack-rehearsal/: the attack's
submission, a classmate's solved submission, the instructor source with the solutions, a SECRET.txt
canary, grading.json, a gradebook.db, and copies of the course packages first on PYTHONPATH (so writes
into "the installed package" land in the copy). Limits: 8 GiB of address space, 300 processes (the fork bomb stops there), 4096
open files, 2 GiB per file, a wall-clock timeout.

The child runs the notebook's cells up to the self-check in one IPython shell, then the instructor's
test cells (hidden tests included, as the in-kernel grader of today does) and adds the points of those
that succeed: `in-kernel score` > 0 means the attack beats today's grader. Afterwards the parent waits
a few seconds (detached processes act), records which processes of that uid are left and kills them by
pid, lists the connections to 127.0.0.1:45678 and the files outside the submission folder holding the
marker, and removes what the uid left in /tmp, /var/tmp and /dev/shm.

Needs root (to switch users); runs nothing as root but this script.
"""
import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from attacks import corpus  # noqa: E402

REHEARSAL_UID = 64999
# The venv's interpreter may live where other users cannot reach it (pyenv under /root): the child runs
# the system Python of the same minor version with the venv's site-packages on its path instead.
INTERPRETER = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
SCRATCH = Path("/tmp/attack-rehearsal")
SHARED_PLACES = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))

CHILD = r'''
import json, os, sys
report = open(sys.argv[3], "w", buffering=1)
token = sys.argv[4]


def say(**fields):
    report.write(token + json.dumps(fields, default=repr) + "\n")


from IPython.core.interactiveshell import InteractiveShell
path, source_path = sys.argv[1], sys.argv[2]
try:
    nb = json.load(open(path))
except Exception as error:
    say(event="unreadable", error=repr(error))
    raise SystemExit(0)
cells = nb.get("cells") or [c for ws in nb.get("worksheets", []) for c in ws.get("cells", [])]
shell = InteractiveShell.instance()
for cell in cells:
    meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell.get("metadata"), dict) else {}
    meta = meta if isinstance(meta, dict) else {}
    if meta.get("grade_id") == "selfcheck":
        break
    if cell.get("cell_type") != "code" or meta.get("grade"):
        continue
    text = cell.get("source", cell.get("input", ""))
    result = shell.run_cell("".join(text) if isinstance(text, list) else text)
    say(event="cell", grade_id=meta.get("grade_id"), ok=result.success,
        error=repr(result.error_in_exec or result.error_before_exec)[:300])
source = json.load(open(source_path))
score = total = 0
for cell in source["cells"]:
    meta = cell["metadata"].get("nbgrader", {})
    if not meta.get("grade"):
        continue
    total += meta.get("points", 0)
    result = shell.run_cell("".join(cell["source"]))
    score += meta.get("points", 0) if result.success else 0
    say(event="test", grade_id=meta.get("grade_id"), ok=result.success,
        error=repr(result.error_in_exec or result.error_before_exec)[:300])
say(event="score", score=score, total=total)
'''


def make_course(attack, root):
    """A scratch course: the attack's submission, a classmate's, sources, canary, config, gradebook."""
    course = root / "course"
    source = Path(corpus.REPO_ROOT) / "solutions" / attack.assignment / f"{attack.assignment}.ipynb"
    (course / "source" / attack.assignment).mkdir(parents=True)
    shutil.copy(source, course / "source" / attack.assignment / source.name)
    token = secrets.token_hex(16)
    (course / "source" / corpus.SECRET_FILE).write_text(token)
    (course / "grading.json").write_text(json.dumps({"term_seed": 424242}))
    classmate = course / "submitted" / "classmate" / attack.assignment
    classmate.mkdir(parents=True)
    shutil.copy(source, classmate / source.name)
    con = sqlite3.connect(course / "gradebook.db")
    con.execute("create table grade (id text, manual_score real, extra_credit real)")
    con.execute("create table comment (id text, manual_comment text)")
    con.execute("insert into grade values ('classmate', 3, 0)")
    con.commit()
    con.close()
    notebook = corpus.write_submission(attack, course / "submitted" / attack.name / attack.assignment)
    packages = root / "packages"
    for package in ("autograder", "rnn_demos"):
        shutil.copytree(Path(corpus.REPO_ROOT) / package, packages / package,
                        ignore=shutil.ignore_patterns("__pycache__", "grading"))
    (root / "home").mkdir()
    subprocess.run(["chown", "-R", f"{REHEARSAL_UID}:{REHEARSAL_UID}", str(root)], check=True)
    return notebook, course / "source" / attack.assignment / source.name, token, packages


class Listener:
    """Records every connection (and what it sent) to 127.0.0.1:45678."""

    def __init__(self):
        self.received = []
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(corpus.LISTENER)
        self.server.listen(64)
        self.server.settimeout(0.2)
        self.running = True
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while self.running:
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            conn.settimeout(1)
            try:
                self.received.append(conn.recv(4096))
            except OSError:
                self.received.append(b"")
            conn.close()

    def close(self):
        self.running = False
        self.server.close()


def drain(stream, counts, key, keep, token):
    """Count the bytes of a stream, keep its head, and note whether `token` passes through it."""
    head, tail = b"", b""
    while chunk := stream.read(1 << 16):
        counts[key] += len(chunk)
        if len(head) < keep:
            head += chunk[:keep - len(head)]
        if token.encode() in tail + chunk:
            counts["token_seen"] = True
        tail = chunk[-len(token):]
    counts[key + "_head"] = head.decode("utf-8", "replace")


def uid_processes():
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == REHEARSAL_UID:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def kill_leftovers():
    """SIGKILL, by pid, every process of the rehearsal uid (only this script starts any); returns the count."""
    first = uid_processes()
    for _ in range(50):
        pids = uid_processes()
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)
    return len(first)


def marked_files(marker, roots, skip):
    found = []
    for root in roots:
        for folder, dirs, files in os.walk(root):
            if Path(folder) == skip or skip in Path(folder).parents:
                dirs[:] = []
                continue
            for base in files + dirs:
                path = Path(folder) / base
                if marker in base:
                    found.append(str(path))
                    continue
                try:
                    if path.is_file() and path.stat().st_size < 50_000_000 and marker.encode() in path.read_bytes():
                        found.append(str(path))
                except OSError:
                    pass
    return found


def remove_uid_files():
    """Remove what the rehearsal uid created in the shared temp folders (top level, whole trees)."""
    for place in SHARED_PLACES:
        for entry in place.iterdir():
            try:
                if entry.lstat().st_uid == REHEARSAL_UID:
                    shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
            except OSError:
                pass


def rehearse(attack, timeout, keep):
    SCRATCH.mkdir(exist_ok=True)
    root = SCRATCH / attack.name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    notebook, source, token, packages = make_course(attack, root)
    report_path = root / "home" / ".rehearsal-report"
    nonce = secrets.token_hex(8)
    listener = Listener()
    env = {"HOME": str(root / "home"), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
           "PYTHONPATH": os.pathsep.join([str(packages), sysconfig.get_paths()["purelib"]])}
    command = ["setpriv", f"--reuid={REHEARSAL_UID}", f"--regid={REHEARSAL_UID}", "--clear-groups", "--",
               "prlimit", "--as=8589934592", "--nproc=300", "--nofile=4096", "--fsize=2147483648", "--",
               INTERPRETER, "-c", CHILD, str(notebook), str(source), str(report_path), nonce]
    start = time.monotonic()
    child = subprocess.Popen(command, cwd=notebook.parent, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
    counts = {"stdout": 0, "stderr": 0, "token_seen": False}
    readers = [threading.Thread(target=drain, args=(child.stdout, counts, "stdout", 2000, token), daemon=True),
               threading.Thread(target=drain, args=(child.stderr, counts, "stderr", 2000, token), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        returncode = child.wait(timeout)
    except subprocess.TimeoutExpired:
        returncode = "timeout"
    seconds = time.monotonic() - start
    time.sleep(4)  # detached processes act after the "batch"
    leftover = kill_leftovers()
    if returncode == "timeout":
        returncode = child.wait()
    for reader in readers:
        reader.join(5)
    listener.close()
    events = []
    try:
        for line in report_path.read_text(errors="replace").splitlines():
            if line.startswith(nonce):
                events.append(json.loads(line[len(nonce):]))
    except OSError:
        pass
    marker = attack.marker
    places = marked_files(marker, [root / "course", root / "packages", root / "home", *SHARED_PLACES,
                                   Path(corpus.REPO_ROOT) / "autograder", Path(corpus.REPO_ROOT) / "rnn_demos"],
                          skip=notebook.parent)
    places = [p for p in places if not p.startswith(str(root / "home" / ".rehearsal-report"))]
    outside = [p for p in places if not p.startswith(str(SCRATCH))]
    with sqlite3.connect(root / "course" / "gradebook.db", timeout=5) as con:
        gradebook = con.execute("select * from grade").fetchall()
    result = {
        "name": attack.name, "kind": attack.kind, "returncode": returncode, "seconds": round(seconds, 1),
        "cells_failed": sum(1 for e in events if e["event"] == "cell" and not e["ok"]),
        "score": next((f"{e['score']}/{e['total']}" for e in events if e["event"] == "score"), "none"),
        "leftover_processes": leftover, "connections": len(listener.received),
        "marker_files": len(places), "outside_scratch": outside[:5],
        "gradebook_changed": gradebook != [("classmate", 3.0, 0.0)],
        "secret_leaked": counts["token_seen"] or any(
            token.encode() in data for data in listener.received) or bool(marked_files(
            token, [root / "home", root / "course", *SHARED_PLACES], skip=root / "course" / "source")),
        "stdout_bytes": counts["stdout"], "stderr_bytes": counts["stderr"],
        "first_error": next((f"{e['grade_id']}: {e['error']}" for e in events if e["event"] == "cell" and not e["ok"]), "")
        or ("" if events else counts["stderr_head"][-300:]),
    }
    remove_uid_files()
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="attack names, or blank_notebook (default: the blank notebook, "
                        "every attack and every honest submission)")
    parser.add_argument("--timeout", type=float, default=40)
    parser.add_argument("--keep", action="store_true", help="keep each scratch course")
    args = parser.parse_args(argv)
    if os.getuid() != 0:
        raise SystemExit("rehearse.py needs root to run each attack as its own unprivileged uid")
    try:
        pwd.getpwuid(REHEARSAL_UID)
        raise SystemExit(f"uid {REHEARSAL_UID} belongs to a user here; pick another REHEARSAL_UID")
    except KeyError:
        pass
    blank = corpus.Attack("blank_notebook", corpus.HONEST_KIND, {}, note="the released notebook as it is")
    by_name = {attack.name: attack for attack in [blank] + corpus.ATTACKS + corpus.HONEST}
    chosen = [by_name[name] for name in args.names] if args.names else list(by_name.values())
    for attack in chosen:
        print(json.dumps(rehearse(attack, args.timeout, args.keep)), flush=True)


if __name__ == "__main__":
    main()
