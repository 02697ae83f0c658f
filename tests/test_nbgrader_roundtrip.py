"""The nbgrader round trip on one course directory and one gradebook, graded by the sandboxed grader.

Sources validate; grading the solutions gives full marks; the blank release gives 0 and fails only
for "not implemented"; a wrong answer loses the points of the cells that depend on it; feedback holds no
hidden test code; export writes the CSV. A broken course config fails.
"""
import csv
import subprocess
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.grading.batch import grade_batch
from autograder.grading.course_dir import make_course
from autograder.nbgrader.course import ASSIGNMENTS, DEFAULT_CONFIG, CourseConfigError, load_course_config
from autograder.nbgrader.generate import validate_sources
from autograder.nbgrader.grading import HIDDEN_TEST_TRACES, export_csv, generate_feedback, submission_path
from autograder.nbgrader.submissions import solved_copy, with_answer, write_submission

pytestmark = pytest.mark.slow

# A wrong answer per assignment, and test cells that must lose their points because of it (later parts
# that build on the same function may lose theirs too).
WRONG = {
    "sequence_models": ("fit_ar", "def fit_ar(x, tau):\n    X, y = ar_design_matrix(x, tau)\n"
                        "    w = torch.linalg.lstsq(X, y[:, None]).solution[:, 0]\n"
                        "    return w, torch.zeros((), dtype=x.dtype)", {"test_fit_ar"}),
    "rnn": ("rnn_cell", "def rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity='tanh'):\n"
            "    return torch.relu(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)",
            {"test_rnn_cell", "test_rnn_forward"}),
    "lstm": ("cell_update", "def cell_update(c, f, i, g):\n    return f * c + g",
             {"test_cell_update", "test_lstm_cell", "test_lstm_forward"}),
    "gru": ("gru_hidden_update", "def gru_hidden_update(h, z, n):\n    return z * n + (1 - z) * h",
            {"test_gru_hidden_update", "test_gru_cell", "test_gru_forward"}),
    "char_lm": ("step_losses", "def step_losses(logits, targets):\n"
                "    return -torch.log(torch.softmax(logits, dim=-1).gather(-1, targets[..., None])[..., 0])",
                {"test_step_losses"}),
}


def notebook(coursedir, folder, assignment):
    return nbformat.read(f"{coursedir.format_path(folder, '.', assignment)}/{assignment}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    coursedir, config, grading = make_course(tmp_path_factory.mktemp("course") / "course", seed=2024)
    rows = {}
    for assignment in ASSIGNMENTS:
        released = notebook(coursedir, coursedir.release_directory, assignment)
        solved = solved_copy(released, notebook(coursedir, coursedir.source_directory, assignment))
        function, wrong, _ = WRONG[assignment]
        for student, nb in (("solutions", solved), ("blank", released), ("wrong", with_answer(solved, function, wrong))):
            write_submission(nb, submission_path(coursedir, student, assignment))
        for row in grade_batch(coursedir, config, grading, assignment, jobs=2):
            rows[(row.student, row.assignment)] = row
    return {"config": config, "coursedir": coursedir, "rows": rows}


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


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_wrong_answer_loses_the_points_of_the_cells_that_use_it(course, assignment):
    row = course["rows"][("wrong", assignment)]
    assert row.status == "graded", row.message
    lost = {part.grade_id for part in row.parts if part.score < part.max_score}
    assert lost >= WRONG[assignment][2]
    first_lost = min(i for i, part in enumerate(row.parts) if part.grade_id in lost)
    assert all(part.score == part.max_score for part in row.parts[:first_lost])
    with Gradebook(course["coursedir"].db_url, course["coursedir"].course_id) as gradebook:
        for grade_id in lost:
            assert gradebook.find_grade(grade_id, assignment, assignment, "wrong").score == 0


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


@pytest.mark.parametrize("module", ["autograder.nbgrader.generate", "autograder.grading.demo"])
def test_commands_exit_nonzero_on_a_broken_config(tmp_path, module):
    path = tmp_path / "nbgrader_config.py"
    path.write_text(BROKEN_CONFIGS["syntax error"])
    result = subprocess.run([sys.executable, "-m", module, "--config", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "does not load" in result.stderr and str(path) in result.stderr
