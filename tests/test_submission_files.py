"""Files in a submission folder are read only as what they are, texts from submissions reach nothing as
code, and a flagged submission waits for a person's review.

Unit tests of autograder.grading.submission_files, then one batch through the instructor's command
(`python -m autograder grade gru`) with links, a FIFO, a device, a folder in place of the notebook, a
timestamp.txt that points at grading.json, student ids with control bytes and formulas, and flagged
submissions that `python -m autograder review` accepts or rejects.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.grading.course_dir import make_course
from autograder.grading.submission_files import RefusedFile, read_file
from autograder.nbgrader.submissions import solved_copy, with_answer
from autograder.nbgrader.submissions import write_submission as write_notebook

A = "gru"
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


# ----- the reader -----

def test_a_regular_file_is_read_and_bounded(tmp_path):
    (tmp_path / "s" / "a").mkdir(parents=True)
    target = tmp_path / "s" / "a" / "n.ipynb"
    target.write_bytes(b"x" * 10)
    assert read_file(target, 10, root=tmp_path) == b"x" * 10
    with pytest.raises(ValueError, match="limit"):
        read_file(target, 9, root=tmp_path)


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo", "device", "folder", "linked_folder"])
def test_anything_but_a_regular_file_with_one_name_is_refused(tmp_path, kind):
    secret = tmp_path / "grading.json"
    secret.write_text('{"seed": 123456789}')
    folder = tmp_path / "submitted" / "eve" / A
    folder.mkdir(parents=True)
    path = folder / f"{A}.ipynb"
    if kind == "symlink":
        path.symlink_to(secret)
    elif kind == "hardlink":
        os.link(secret, path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        os.mknod(path, 0o600 | 0o020000, os.makedev(1, 3))  # a character device (/dev/null's numbers)
    elif kind == "folder":
        path.mkdir()
    else:
        shutil.rmtree(folder)
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere" / f"{A}.ipynb").write_text("{}")
        folder.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RefusedFile) as refused:
        read_file(path, 1 << 20, root=tmp_path / "submitted")
    assert "123456789" not in str(refused.value)


# ----- one batch through the instructor's command -----

FLAGGED_ANSWER = '''import os
os.system("true")
def reset_gate(x, h, W_ir, W_hr, b_ir, b_hr):
    return torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)'''


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    if shutil.which("bwrap") is None or os.geteuid() != 0:
        pytest.skip("the sandboxed grader needs bubblewrap and root")
    course_dir = tmp_path_factory.mktemp("files") / "course"
    make_course(course_dir, [A], seed=31337)
    source = course_dir / "source" / A / f"{A}.ipynb"
    release = nbformat.read(course_dir / "release" / A / f"{A}.ipynb", as_version=4)
    solved = solved_copy(release, nbformat.read(source, as_version=4))
    canary = "CANARY-" + os.urandom(8).hex()
    (course_dir / "source" / A / "SECRET.txt").write_text(canary)
    seed = str(json.loads((course_dir / "grading.json").read_text())["seed"])

    def folder(student):
        path = course_dir / "submitted" / student / A
        path.mkdir(parents=True, exist_ok=True)
        return path

    write_notebook(solved, folder("solved") / f"{A}.ipynb")
    (folder("symlinked") / f"{A}.ipynb").symlink_to(source)
    os.link(source, folder("hardlinked") / f"{A}.ipynb")
    os.mkfifo(folder("fifo") / f"{A}.ipynb")
    os.mknod(folder("device") / f"{A}.ipynb", 0o600 | 0o020000, os.makedev(1, 5))  # /dev/zero's numbers
    (folder("folder") / f"{A}.ipynb").mkdir()
    (course_dir / "submitted" / "linked_student").symlink_to(course_dir / "source", target_is_directory=True)
    write_notebook(solved, folder("timestamp") / f"{A}.ipynb")
    (folder("timestamp") / "timestamp.txt").symlink_to(course_dir / "grading.json")
    write_notebook(solved, folder("=HYPERLINK(1)\x1b[31m") / f"{A}.ipynb")
    flagged = with_answer(solved, "reset_gate", FLAGGED_ANSWER)
    for student in ("flag_accept", "flag_reject"):
        write_notebook(flagged, folder(student) / f"{A}.ipynb")
    command = [sys.executable, "-m", "autograder", "grade", A, "--course-dir", str(course_dir), "--jobs", "2"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    rows = {}
    for path in (course_dir / ".grading" / "results" / A).glob("*.json"):
        row = json.loads(path.read_text())
        rows[row["student"]] = row
    return {"course_dir": course_dir, "run": run, "rows": rows, "canary": canary, "seed": seed,
            "max": rows["solved"]["max_score"]}


@pytest.mark.slow
def test_links_fifos_devices_and_folders_are_refused_without_being_read(batch):
    rows = batch["rows"]
    assert batch["run"].returncode == 0, batch["run"].stderr[-2000:]
    assert rows["solved"]["status"] == "graded" and rows["solved"]["score"] == batch["max"]
    expected = {"symlinked": "symbolic link", "hardlinked": "hard link", "fifo": "FIFO", "device": "device",
                "folder": "folder", "linked_student": "not a folder"}
    for student, why in expected.items():
        assert rows[student]["status"] == "refused", (student, rows[student])
        assert rows[student]["score"] == 0 and why in rows[student]["message"], rows[student]


@pytest.mark.slow
def test_nothing_the_grader_writes_holds_the_seed_or_the_canary(batch):
    rows = batch["rows"]
    assert rows["timestamp"]["status"] == "graded" and rows["timestamp"]["score"] == batch["max"]
    course_dir = batch["course_dir"]
    written = [batch["run"].stdout, batch["run"].stderr]
    for folder in ("reports", "autograded", ".grading", "feedback"):
        for path in (course_dir / folder).rglob("*"):
            if path.is_file():
                written.append(path.read_text(errors="replace"))
    text = "\n".join(written)
    assert batch["canary"] not in text and batch["seed"] not in text


@pytest.mark.slow
def test_student_ids_and_messages_reach_the_terminal_and_the_csv_as_plain_text(batch):
    run = batch["run"]
    assert not CONTROL.search(run.stdout) and not CONTROL.search(run.stderr)
    assert "\\x1b[31m" in run.stdout  # the id is shown, escaped
    csv_text = (batch["course_dir"] / "reports" / f"{A}.csv").read_text()
    assert not CONTROL.search(csv_text)
    assert "\n=HYPERLINK" not in csv_text and "'=HYPERLINK" in csv_text


@pytest.mark.slow
def test_a_flagged_submission_keeps_its_checks_score_until_a_person_decides(batch):
    course_dir, rows = batch["course_dir"], batch["rows"]
    for student in ("flag_accept", "flag_reject"):
        row = rows[student]
        assert row["status"] == "flagged" and row["score"] == 0 and row["checks_score"] == batch["max"]
        assert any("os module" in finding for finding in row["findings"]), row["findings"]
    review = [sys.executable, "-m", "autograder", "review", A, "--course-dir", str(course_dir)]
    accepted = subprocess.run(review + ["--student", "flag_accept", "--accept", "--note", "os.system is harmless"],
                              capture_output=True, text=True, timeout=600)
    rejected = subprocess.run(review + ["--student", "flag_reject", "--reject"], capture_output=True, text=True,
                              timeout=600)
    assert accepted.returncode == 0 and rejected.returncode == 0, accepted.stderr + rejected.stderr
    not_flagged = subprocess.run(review + ["--student", "solved", "--accept"], capture_output=True, text=True,
                                 timeout=600)
    assert not_flagged.returncode == 2 and "not flagged" in not_flagged.stderr
    with Gradebook(f"sqlite:///{course_dir}/gradebook.db", "rnn-course") as gradebook:
        scores = {s: gradebook.find_submission(A, s).score for s in ("flag_accept", "flag_reject", "solved")}
    assert scores == {"flag_accept": batch["max"], "flag_reject": 0, "solved": batch["max"]}
    kept = json.loads((course_dir / ".grading" / "results" / A / "flag_accept.json").read_text())
    assert kept["review"] == "accepted" and kept["review_note"] == "os.system is harmless"
