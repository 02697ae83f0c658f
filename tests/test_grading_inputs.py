"""Bad inputs to the grader, repeatability, resume, and the refusal to run without a sandbox.

Every broken submission gets one status row with a precise message; the rest of the batch is graded as
usual. Grading the same batch three times gives the same grades; grading again grades only what is new,
changed or failed.
"""
import copy
import json
import os
import subprocess
import sys

import nbformat
import pytest

from autograder.grading.course_dir import make_course
from autograder.grading.results import SubmissionResult
from autograder.nbgrader.submissions import solved_copy, with_answer
from autograder.nbgrader.submissions import write_submission as write_notebook

pytestmark = pytest.mark.slow

A = "lstm"


def graded_cell_index(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def deleted(nb, grade_id):
    nb = copy.deepcopy(nb)
    del nb.cells[graded_cell_index(nb, grade_id)]
    return nb


def duplicated(nb, grade_id):
    nb = copy.deepcopy(nb)
    i = graded_cell_index(nb, grade_id)
    twin = copy.deepcopy(nb.cells[i])
    twin.id = "twin"
    nb.cells.insert(i + 1, twin)
    return nb


def reordered(nb):
    nb = copy.deepcopy(nb)
    i, j = graded_cell_index(nb, "forget_gate"), graded_cell_index(nb, "input_gate")
    nb.cells[i], nb.cells[j] = nb.cells[j], nb.cells[i]
    return nb


def retyped(nb, grade_id):
    nb = copy.deepcopy(nb)
    cell = nb.cells[graded_cell_index(nb, grade_id)]
    nb.cells[graded_cell_index(nb, grade_id)] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata,
                                                                               id=cell.id)
    return nb


def with_kernel(nb, name):
    nb = copy.deepcopy(nb)
    nb.metadata["kernelspec"] = {"name": name, "display_name": name, "language": name}
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course_dir = tmp_path_factory.mktemp("inputs") / "course"
    make_course(course_dir, [A], seed=99)
    release = nbformat.read(course_dir / "release" / A / f"{A}.ipynb", as_version=4)
    solved = solved_copy(release, nbformat.read(course_dir / "source" / A / f"{A}.ipynb", as_version=4))
    return course_dir, release, solved


def submit(course_dir, student, nb=None, text=None, name=f"{A}.ipynb"):
    path = course_dir / "submitted" / student / A / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if nb is not None:
        write_notebook(nb, path)
    elif isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def grade(course_dir, *students, extra=()):
    command = [sys.executable, "-m", "autograder", "grade", A, "--course-dir", str(course_dir), "--jobs", "2",
               *extra]
    for student in students:
        command += ["--student", student]
    return subprocess.run(command, capture_output=True, text=True, timeout=1800)


def results(course_dir):
    folder = course_dir / ".grading" / "results" / A
    return {p.stem: SubmissionResult.from_json(json.loads(p.read_text())) for p in folder.glob("*.json")}


EXPECTED = {  # student -> (status, a phrase of the message)
    "solved": ("graded", ""),
    "truncated": ("invalid", "invalid JSON at line"),
    "binary": ("invalid", "not UTF-8"),
    "json_not_notebook": ("invalid", "no cells"),
    "bad_schema": ("invalid", "not a valid notebook"),
    "misnamed": ("missing", "found instead: lstm (1).ipynb"),
    "ghost": ("missing", "no file lstm.ipynb"),
    "huge": ("invalid", "the limit is 20 MB"),
    "deleted_answer": ("tampered", "cells deleted: forget_gate"),
    "deleted_test": ("tampered", "cells deleted: test_lstm_cell"),
    "duplicated": ("tampered", "appears more than once"),
    "reordered": ("tampered", "reordered"),
    "retyped": ("tampered", "changed from code to markdown"),
    "points_raised": ("tampered", "metadata changed (points)"),
    "kernel_changed": ("graded", "kernelspec 'bash' ignored"),
    "nbformat3": ("graded", "converted from nbformat 3"),
    "extra_files": ("graded", ""),
}


