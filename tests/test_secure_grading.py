"""The sandboxed grader against hostile submissions (tests/attacks/corpus.py), graded in one batch per
assignment beside honest ones, through the instructor's command `python -m autograder grade`.

Each attack must score no more than the blank notebook, reach nothing (a listener on 127.0.0.1:45678),
read nothing it must not (a random token in SECRET.txt beside the sources and in the repository), write
nothing outside its sandbox (its marker `PWNED-<name>` nowhere on disk after the batch), leave no process
behind, and leave every honest grade of the batch exact; submissions graded after it are unaffected.
"""
import json
import os
import secrets
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from attacks.corpus import ATTACKS, HONEST, LISTENER, SECRET_FILE, write_submission
from autograder.grading.course_dir import make_course
from autograder.grading.results import STATUSES, SubmissionResult
from autograder.nbgrader.course import REPO_ROOT
from autograder.nbgrader.submissions import solved_copy, with_answer
from autograder.nbgrader.submissions import write_submission as write_notebook

pytestmark = pytest.mark.slow

LIMITS = {"memory_mb": 1024, "processes": 128, "tmp_mb": 128, "cell_seconds": 60, "check_seconds": 30,
          "submission_seconds": 90}
SANDBOX_UID_FLOOR = 100_000
TERM_SEED = 7_391_846_205  # digits distinctive enough to search every output for
SEARCHED = [Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path("/root"), REPO_ROOT]
PARTIAL = '''def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    return torch.sigmoid(x @ W_if.T + h @ W_hf.T + b_hf)'''


class Listener:
    """A TCP service on loopback that records every connection and what it received."""

    def __init__(self, address):
        self.received = []
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(address)
        self.server.listen()
        self.server.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            connection.settimeout(1)
            try:
                self.received.append(connection.recv(4096))
            except OSError:
                self.received.append(b"")
            connection.close()

    def close(self):
        self.running = False
        self.thread.join(2)
        self.server.close()


