"""The attack corpus is well formed (fast, nothing graded): names, kinds, grade ids, sources, edits, markers.

The honest submissions are also run through the visible self-checks in a subprocess, so a mistake in
them shows up here rather than as a false alarm against the grader.
"""
import ast
import copy
import json
import re
import subprocess
import sys
import textwrap

import pytest

from attacks import corpus
from attacks.corpus import ATTACKS, HONEST, KINDS

ALL = ATTACKS + HONEST
ASSIGNMENTS = sorted({attack.assignment for attack in ALL})


@pytest.fixture(scope="module")
def released():
    return {assignment: corpus.released_notebook(assignment) for assignment in ASSIGNMENTS}


def python_of(source):
    """The Python an IPython cell runs: line magics and shell escapes become `pass`, a cell magic's body stays."""
    lines = source.splitlines()
    if lines and lines[0].startswith("%%"):
        lines = lines[1:]
    return "\n".join(re.sub(r"^(\s*)[%!].*$", r"\1pass", line) for line in lines)


def test_enough_attacks_and_every_kind_covered():
    assert len(ATTACKS) >= 40
    assert len(HONEST) >= 3
    assert {attack.kind for attack in ATTACKS} == set(KINDS)
    assert all(attack.kind == corpus.HONEST_KIND for attack in HONEST)
    counts = {a: sum(attack.assignment == a for attack in ATTACKS) for a in ASSIGNMENTS}
    assert set(counts) == {"lstm", "rnn", "gru", "sequence_models"}
    assert counts["lstm"] > len(ATTACKS) / 2


def test_names_are_unique_and_usable_as_markers():
    names = [attack.name for attack in ALL]
    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"[a-z][a-z0-9_]{2,50}", name), name


@pytest.mark.parametrize("attack", ALL, ids=lambda a: a.name)
def test_answers_name_released_cells_and_compile(attack, released):
    answer_ids = set(corpus.answer_cells(released[attack.assignment]))
    assert set(attack.answers) <= answer_ids
    assert attack.answers or attack.edit or attack.files, "an attack that changes nothing is the blank notebook"
    for grade_id, source in attack.answers.items():
        compile(python_of(source), f"{attack.name}:{grade_id}", "exec")


@pytest.mark.parametrize("attack", ALL, ids=lambda a: a.name)
def test_markers_are_filled_in_and_only_their_own(attack, released):
    nb = corpus.submission_notebook(attack, released[attack.assignment])
    text = json.dumps(nb) + "".join(data.decode("utf-8", "replace") for data in attack.files.values())
    assert corpus._PLACEHOLDER not in text
    others = set(re.findall(r"PWNED-[a-z0-9_]+", text)) - {attack.marker}
    assert not others, f"{attack.name} carries another attack's marker: {others}"
    if attack in HONEST:
        assert "PWNED" not in text


@pytest.mark.parametrize("attack", [a for a in ALL if a.edit], ids=lambda a: a.name)
def test_edit_runs_on_a_copy(attack, released):
    original = released[attack.assignment]
    before = json.dumps(original)
    nb = corpus.submission_notebook(attack, original)
    assert json.dumps(original) == before, "the edit changed the released notebook itself"
    assert json.dumps(nb) != before


def test_files_stay_beside_the_notebook():
    for attack in ALL:
        for name in attack.files:
            assert not name.startswith("/") and ".." not in name.split("/"), (attack.name, name)


def test_write_submission_lays_out_notebook_and_files(tmp_path, released):
    # An attack of its own, without markers: a grader's test that searches /tmp for them must not find ours.
    attack = corpus.Attack("layout", corpus.HONEST_KIND, {"forget_gate": "pass\n"},
                           files={"helpers/extra.py": b"x = 1\n", "data.txt": b"numbers\n"})
    path = corpus.write_submission(attack, tmp_path / "student" / attack.assignment, released[attack.assignment])
    assert path.name == f"{attack.assignment}.ipynb"
    assert json.loads(path.read_text())["cells"]
    for name, data in attack.files.items():
        assert (path.parent / name).read_bytes() == data


def test_docstring_table_names_every_attack():
    table = corpus.__doc__.split("| attack named in", 1)[1]
    named = set(re.findall(r"\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b", table))
    names = {attack.name for attack in ATTACKS}
    assert names <= named, f"missing from the table: {sorted(names - named)}"
    assert not {n for n in named if n.count("_") >= 1 and n not in names and not n.startswith("run_")} - {
        "sys_modules", "check_notebook"}, "the table names attacks that do not exist"


def test_honest_answers_cover_every_answer_cell(released):
    for attack in HONEST:
        assert set(attack.answers) == set(corpus.answer_cells(released[attack.assignment])), attack.name


# Runs a notebook's code cells (tests left out) until the last answer to check, in IPython, then the visible
# check of each of those answers. argv: assignment, grade ids to check.
VISIBLE_RUNNER = textwrap.dedent('''
    import io, json, sys, contextlib
    from IPython.core.interactiveshell import InteractiveShell
    from autograder.selfcheck import check
    nb = json.load(sys.stdin)
    assignment, to_check = sys.argv[1], sys.argv[2:]
    shell = InteractiveShell.instance()
    printed = io.StringIO()
    left = set(to_check)
    with contextlib.redirect_stdout(printed):
        for cell in nb["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if not left:
                break
            if cell["cell_type"] == "code" and not meta.get("grade"):
                result = shell.run_cell("".join(cell["source"]))
                if not result.success:
                    raise SystemExit(f"cell {meta.get('grade_id')} failed: {result.error_in_exec!r}")
                left.discard(meta.get("grade_id"))
    failures = []
    for grade_id in to_check:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                check(f"{assignment}.{grade_id}", shell.user_ns[grade_id])
        except Exception as error:
            failures.append(f"{grade_id}: {error}")
    print(json.dumps({"failures": failures, "printed_bytes": len(printed.getvalue().encode())}))
''')


@pytest.mark.parametrize("attack", HONEST, ids=lambda a: a.name)
def test_honest_submissions_pass_the_visible_checks(attack, released):
    """The cells written for the honest submissions (the first lstm parts) pass their visible checks."""
    nb = corpus.submission_notebook(attack, released[attack.assignment])
    done = subprocess.run([sys.executable, "-c", VISIBLE_RUNNER, attack.assignment, *corpus.LSTM_IDS],
                          input=json.dumps(nb), capture_output=True, text=True, timeout=300, cwd=corpus.REPO_ROOT)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["failures"] == []
    assert report["printed_bytes"] < 1_000_000
