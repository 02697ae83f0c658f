"""Grades written into nbgrader gradebooks by autograder.grading.gradebook: several processes at
once on a real PostgreSQL server (tests/pg_server.py) give the same gradebook as one writer on sqlite."""
import multiprocessing
import random
import shutil

import pytest
from nbgrader.api import Gradebook
from nbgrader.converters import GenerateAssignment

from autograder.grading.gradebook import record_result, record_results
from autograder.grading.results import PartResult, SubmissionResult
from autograder.nbgrader.course import (DEFAULT_CONFIG, REPO_ROOT, course_directory, load_course_config,
                                        quiet_nbgrader_logs, run_step)

pytest_plugins = ["pg_server"]

ASSIGNMENTS = ("lstm", "gru")
WRITERS = 3


def generated_gradebook(root, db_url):
    """A course directory whose gradebook at db_url holds ASSIGNMENTS, as nbgrader generate_assignment
    leaves it; returns the course id."""
    quiet_nbgrader_logs()
    config = load_course_config(DEFAULT_CONFIG)
    for assignment in ASSIGNMENTS:
        shutil.copytree(REPO_ROOT / "solutions" / assignment, root / "solutions" / assignment)
    coursedir = course_directory(root, config, db_url=db_url)
    for assignment in ASSIGNMENTS:
        run_step(GenerateAssignment, coursedir, config, assignment)
    return coursedir.course_id


def grade_cells(db_url, course_id):
    """{assignment: {grade cell name: max score}} of a gradebook."""
    with Gradebook(db_url, course_id) as gradebook:
        return {a.name: {cell.name: cell.max_score for nb in a.notebooks for cell in nb.grade_cells}
                for a in gradebook.assignments}


def gradebook_contents(db_url, course_id):
    """Every grade of every submission, and each submission's total, as plain values."""
    rows = {}
    with Gradebook(db_url, course_id) as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                key = (submission.student.id, assignment.name)
                rows[key + ("total",)] = (submission.score, submission.max_score)
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        rows[key + (grade.name,)] = (grade.auto_score, grade.manual_score,
                                                     grade.needs_manual_grade, grade.score)
    return rows


def synthetic_results(cells, n_students=16, seed=8):
    """Results of every student on every assignment (mixed statuses), then regrades of a few."""
    rng = random.Random(seed)
    first, regrades = [], []
    for i in range(n_students):
        for assignment in ASSIGNMENTS:
            status = rng.choice(["graded"] * 6 + ["flagged", "timeout", "crashed"])
            parts = [] if status in ("timeout", "crashed") else [
                PartResult(grade_id, grade_id, rng.choice([0.0, max_score / 2, max_score]), max_score)
                for grade_id, max_score in cells[assignment].items()]
            if parts and rng.random() < 0.3:
                parts = parts[1:]                  # a part the grader did not report scores 0
            result = SubmissionResult(f"s{i:02d}", assignment, status, parts=parts,
                                      score=sum(p.score for p in parts),
                                      max_score=sum(cells[assignment].values()))
            first.append(result)
            if rng.random() < 0.2:
                regrades.append(SubmissionResult(result.student, assignment, "graded", parts=[
                    PartResult(g, g, m, m) for g, m in cells[assignment].items()]))
    return first, regrades


def expected_contents(results, cells):
    """(auto score, needs manual grade) of each grade, from the last result of each submission."""
    last = {(r.student, r.assignment): r for r in results}
    expected = {}
    for (student, assignment), result in last.items():
        scores = {p.grade_id: p.score for p in result.parts}
        for grade_id in cells[assignment]:
            expected[student, assignment, grade_id] = (scores.get(grade_id, 0.0), result.status == "flagged")
    return expected


@pytest.fixture(scope="module")
def gradebooks(postgres_url, tmp_path_factory):
    """(course id, sqlite URL, PostgreSQL URL): the same assignments generated into both."""
    sqlite_url = f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/gradebook.db"
    course_id = generated_gradebook(tmp_path_factory.mktemp("course_sqlite"), sqlite_url)
    assert generated_gradebook(tmp_path_factory.mktemp("course_pg"), postgres_url) == course_id
    return course_id, sqlite_url, postgres_url


def test_parallel_writers_on_postgres_equal_one_writer_on_sqlite(gradebooks):
    course_id, sqlite_url, postgres_url = gradebooks
    cells = grade_cells(postgres_url, course_id)
    assert cells == grade_cells(sqlite_url, course_id)
    assert all(len(cells[a]) >= 3 for a in ASSIGNMENTS)
    first, regrades = synthetic_results(cells)

    record_results(sqlite_url, course_id, first + regrades)

    # Each writer owns some submissions (a student's two assignments go to different writers, so
    # writers race to create the same student); a regrade goes to the writer of that submission.
    keys = [(r.student, r.assignment) for r in first]
    writer_of = {key: i % WRITERS for i, key in enumerate(keys)}
    shares = [[r for r in first + regrades if writer_of[r.student, r.assignment] == w] for w in range(WRITERS)]
    # forkserver: the writers start from a clean process that imported nbgrader once (spawn imports it in
    # each; fork would copy this process's threads' locks)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["autograder.grading.gradebook"])
    with context.Pool(WRITERS) as pool:
        pool.starmap(record_results, [(postgres_url, course_id, share) for share in shares])

    on_postgres = gradebook_contents(postgres_url, course_id)
    assert on_postgres == gradebook_contents(sqlite_url, course_id)
    assert sum(1 for key in on_postgres if key[2] == "total") == len(keys)
    expected = expected_contents(first + regrades, cells)
    got = {key: (values[0], values[2]) for key, values in on_postgres.items() if key[2] != "total"}
    assert got == expected
    # a student's total is the sum of the last result's parts
    for result in {(r.student, r.assignment): r for r in first + regrades}.values():
        total = on_postgres[result.student, result.assignment, "total"]
        assert total == (sum(p.score for p in result.parts), sum(cells[result.assignment].values()))


def test_a_manual_score_is_kept_and_marked_for_review(gradebooks):
    course_id, sqlite_url, _ = gradebooks
    cells = grade_cells(sqlite_url, course_id)["lstm"]
    grade_id, max_score = next(iter(cells.items()))
    parts = [PartResult(g, g, 0.0, m) for g, m in cells.items()]
    record_result(sqlite_url, course_id, SubmissionResult("reviewed", "lstm", "graded", parts=parts))
    with Gradebook(sqlite_url, course_id) as gradebook:
        grade = gradebook.find_grade(grade_id, "lstm", "lstm", "reviewed")
        assert grade.needs_manual_grade is False
        grade.manual_score = max_score
        gradebook.db.commit()

    record_result(sqlite_url, course_id, SubmissionResult("reviewed", "lstm", "graded", parts=parts))
    with Gradebook(sqlite_url, course_id) as gradebook:
        grade = gradebook.find_grade(grade_id, "lstm", "lstm", "reviewed")
        assert (grade.auto_score, grade.manual_score, grade.needs_manual_grade) == (0.0, max_score, True)
        assert grade.score == max_score


def test_a_part_the_gradebook_does_not_know_is_refused(gradebooks):
    course_id, sqlite_url, _ = gradebooks
    wrong = SubmissionResult("x", "lstm", "graded", parts=[PartResult("no_such_cell", "lstm.x", 1.0, 1.0)])
    with pytest.raises(ValueError, match="no_such_cell"):
        record_result(sqlite_url, course_id, wrong)
    with Gradebook(sqlite_url, course_id) as gradebook:
        assert "x" not in {student.id for student in gradebook.students}