def sandbox_processes():
    """Processes running under a sandbox user id (the grader gives each sandbox one >= 100000)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if int(fields.get("Uid", "0").split()[0]) >= SANDBOX_UID_FLOOR:
            found.append(f"{status.parent.name} {fields.get('Name', '').strip()}")
    return found


def files_changed_since(roots, since, skip):
    """Files under `roots` modified after `since`, except under the folders in `skip`."""
    changed = []
    for root in roots:
        for folder, dirs, files in os.walk(root):
            if any(Path(folder).is_relative_to(s) for s in skip):
                dirs[:] = []
                continue
            dirs[:] = [d for d in dirs if d not in ("node_modules", ".git")]
            for name in files:
                path = Path(folder) / name
                try:
                    if path.lstat().st_mtime >= since or "PWNED" in name:
                        changed.append(path)
                except OSError:
                    pass
    return changed


def grade(course_dir, assignment, students=None):
    command = [sys.executable, "-m", "autograder", "grade", assignment, "--course-dir", str(course_dir),
               "--jobs", "2"]
    for student in students or []:
        command += ["--student", student]
    return subprocess.run(command, capture_output=True, text=True, timeout=3600)


def results_of(course_dir, assignment):
    folder = course_dir / ".grading" / "results" / assignment
    return {p.stem: SubmissionResult.from_json(json.loads(p.read_text())) for p in folder.glob("*.json")}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    course_dir = tmp_path_factory.mktemp("secure") / "course"
    assignments = sorted({a.assignment for a in ATTACKS + HONEST} | {"lstm"})
    coursedir, _, _ = make_course(course_dir, assignments, seed=TERM_SEED)
    settings = json.loads((course_dir / "grading.json").read_text())
    settings["limits"].update(LIMITS)
    (course_dir / "grading.json").write_text(json.dumps(settings))

    token = secrets.token_hex(16)
    secret_files = [course_dir / "source" / SECRET_FILE, REPO_ROOT / SECRET_FILE]
    for path in secret_files:
        path.write_text(token)
    listener = Listener(LISTENER)
    submitted = course_dir / "submitted"
    honest = {}
    for assignment in assignments:
        release = nbformat.read(course_dir / "release" / assignment / f"{assignment}.ipynb", as_version=4)
        source = nbformat.read(course_dir / "source" / assignment / f"{assignment}.ipynb", as_version=4)
        write_notebook(solved_copy(release, source), submitted / "alice" / assignment / f"{assignment}.ipynb")
        write_notebook(release, submitted / "bob" / assignment / f"{assignment}.ipynb")
        honest[("alice", assignment)] = "full"
        honest[("bob", assignment)] = 0.0
    lstm_release = nbformat.read(course_dir / "release" / "lstm" / "lstm.ipynb", as_version=4)
    lstm_source = nbformat.read(course_dir / "source" / "lstm" / "lstm.ipynb", as_version=4)
    write_notebook(with_answer(solved_copy(lstm_release, lstm_source), "forget_gate", PARTIAL),
                   submitted / "trent" / "lstm" / "lstm.ipynb")
    for attack in ATTACKS + HONEST:
        write_submission(attack, submitted / attack.name / attack.assignment)

    start = time.time()
    runs = {assignment: grade(course_dir, assignment) for assignment in assignments}
    time.sleep(5)  # detached processes that survived would act now
    leftovers = sandbox_processes()
    # Graded after the attacks: a clean copy of honest work must get exactly its grade.
    for assignment in assignments:
        for student, original in (("alice2", "alice"), ("bob2", "bob")):
            target = submitted / student / assignment
            target.mkdir(parents=True)
            (target / f"{assignment}.ipynb").write_bytes(
                (submitted / original / assignment / f"{assignment}.ipynb").read_bytes())
    later = {assignment: grade(course_dir, assignment, ["alice2", "bob2"]) for assignment in assignments}
    listener.close()
    changed = files_changed_since(SEARCHED, start, skip=[course_dir.parent, REPO_ROOT / "_build",
                                                         REPO_ROOT / ".pytest_cache"])
    for path in secret_files:
        path.unlink()
    results = {}
    for assignment in assignments:
        for student, result in results_of(course_dir, assignment).items():
            results[(student, assignment)] = result
    yield {"course_dir": course_dir, "coursedir": coursedir, "runs": runs, "later": later, "token": token,
           "listener": listener, "leftovers": leftovers, "changed": changed, "results": results,
           "honest": honest}


def test_every_command_exits_0_with_a_status_for_every_submission(batch):
    for assignment, run in {**batch["runs"], **batch["later"]}.items():
        assert run.returncode == 0, f"{assignment}: {run.stderr[-2000:]}"
    for attack in ATTACKS + HONEST:
        result = batch["results"].get((attack.name, attack.assignment))
        assert result is not None, f"{attack.name}: no status row"
        assert result.status in STATUSES, f"{attack.name}: {result.status}"
        assert attack.name in batch["runs"][attack.assignment].stdout


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_attack_scores_no_more_than_the_blank_notebook(batch, attack):
    result = batch["results"][(attack.name, attack.assignment)]
    blank = batch["results"][("bob", attack.assignment)]
    assert result.score <= blank.score == 0, f"{attack.name}: {result.score} ({result.status}: {result.message})"
    with Gradebook(f"sqlite:///{batch['course_dir']}/gradebook.db", "rnn-course") as gradebook:
        assert gradebook.find_submission(attack.assignment, attack.name).score <= blank.score


def test_honest_submissions_get_exactly_their_grades(batch):
    results = batch["results"]
    for (student, assignment), expected in batch["honest"].items():
        for who in (student, student + "2"):
            result = results[(who, assignment)]
            wanted = result.max_score if expected == "full" else expected
            assert result.status == "graded" and result.score == wanted, f"{who}/{assignment}: {result}"
    trent = results[("trent", "lstm")]
    assert trent.status == "graded" and 0 < trent.score < trent.max_score, trent
    assert {p.grade_id for p in trent.parts if p.score < p.max_score} >= {
        "test_forget_gate", "test_lstm_cell", "test_lstm_forward"}
    assert all(p.score == p.max_score for p in trent.parts if p.grade_id in ("test_input_gate", "test_candidate"))


@pytest.mark.parametrize("honest", HONEST, ids=lambda a: a.name)
def test_unusual_but_honest_submission_keeps_full_credit(batch, honest):
    result = batch["results"][(honest.name, honest.assignment)]
    assert result.status == "graded" and result.score == result.max_score, f"{result.status}: {result.message}"


def test_the_gradebook_matches_the_status_rows(batch):
    with Gradebook(f"sqlite:///{batch['course_dir']}/gradebook.db", "rnn-course") as gradebook:
        for (student, assignment), result in batch["results"].items():
            assert gradebook.find_submission(assignment, student).score == result.score, (student, assignment)


def test_nothing_reached_the_loopback_service(batch):
    assert batch["listener"].received == []


def test_no_file_outside_the_sandbox_was_written(batch):
    written = [p for p in batch["changed"] if "PWNED" in p.name or _holds(p, b"PWNED")]
    assert not written, f"files written by submissions: {written[:10]}"


def test_the_secret_appears_in_no_output(batch):
    token = batch["token"].encode()
    course_dir = batch["course_dir"]
    outputs = [course_dir / "gradebook.db", *course_dir.glob("autograded/**/*"), *course_dir.glob(".grading/**/*")]
    for run in [*batch["runs"].values(), *batch["later"].values()]:
        assert batch["token"] not in run.stdout + run.stderr
    leaked = [p for p in outputs if p.is_file() and _holds(p, token)]
    assert not leaked, leaked


def test_the_term_seed_appears_in_no_output(batch):
    seed = str(TERM_SEED).encode()
    course_dir = batch["course_dir"]
    for run in [*batch["runs"].values(), *batch["later"].values()]:
        assert str(TERM_SEED) not in run.stdout + run.stderr
    outputs = [course_dir / "gradebook.db", *course_dir.glob("autograded/**/*"), *course_dir.glob(".grading/**/*"),
               *course_dir.glob("reports/**/*"), *course_dir.glob("feedback/**/*")]
    leaked = [p for p in outputs if p.is_file() and _holds(p, seed)]
    assert not leaked, leaked


def test_no_process_outlives_its_sandbox(batch):
    assert batch["leftovers"] == []
    assert sandbox_processes() == []


def test_the_sources_and_submissions_of_others_are_unchanged(batch):
    course_dir = batch["course_dir"]
    for assignment in {a.assignment for a in ATTACKS}:
        source = course_dir / "source" / assignment / f"{assignment}.ipynb"
        assert source.read_bytes() == (REPO_ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_bytes()
    assert not (REPO_ROOT / "autograder" / "hidden.py").read_text().count("PWNED")


def _holds(path, needle):
    """Whether a regular file holds `needle` (a FIFO another process left in /tmp would block the open)."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return False
        with open(path, "rb") as handle:
            return needle in handle.read(50 << 20)
    except OSError:
        return False