@pytest.fixture(scope="module")
def bad_batch(course):
    course_dir, release, solved = course
    text = json.dumps(solved)
    submit(course_dir, "solved", solved)
    submit(course_dir, "truncated", text=text[: len(text) // 2])
    submit(course_dir, "binary", text=b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    submit(course_dir, "json_not_notebook", text='{"hello": "world"}')
    submit(course_dir, "bad_schema", text=json.dumps({"cells": [{"cell_type": "code"}], "metadata": {},
                                                      "nbformat": 4, "nbformat_minor": 5}))
    submit(course_dir, "misnamed", solved, name=f"{A} (1).ipynb")
    huge = copy.deepcopy(solved)
    huge.cells.append(nbformat.v4.new_markdown_cell("x" * (100 << 20)))
    submit(course_dir, "huge", huge)
    submit(course_dir, "deleted_answer", deleted(solved, "forget_gate"))
    submit(course_dir, "deleted_test", deleted(solved, "test_lstm_cell"))
    submit(course_dir, "duplicated", duplicated(solved, "lstm_cell"))
    submit(course_dir, "reordered", reordered(solved))
    submit(course_dir, "retyped", retyped(solved, "cell_update"))
    raised = copy.deepcopy(solved)
    raised.cells[graded_cell_index(raised, "test_forget_gate")].metadata["nbgrader"]["points"] = 100
    submit(course_dir, "points_raised", raised)
    submit(course_dir, "kernel_changed", with_kernel(solved, "bash"))
    path = submit(course_dir, "nbformat3", solved)
    nbformat.write(nbformat.convert(nbformat.read(path, as_version=4), 3), str(path), version=3)
    submit(course_dir, "extra_files", solved)
    (course_dir / "submitted" / "extra_files" / A / "helper.py").write_text("raise SystemExit('not imported')\n")
    (course_dir / "submitted" / "extra_files" / A / "data.bin").write_bytes(os.urandom(1000))
    run = grade(course_dir, *EXPECTED)
    return run, results(course_dir)


def test_each_bad_input_gets_its_status_and_a_precise_message(bad_batch):
    run, rows = bad_batch
    assert run.returncode == 0, run.stderr[-3000:]
    for student, (status, phrase) in EXPECTED.items():
        row = rows[student]
        assert row.status == status, f"{student}: {row.status}: {row.message}"
        assert phrase in row.message, f"{student}: {row.message!r} lacks {phrase!r}"
        assert student in run.stdout


def test_readable_submissions_keep_their_full_grade_beside_bad_ones(bad_batch):
    _, rows = bad_batch
    for student in ("solved", "kernel_changed", "nbformat3", "extra_files"):
        assert rows[student].score == rows[student].max_score > 0, rows[student]
    for student, (status, _) in EXPECTED.items():
        if status != "graded":
            assert rows[student].score == 0, rows[student]


def test_the_same_batch_graded_three_times_gives_identical_grades(course):
    course_dir, release, solved = course
    submit(course_dir, "r_solved", solved)
    submit(course_dir, "r_blank", release)
    wrong = '''def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    gates = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    f, i, g, o = gates.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next'''
    submit(course_dir, "r_wrong", with_answer(solved, "lstm_cell", wrong))
    submit(course_dir, "r_flagged", with_answer(release, "forget_gate", "import os\nforget_gate = os.getcwd"))
    students = ("r_solved", "r_blank", "r_wrong", "r_flagged")
    rounds = []
    for _ in range(3):
        for student in students:
            (course_dir / ".grading" / "results" / A / f"{student}.json").unlink(missing_ok=True)
        assert grade(course_dir, *students).returncode == 0
        rows = results(course_dir)
        rounds.append({s: (rows[s].status, rows[s].score, [(p.grade_id, p.score) for p in rows[s].parts])
                       for s in students})
    assert rounds[0] == rounds[1] == rounds[2]
    full = results(course_dir)["r_solved"].max_score
    assert rounds[0]["r_solved"][1] == full and rounds[0]["r_blank"][1] == 0
    assert 0 < rounds[0]["r_wrong"][1] < full and rounds[0]["r_flagged"][0] == "flagged"


def test_grading_again_grades_only_what_is_new_changed_or_failed(course):
    course_dir, release, solved = course
    for student in ("k_same", "k_changed", "k_failed"):
        submit(course_dir, student, release)
    assert grade(course_dir, "k_same", "k_changed", "k_failed").returncode == 0
    before = {s: (course_dir / ".grading" / "results" / A / f"{s}.json") for s in ("k_same", "k_changed", "k_failed")}
    stamps = {s: p.stat().st_mtime_ns for s, p in before.items()}
    submit(course_dir, "k_changed", solved)
    failed = json.loads(before["k_failed"].read_text())
    failed["status"] = "crashed"
    before["k_failed"].write_text(json.dumps(failed))
    stamps["k_failed"] = before["k_failed"].stat().st_mtime_ns
    submit(course_dir, "k_new", solved)
    assert grade(course_dir, "k_same", "k_changed", "k_failed", "k_new").returncode == 0
    rows = results(course_dir)
    assert before["k_same"].stat().st_mtime_ns == stamps["k_same"], "an unchanged graded submission was regraded"
    assert before["k_changed"].stat().st_mtime_ns != stamps["k_changed"]
    assert rows["k_changed"].score == rows["k_changed"].max_score == rows["k_new"].score > 0
    assert rows["k_failed"].status == "graded" and rows["k_same"].status == "graded"


def test_without_a_sandbox_grading_refuses_unless_told(course, tmp_path):
    course_dir, _, solved = course
    submit(course_dir, "u_solved", solved)
    no_bwrap = tmp_path / "bin"
    no_bwrap.mkdir()
    for tool in ("unshare", "setpriv", "prlimit", "mount", "umount", "sh"):
        (no_bwrap / tool).symlink_to(subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip())
    env = {**os.environ, "PATH": str(no_bwrap)}
    command = [sys.executable, "-m", "autograder", "grade", A, "--course-dir", str(course_dir), "--student", "u_solved"]
    refused = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert refused.returncode == 2 and "refusing to run student code" in refused.stderr
    assert "bwrap" in refused.stderr
    unsafe = subprocess.run(command + ["--unsafe-no-sandbox"], capture_output=True, text=True, env=env, timeout=600)
    assert unsafe.returncode == 0, unsafe.stderr[-2000:]
    assert "WARNING: grading WITHOUT a sandbox" in unsafe.stderr
    assert results(course_dir)["u_solved"].score == results(course_dir)["u_solved"].max_score > 0
