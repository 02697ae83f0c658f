"""Validate the nbgrader sources in solutions/ and generate the student notebooks in exercises/.

    python -m autograder.nbgrader.generate [--config FILE] [--no-validate] [--course-root DIR] [ASSIGNMENT ...]

Validation executes each source notebook (solutions, visible and hidden tests, every other code cell)
and fails on any error. Generation is nbgrader's generate_assignment with the course config; its
gradebook is a throwaway sqlite file, so nothing but exercises/ changes.
"""
import argparse
import logging
import sys
import tempfile
from pathlib import Path

from nbgrader.converters import GenerateAssignment

from .course import (ASSIGNMENTS, DEFAULT_CONFIG, REPO_ROOT, CourseConfigError, course_directory,
                     load_course_config, quiet_nbgrader_logs, run_step, validate_notebook)


def source_notebook(course_root, assignment, config):
    return Path(course_root) / config.CourseDirectory.source_directory / assignment / f"{assignment}.ipynb"


def validate_sources(course_root, assignments, config):
    """{assignment: [problems]} for the sources that do not validate."""
    failures = {}
    for assignment in assignments:
        path = source_notebook(course_root, assignment, config)
        if not path.is_file():
            failures[assignment] = [f"source notebook missing: {path}"]
            continue
        problems = validate_notebook(path, config)
        if problems:
            failures[assignment] = problems
    return failures


def generate(course_root, assignments, config):
    """Run generate_assignment for each assignment under course_root (sources -> release directory)."""
    with tempfile.TemporaryDirectory(prefix="nbgrader-generate-") as scratch:
        coursedir = course_directory(course_root, config, db_url=f"sqlite:///{scratch}/gradebook.db")
        for assignment in assignments:
            path = source_notebook(course_root, assignment, config)
            if not path.is_file():
                raise FileNotFoundError(f"source notebook missing: {path}")
            run_step(GenerateAssignment, coursedir, config, assignment)
    release = Path(course_root) / config.CourseDirectory.release_directory
    return [release / a / f"{a}.ipynb" for a in assignments]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=list(ASSIGNMENTS), help="default: every assignment")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="nbgrader config file")
    parser.add_argument("--course-root", default=str(REPO_ROOT),
                        help="directory holding solutions/ (exercises/ is written next to it)")
    parser.add_argument("--no-validate", action="store_true", help="skip executing the sources")
    parser.add_argument("--verbose", action="store_true", help="show nbgrader's own warnings")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # "Removing existing assignment" and the like; errors still show
        quiet_nbgrader_logs()

    unknown = sorted(set(args.assignments) - set(ASSIGNMENTS))
    if unknown:
        parser.error(f"unknown assignment(s) {unknown}; choose from {list(ASSIGNMENTS)}")
    try:
        config = load_course_config(args.config)
    except CourseConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    if not args.no_validate:
        failures = validate_sources(args.course_root, args.assignments, config)
        for assignment, problems in failures.items():
            print(f"error: solutions/{assignment} does not validate:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
        if failures:
            return 1
        print(f"validated: {', '.join(args.assignments)}")

    for path in generate(args.course_root, args.assignments, config):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
