"""The nbgrader round trip on one course directory and one gradebook.

Sources validate; autograding the solutions gives full marks; the blank release gives 0 and fails only
for "not implemented"; mutants from the catalogue of tests/test_mutants.py lose the points of the cell
they break; feedback holds no hidden test code; export writes the CSV. A broken course config fails.
"""
import csv
import subprocess
import sys
from collections import defaultdict

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.nbgrader.course import (ASSIGNMENTS, DEFAULT_CONFIG, REPO_ROOT, CourseConfigError,
                                        load_course_config)
from autograder.nbgrader.generate import validate_sources
from autograder.nbgrader.grade_demo import notebook, set_up_course
from autograder.nbgrader.grading import (HIDDEN_TEST_TRACES, autograde_all, export_csv, generate_feedback,
                                         submission_path)
from autograder.nbgrader.submissions import solved_copy, with_answer, write_submission

pytestmark = pytest.mark.slow

MUTANT_ROUNDS = 2  # submission k holds the k-th catalogue mutant of every function that has one


def mutant_rounds():
    """[(assignment, round, {function: mutant name})] from the catalogue, at most one mutant per function."""
    import test_mutants  # tests/ is on sys.path under pytest

    by_function = defaultdict(list)
    for check_id, mutant, _ in test_mutants.MUTANTS:
        by_function[check_id].append(mutant.__name__)
    rounds = []
    for assignment in ASSIGNMENTS:
        for k in range(MUTANT_ROUNDS):
            chosen = {check_id.split(".")[1]: names[k] for check_id, names in by_function.items()
                      if check_id.startswith(assignment + ".") and len(names) > k}
            if chosen:
                rounds.append((assignment, k, chosen))
    return rounds


def mutant_answer(function, mutant_name):
    return (f"import sys\nsys.path.insert(0, {str(REPO_ROOT / 'tests')!r})\n"
            f"from test_mutants import {mutant_name} as {function}")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    config = load_course_config()
    coursedir = set_up_course(tmp_path_factory.mktemp("course") / "course", config, DEFAULT_CONFIG)
    pairs = []
    for assignment in ASSIGNMENTS:
        released = notebook(coursedir, coursedir.release_directory, assignment)
        solved = solved_copy(released, notebook(coursedir, coursedir.source_directory, assignment))
        write_submission(solved, submission_path(coursedir, "solutions", assignment))
        write_submission(released, submission_path(coursedir, "blank", assignment))
        pairs += [("solutions", assignment), ("blank", assignment)]
    mutants = {}
    for assignment, k, chosen in mutant_rounds():
        student = f"mutants{k}"
        nb = notebook(coursedir, coursedir.source_directory, assignment)
        nb = solved_copy(notebook(coursedir, coursedir.release_directory, assignment), nb)
        for function, mutant_name in chosen.items():
            nb = with_answer(nb, function, mutant_answer(function, mutant_name))
        write_submission(nb, submission_path(coursedir, student, assignment))
        pairs.append((student, assignment))
        mutants[(student, assignment)] = chosen
    rows = {(row.student, row.assignment): row for row in autograde_all(coursedir, config, pairs)}
    return {"config": config, "coursedir": coursedir, "rows": rows, "mutants": mutants}


def autograded(coursedir, student, assignment):
    folder = coursedir.format_path(coursedir.autograded_directory, student, assignment)
    return nbformat.read(f"{folder}/{assignment}.ipynb", as_version=4)


def test_every_source_validates(course):
    assert validate_sources(course["coursedir"].root, ASSIGNMENTS, course["config"]) == {}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solutions_get_full_marks(course, assignment):
    row = course["rows"][("solutions", assignment)]
    assert row.status == "graded", row.message
    assert row.max_score > 0
    errors = failed_cells(course["coursedir"], "solutions", assignment)
    assert row.score == row.max_score, "\n".join(errors)
    assert not errors, "the solved notebook must run top to bottom without an error:\n" + "\n".join(errors)


