"""The instructor's commands.

    python -m autograder course DIR [--seed N]
        make or update an nbgrader course directory from the repository (sources, configuration,
        released notebooks, grading.json with a random term seed)
    python -m autograder grade ASSIGNMENT --course-dir DIR [--student ID ...] [--jobs N]
        grade DIR/submitted/<student>/ASSIGNMENT/ in sandboxes; print one status row per submission
"""
import argparse
import logging
import sys
import time

from autograder.nbgrader.course import ASSIGNMENTS, CourseConfigError, course_directory, load_course_config, \
    quiet_nbgrader_logs


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    course = commands.add_parser("course", help="make or update an nbgrader course directory")
    course.add_argument("course_dir")
    course.add_argument("--seed", type=int, help="term seed of the hidden cases (default: random, first time)")
    course.add_argument("--assignment", action="append", choices=ASSIGNMENTS, help="default: all four")
    grade = commands.add_parser("grade", help="grade the submissions of one assignment")
    grade.add_argument("assignment", choices=ASSIGNMENTS)
    grade.add_argument("--course-dir", required=True)
    grade.add_argument("--student", action="append", help="grade only these students (repeatable)")
    grade.add_argument("--jobs", type=int, default=None, help="submissions graded at once (default: cores)")
    grade.add_argument("--unsafe-no-sandbox", action="store_true",
                       help="run student code WITHOUT a sandbox (only for trusted notebooks)")
    parser.add_argument("--verbose", action="store_true", help="show nbgrader's own log")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        quiet_nbgrader_logs()
    try:
        if args.command == "course":
            return _course(args)
        return _grade(args)
    except (CourseConfigError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _course(args):
    from autograder.grading.course_dir import make_course
    coursedir, _, grading = make_course(args.course_dir, args.assignment or ASSIGNMENTS, seed=args.seed)
    print(f"course directory {coursedir.root}: sources, releases and gradebook ready; "
          f"hidden cases from the term seed in grading.json (device {grading.device})")
    return 0


def _grade(args):
    from pathlib import Path

    from autograder.grading.batch import grade_batch, status_table, summary
    from autograder.grading.config import load_grading_config
    from autograder.grading.sandbox import SandboxUnavailable, check_sandbox

    course_dir = Path(args.course_dir).resolve()
    config = load_course_config(course_dir / "nbgrader_config.py")
    grading = load_grading_config(course_dir)
    if args.unsafe_no_sandbox:
        print("WARNING: grading WITHOUT a sandbox: student code runs with your permissions and can read, "
              "change or delete anything you can. Use this only for notebooks you trust.", file=sys.stderr)
    else:
        try:
            check_sandbox()
        except SandboxUnavailable as error:
            print(f"error: no sandbox on this machine ({error}); refusing to run student code. "
                  "Install bubblewrap and run as root, or pass --unsafe-no-sandbox for trusted notebooks.",
                  file=sys.stderr)
            return 2
    coursedir = course_directory(course_dir, config)
    start = time.perf_counter()
    results = grade_batch(coursedir, config, grading, args.assignment, args.student, args.jobs,
                          unsafe=args.unsafe_no_sandbox)
    print(status_table(results))
    print(f"\n{len(results)} submissions ({summary(results)}) in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
