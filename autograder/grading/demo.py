"""A whole grading round on embedded defaults: course directory under _build/grading/ (sqlite gradebook
there, made by `python -m autograder course`), demonstration submissions, sandboxed grading (`python -m
autograder grade`, one pool for every assignment), the instructor report (reports/demo.html), feedback
without hidden tests, CSV export.

    python -m autograder.grading.demo [--course-dir DIR] [--config FILE] [--unsafe-no-sandbox]

The demonstration students:
  alice  the solutions, every notebook                     -> full marks
  bob    the blank lstm release                             -> 0, only "not implemented yet"
  carol  gru with the reset gate applied before the product (Cho et al. v3 / d2l) -> partial credit
  dave   a truncated rnn notebook and a misnamed lstm file  -> "invalid" and "missing" rows
  mallory an lstm answer that replaces the comparison in sys.modules -> "flagged", 0 points
"""
import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

import nbformat
from autograder.grading.batch import answers_of, grade_batches, summary
from autograder.grading.report import write_report
from autograder.grading.course_dir import make_course
from autograder.grading.sandbox import SandboxUnavailable, check_sandbox
from autograder.nbgrader.course import (ASSIGNMENTS, DEFAULT_CONFIG, REPO_ROOT, CourseConfigError, load_course_config,
                                        quiet_nbgrader_logs)
from autograder.grading.results import format_table
from autograder.nbgrader.grading import export_csv, feedback_and_notebook, generate_feedback, submission_path
from autograder.nbgrader.submissions import solved_copy, with_answer, write_submission

DEFAULT_COURSE_DIR = REPO_ROOT / "_build" / "grading"
DEMO_SEED = 1701

RESET_BEFORE_PRODUCT = '''def gru_candidate(x, h, r, W_in, W_hn, b_in, b_hn):
    """n = tanh(x W_in^T + b_in + (r * h) W_hn^T + b_hn): the reset gate before the product."""
    return torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)'''

PATCH_THE_COMPARISON = '''import sys
sys.modules["autograder.checks.compare"].compare = lambda *args, **kwargs: None
def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    return x'''


# What each demonstration submission must end with (the docstring's promise; `make all` fails otherwise).
EXPECTED_STATUS = {("bob", "lstm"): "graded", ("carol", "gru"): "graded", ("dave", "rnn"): "invalid",
                   ("dave", "lstm"): "missing", ("mallory", "lstm"): "flagged",
                   **{("alice", a): "graded" for a in ASSIGNMENTS}}


def broken_promises(rows):
    """What differs from the docstring's promise, one line per submission (empty when all is as promised)."""
    problems = []
    for row in rows:
        want = EXPECTED_STATUS.get((row.student, row.assignment))
        if row.status != want:
            problems.append(f"{row.student}/{row.assignment}: status {row.status} ({row.message}), expected {want}")
        elif row.student == "alice" and row.score != row.max_score:
            problems.append(f"alice/{row.assignment}: {row.score:g}/{row.max_score:g}, expected full marks")
        elif row.student == "carol" and not 0 < row.score < row.max_score:
            problems.append(f"carol/gru: {row.score:g}/{row.max_score:g}, expected partial credit")
        elif row.student in ("bob", "mallory") and row.score != 0:
            problems.append(f"{row.student}/{row.assignment}: {row.score:g}, expected 0")
    return problems


def set_up_course(course_dir, config_path):
    """A fresh course directory made by `python -m autograder course` (fixed demo seed)."""
    if course_dir.exists():
        shutil.rmtree(course_dir)
    return make_course(course_dir, seed=DEMO_SEED, config_template=config_path)


def notebook(coursedir, step, assignment):
    folder = coursedir.format_path(step, ".", assignment)
    return nbformat.read(str(Path(folder) / f"{assignment}.ipynb"), as_version=4)


def write_demo_submissions(coursedir):
    """The demonstration submissions; returns the (student, assignment) pairs to grade."""
    def released(a):
        return notebook(coursedir, coursedir.release_directory, a)

    def source(a):
        return notebook(coursedir, coursedir.source_directory, a)

    pairs = []
    for assignment in ASSIGNMENTS:
        write_submission(solved_copy(released(assignment), source(assignment)),
                         submission_path(coursedir, "alice", assignment))
        pairs.append(("alice", assignment))

    write_submission(released("lstm"), submission_path(coursedir, "bob", "lstm"))
    pairs.append(("bob", "lstm"))

    carol = with_answer(solved_copy(released("gru"), source("gru")), "gru_candidate", RESET_BEFORE_PRODUCT)
    write_submission(carol, submission_path(coursedir, "carol", "gru"))
    pairs.append(("carol", "gru"))

    truncated = submission_path(coursedir, "dave", "rnn")
    write_submission(solved_copy(released("rnn"), source("rnn")), truncated)
    text = truncated.read_text()
    truncated.write_text(text[: len(text) // 2])
    pairs.append(("dave", "rnn"))

    misnamed = submission_path(coursedir, "dave", "lstm")
    write_submission(released("lstm"), misnamed.with_name("lstm (1).ipynb"))
    pairs.append(("dave", "lstm"))

    write_submission(with_answer(released("lstm"), "forget_gate", PATCH_THE_COMPARISON),
                     submission_path(coursedir, "mallory", "lstm"))
    pairs.append(("mallory", "lstm"))
    return pairs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course-dir", default=str(DEFAULT_COURSE_DIR))
    parser.add_argument("--config", default=str(DEFAULT_CONFIG))
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--unsafe-no-sandbox", action="store_true", help="grade without a sandbox (trusted code)")
    parser.add_argument("--verbose", action="store_true", help="show nbgrader's own warnings")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        quiet_nbgrader_logs()
    try:
        load_course_config(args.config)
        if not args.unsafe_no_sandbox:
            print(check_sandbox())
    except (CourseConfigError, SandboxUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    start = time.perf_counter()
    coursedir, config, grading = set_up_course(Path(args.course_dir), args.config)
    pairs = write_demo_submissions(coursedir)
    print(f"course directory {coursedir.root}: {len(ASSIGNMENTS)} assignments released, "
          f"{len(pairs)} submissions ({time.perf_counter() - start:.1f} s)")

    graded_at = time.perf_counter()
    batches = {a: sorted({student for student, assignment in pairs if assignment == a}) for a in ASSIGNMENTS}
    rows = grade_batches(coursedir, config, grading, batches, args.jobs, unsafe=args.unsafe_no_sandbox)
    print(f"{len(rows)} submissions of {len(batches)} assignments graded in sandboxes, one pool "
          f"({summary(rows)}), {time.perf_counter() - graded_at:.1f} s")
    feedback = generate_feedback(coursedir, config, rows)
    print(f"feedback: {len(feedback)} HTML files, none shows hidden test code")
    report = Path(coursedir.root) / "reports" / "demo.html"
    report.parent.mkdir(parents=True, exist_ok=True)
    write_report(rows, report, title="Grading report: demonstration round", answers=answers_of(coursedir, rows),
                 course_dir=coursedir.root, files=lambda row: feedback_and_notebook(coursedir, row))
    print(f"instructor report: {report}")
    csv_path = export_csv(coursedir, config, Path(coursedir.root) / "grades.csv")
    print(f"grades exported to {csv_path}")
    print()
    print(format_table(rows))
    print(f"\ntotal {time.perf_counter() - start:.1f} s")
    problems = broken_promises(rows)
    if problems:
        print("error: the demonstration round did not end as promised:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
