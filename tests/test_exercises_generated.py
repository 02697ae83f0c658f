"""exercises/ is what generate_assignment makes of solutions/, and gives nothing away.

Regenerates the student notebooks into a temporary course directory and compares them with the
committed ones; then reads the committed notebooks for anything a student must not see.
"""
import re
import shutil

import nbformat
import pytest

from autograder.nbgrader.course import ASSIGNMENTS, REPO_ROOT, load_course_config
from autograder.nbgrader.generate import generate
from autograder.checks.specs import SPECS

EXERCISES = REPO_ROOT / "exercises"
SOLUTIONS = REPO_ROOT / "solutions"
STUB = "raise NotImplementedError()"
VOLATILE_CELL_KEYS = ("execution_count", "outputs")


def read(folder, assignment):
    return nbformat.read(str(folder / assignment / f"{assignment}.ipynb"), as_version=4)


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def comparable(nb):
    """Cells (id, type, source, metadata) and notebook metadata, without execution state."""
    cells = [{k: v for k, v in cell.items() if k not in VOLATILE_CELL_KEYS} for cell in nb.cells]
    return {"metadata": nb.metadata, "cells": cells}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    root = tmp_path_factory.mktemp("regenerated")
    shutil.copytree(SOLUTIONS, root / "solutions")
    generate(root, ASSIGNMENTS, load_course_config())
    return root / "exercises"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_exercises_match_a_fresh_generation(regenerated, assignment):
    fresh, committed = comparable(read(regenerated, assignment)), comparable(read(EXERCISES, assignment))
    assert fresh["metadata"] == committed["metadata"]
    fresh_ids = [c["id"] for c in fresh["cells"]]
    assert fresh_ids == [c["id"] for c in committed["cells"]], "cells added, removed or reordered"
    for new, old in zip(fresh["cells"], committed["cells"]):
        assert new == old, (f"exercises/{assignment}: cell {new['id']!r} drifted from solutions/; "
                            "run `make exercises` and commit the result")


def test_no_other_files_in_exercises():
    expected = {EXERCISES / a / f"{a}.ipynb" for a in ASSIGNMENTS}
    found = {p for p in EXERCISES.rglob("*") if p.is_file()}
    assert found == expected


@pytest.mark.parametrize("folder", [SOLUTIONS, EXERCISES], ids=["solutions", "exercises"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_outputs_committed(folder, assignment):
    for cell in read(folder, assignment).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_holds_no_solution_no_hidden_test_no_reference(assignment):
    text = (EXERCISES / assignment / f"{assignment}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    for forbidden in ("autograder.hidden", "references", "reference_solutions", "grade("):
        assert forbidden not in text, f"exercises/{assignment} mentions {forbidden!r}"
    imported = set(re.findall(r"autograder[.\w]*", text))
    assert imported <= {"autograder.selfcheck"}, f"exercises/{assignment} imports {sorted(imported)}"


def solution_lines(source):
    """The lines between the solution markers, stripped, without blank ones and comments."""
    region = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", source, re.S)
    assert region, "answer cell without a solution region"
    return [line.strip() for line in region.group(1).splitlines() if line.strip() and not line.strip().startswith("#")]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_answer_is_a_stub_in_the_release(assignment):
    source = {c.id: c for c in read(SOLUTIONS, assignment).cells}
    release = read(EXERCISES, assignment)
    answers = [c for c in release.cells if nbgrader_meta(c).get("solution")]
    assert answers
    for cell in answers:
        assert cell.source.rstrip().endswith(STUB), cell.id
        leaked = [line for line in solution_lines(source[cell.id].source)
                  if line in [s.strip() for s in cell.source.splitlines()]]
        assert not leaked, f"{assignment}/{cell.id} shows solution lines: {leaked}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_one_answer_and_one_graded_check_per_function_of_the_spec(assignment):
    """Each function of the exercise specification has an answer cell and a test cell calling its check."""
    functions = sorted(check_id.split(".")[1] for check_id in SPECS if check_id.startswith(assignment + "."))
    release = read(EXERCISES, assignment)
    answers = sorted(nbgrader_meta(c)["grade_id"] for c in release.cells if nbgrader_meta(c).get("solution"))
    assert answers == functions
    tests = {nbgrader_meta(c)["grade_id"]: c for c in release.cells if nbgrader_meta(c).get("grade")}
    assert sorted(tests) == sorted(f"test_{f}" for f in functions)
    for function in functions:
        cell = tests[f"test_{function}"]
        assert f'check("{assignment}.{function}", {function})' in cell.source
        assert nbgrader_meta(cell)["locked"] and nbgrader_meta(cell)["points"] > 0
        defines = [c for c in release.cells if c.cell_type == "code" and f"def {function}(" in c.source]
        assert len(defines) == 1, f"{function} defined {len(defines)} times"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_ends_with_its_self_check_and_ids_are_unique(assignment):
    release = read(EXERCISES, assignment)
    code = [c for c in release.cells if c.cell_type == "code"]
    self_check = [c for c in code if "check_notebook(" in c.source]
    assert len(self_check) == 1 and f'check_notebook("{assignment}", globals())' in self_check[0].source
    graded = [i for i, c in enumerate(release.cells) if nbgrader_meta(c).get("grade")]
    assert release.cells.index(self_check[0]) > max(graded)
    grade_ids = [nbgrader_meta(c)["grade_id"] for c in release.cells if nbgrader_meta(c)]
    assert len(grade_ids) == len(set(grade_ids))


@pytest.mark.parametrize("assignment", ["rnn", "lstm", "gru"])
def test_gated_chapters_end_with_the_gradient_demo_on_the_students_cell(assignment):
    release = read(EXERCISES, assignment)
    demo = [c for c in release.cells if "show_cell_gradients(" in c.source]
    assert len(demo) == 1 and f"{assignment}_cell(" in demo[0].source
    assert not nbgrader_meta(demo[0]), "the demo cell is not graded and stays editable"