def failed_cells(coursedir, student, assignment):
    return [f"{cell.id}: {output.ename}: {output.evalue}"
            for cell in autograded(coursedir, student, assignment).cells
            for output in cell.get("outputs", []) if output.output_type == "error"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_release_gets_zero_and_only_not_implemented(course, assignment):
    row = course["rows"][("blank", assignment)]
    assert row.status == "graded", row.message
    assert row.score == 0 and row.max_score > 0
    errors = [(cell.id, output) for cell in autograded(course["coursedir"], "blank", assignment).cells
              for output in cell.get("outputs", []) if output.output_type == "error"]
    assert errors, "a blank notebook must fail its tests"
    for cell_id, output in errors:
        assert output.ename == "NotImplementedError", f"{cell_id} failed for another reason: {output.ename}: {output.evalue}"


def test_every_mutant_loses_the_points_of_its_cell(course):
    coursedir = course["coursedir"]
    assert len(course["mutants"]) >= len(ASSIGNMENTS)
    survivors = []
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        for (student, assignment), chosen in course["mutants"].items():
            row = course["rows"][(student, assignment)]
            assert row.status == "graded", row.message
            assert row.score < row.max_score
            for function, mutant_name in chosen.items():
                grade = gradebook.find_grade(f"test_{function}", assignment, assignment, student)
                if grade.score != 0:
                    survivors.append(f"{assignment}.{function} <- {mutant_name}: {grade.score}/{grade.max_score}")
    assert not survivors, "mutants that kept points:\n" + "\n".join(survivors)


def test_feedback_shows_no_hidden_tests(course):
    rows = list(course["rows"].values())
    files = generate_feedback(course["coursedir"], course["config"], rows)  # raises on a leak
    assert len(files) == len(rows)
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not any(trace in text for trace in HIDDEN_TEST_TRACES), path
        assert "from autograder" not in text, path


def test_export_writes_every_grade_to_csv(course, tmp_path):
    path = export_csv(course["coursedir"], course["config"], tmp_path / "grades.csv")
    with open(path, newline="") as handle:
        exported = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(handle)}
    for key, row in course["rows"].items():
        assert float(exported[key]["score"]) == row.score
        assert float(exported[key]["max_score"]) == row.max_score


BROKEN_CONFIGS = {
    "syntax error": "c = get_config()\nc.CourseDirectory.course_id = 'rnn-course'\nc.Execute.timeout = (\n",
    "misspelt section": "c = get_config()\nc.Exceute.timeout = 60\n",
    "misspelt option": "c = get_config()\nc.CourseDirectory.course_idd = 'rnn-course'\n",
}


def config_without(line_start):
    lines = DEFAULT_CONFIG.read_text().splitlines()
    return "\n".join(line for line in lines if not line.startswith(line_start)) + "\n"


@pytest.mark.parametrize("name", sorted(BROKEN_CONFIGS))
def test_broken_config_is_refused(tmp_path, name):
    path = tmp_path / "nbgrader_config.py"
    path.write_text(BROKEN_CONFIGS[name])
    with pytest.raises(CourseConfigError, match="nbgrader_config.py"):
        load_course_config(path)


@pytest.mark.parametrize("setting", ["c.GenerateFeedback.preprocessors", "c.Execute.timeout",
                                     "c.CourseDirectory.course_id"])
def test_config_missing_a_required_setting_is_refused(tmp_path, setting):
    path = tmp_path / "nbgrader_config.py"
    path.write_text(config_without(setting))
    with pytest.raises(CourseConfigError):
        load_course_config(path)


def test_the_course_config_loads():
    config = load_course_config()
    assert config.CourseDirectory.course_id == "rnn-course"


def test_other_nbgrader_settings_are_accepted(tmp_path):
    """Strict, not narrow: options of nbgrader's apps, exchange and exporters still load."""
    path = tmp_path / "nbgrader_config.py"
    extra = ("c.Exchange.root = '/srv/nbgrader/exchange'\nc.NbGrader.logfile = 'nbgrader.log'\n"
             "c.CourseDirectory.db_url = 'sqlite:///gradebook.db'\nc.HTMLExporter.exclude_input = False\n")
    path.write_text(DEFAULT_CONFIG.read_text() + extra)
    assert load_course_config(path).Exchange.root == "/srv/nbgrader/exchange"


@pytest.mark.parametrize("module", ["autograder.nbgrader.generate", "autograder.nbgrader.grade_demo"])
def test_commands_exit_nonzero_on_a_broken_config(tmp_path, module):
    path = tmp_path / "nbgrader_config.py"
    path.write_text(BROKEN_CONFIGS["syntax error"])
    result = subprocess.run([sys.executable, "-m", module, "--config", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "does not load" in result.stderr and str(path) in result.stderr
