"""A whole grading round on embedded defaults: course directory under _build/grading/ (sqlite gradebook
there), demonstration submissions, nbgrader autograde, feedback without hidden tests, CSV export.

    python -m autograder.nbgrader.grade_demo [--course-dir DIR] [--config FILE]

The demonstration students:
  alice  the solutions, all four notebooks                  -> full marks
  bob    the blank lstm release                             -> 0, only "not implemented yet"
  carol  gru with the reset gate applied before the product (Cho et al. v3 / d2l) -> partial credit
  dave   a truncated rnn notebook and a misnamed lstm file  -> "invalid" and "missing" rows
"""
import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

import nbformat
from nbgrader.converters import GenerateAssignment

from .course import (ASSIGNMENTS, DEFAULT_CONFIG, REPO_ROOT, CourseConfigError, course_directory,
                     load_course_config, quiet_nbgrader_logs, run_step)
from .grading import autograde_all, export_csv, format_table, generate_feedback, submission_path
from .submissions import solved_copy, with_answer, write_submission

DEFAULT_COURSE_DIR = REPO_ROOT / "_build" / "grading"

RESET_BEFORE_PRODUCT = '''def gru_candidate(x, h, r, W_in, W_hn, b_in, b_hn):
    """n = tanh(x W_in^T + b_in + (r * h) W_hn^T + b_hn): the reset gate before the product."""
    return torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)'''


def set_up_course(course_dir, config, config_path):
    """A fresh course directory: sources copied from solutions/, the config, released notebooks."""
    if course_dir.exists():
        shutil.rmtree(course_dir)
    source_dir = config.CourseDirectory.source_directory
    shutil.copytree(REPO_ROOT / "solutions", course_dir / source_dir,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copy(config_path, course_dir / "nbgrader_config.py")
    coursedir = course_directory(course_dir, config)
    for assignment in ASSIGNMENTS:
        run_step(GenerateAssignment, coursedir, config, assignment)
    return coursedir


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
    return pairs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course-dir", default=str(DEFAULT_COURSE_DIR))
    parser.add_argument("--config", default=str(DEFAULT_CONFIG))
    parser.add_argument("--verbose", action="store_true", help="show nbgrader's own warnings")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        quiet_nbgrader_logs()
    try:
        config = load_course_config(args.config)
    except CourseConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    start = time.perf_counter()
    coursedir = set_up_course(Path(args.course_dir), config, args.config)
    pairs = write_demo_submissions(coursedir)
    print(f"course directory {coursedir.root}: {len(ASSIGNMENTS)} assignments released, "
          f"{len(pairs)} submissions ({time.perf_counter() - start:.1f} s)")

    graded_at = time.perf_counter()
    rows = autograde_all(coursedir, config, pairs)
    print(f"autograde: {time.perf_counter() - graded_at:.1f} s")
    feedback = generate_feedback(coursedir, config, rows)
    print(f"feedback: {len(feedback)} HTML files, none shows hidden test code")
    csv_path = export_csv(coursedir, config, Path(coursedir.root) / "grades.csv")
    print(f"grades exported to {csv_path}")
    print()
    print(format_table(rows))
    print(f"\ntotal {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
