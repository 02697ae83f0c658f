"""The instructor's commands.

    python -m autograder course DIR [--seed N]
        make or update an nbgrader course directory from the repository (sources, configuration,
        released notebooks, grading.json with a random term seed)
    python -m autograder grade ASSIGNMENT [ASSIGNMENT ...] --course-dir DIR [--student ID ...] [--jobs N]
                               [--dask | --scheduler tcp://HOST:PORT] [--report FILE]
        grade DIR/submitted/<student>/ASSIGNMENT/ in sandboxes; print one status row per submission,
        write an instructor report (HTML) and the grades for an LMS (CSV); exits 1 when a row is `error`
        (a grader failure, not a student's), 2 when it cannot grade at all
    python -m autograder feedback ASSIGNMENT [ASSIGNMENT ...] --course-dir DIR [--report FILE]
        feedback HTML (no hidden test code) for every graded submission, each on its own, then the report again
        with links to it; exits 1 when a submission's feedback could not be made (the others are made)
    python -m autograder review ASSIGNMENT --course-dir DIR --student ID (--accept | --reject) [--note TEXT]
        a person's decision on a flagged submission: accept credits what its checks gave, reject keeps 0
"""
import argparse
import gc
import logging
import sys
import time

if __name__ == "__main__":
    # A command of its own (not imported by a test): nbformat imports jsonschema, which builds a parser
    # for the optional "iri" format check of rfc3987_syntax at import (1.4 s). Nothing here checks
    # formats (nbformat validates notebooks without a format checker), so that module is never loaded.
    sys.modules.setdefault("rfc3987_syntax", None)

from autograder.nbgrader.course import ASSIGNMENTS, CourseConfigError, course_directory, load_course_config, \
    quiet_nbgrader_logs


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    course = commands.add_parser("course", help="make or update an nbgrader course directory")
    course.add_argument("course_dir")
    course.add_argument("--seed", type=int, help="term seed of the hidden cases (default: random, first time)")
    course.add_argument("--assignment", action="append", choices=ASSIGNMENTS, help="default: every assignment")
    grade = commands.add_parser("grade", help="grade the submissions of one assignment")
    grade.add_argument("assignments", nargs="+", choices=ASSIGNMENTS, metavar="ASSIGNMENT")
    grade.add_argument("--course-dir", required=True)
    grade.add_argument("--student", action="append", help="grade only these students (repeatable)")
    grade.add_argument("--jobs", type=int, default=None, help="submissions graded at once (default: cores)")
    grade.add_argument("--dask", action="store_true", help="grade on a local Dask cluster (--jobs workers)")
    grade.add_argument("--scheduler", help="grade on an existing Dask cluster: tcp://host:port")
    grade.add_argument("--report", help="instructor report (HTML; default DIR/reports/ASSIGNMENT.html)")
    grade.add_argument("--unsafe-no-sandbox", action="store_true",
                       help="run student code WITHOUT a sandbox (only for trusted notebooks)")
    feedback = commands.add_parser("feedback", help="feedback files for the graded submissions, then the report")
    feedback.add_argument("assignments", nargs="+", choices=ASSIGNMENTS, metavar="ASSIGNMENT")
    feedback.add_argument("--course-dir", required=True)
    feedback.add_argument("--report", help="instructor report to write again with the feedback links")
    review = commands.add_parser("review", help="accept or reject a flagged submission")
    review.add_argument("assignment", choices=ASSIGNMENTS)
    review.add_argument("--course-dir", required=True)
    review.add_argument("--student", required=True)
    decision = review.add_mutually_exclusive_group(required=True)
    decision.add_argument("--accept", action="store_true", help="credit the score its checks gave")
    decision.add_argument("--reject", action="store_true", help="keep 0")
    review.add_argument("--note", default="", help="why (kept with the result, shown in the report)")
    parser.add_argument("--verbose", action="store_true", help="show nbgrader's and Dask's own logs")
    args = parser.parse_args(argv)
    try:
        return _command(args)
    finally:  # the collector as it was before _grade's start-up (a caller may run several commands)
        gc.unfreeze()
        gc.enable()


def _command(args):
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        quiet_nbgrader_logs()
    try:
        if args.command == "course":
            return _course(args)
        if args.command == "review":
            return _review(args)
        if args.command == "feedback":
            return _feedback(args)
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


def _review(args):
    from pathlib import Path

    from autograder.grading.review import review
    from autograder.grading.safe_text import printable
    course_dir = Path(args.course_dir).resolve()
    coursedir = course_directory(course_dir, load_course_config(course_dir / "nbgrader_config.py"))
    result = review(coursedir, args.assignment, args.student, accept=args.accept, note=args.note)
    print(f"{printable(result.student)} {result.assignment}: flagged, {result.review} by review: "
          f"{result.score:g}/{result.max_score:g} recorded in the gradebook")
    return 0


def _write_report(coursedir, course_dir, assignments, results, path=None):
    """The instructor report and the LMS CSV of `results`; returns the report's path."""
    from pathlib import Path

    from autograder.grading.batch import answers_of
    from autograder.grading.report import write_csv, write_report
    from autograder.nbgrader.grading import feedback_and_notebook
    report = Path(path) if path else course_dir / "reports" / f"{'-'.join(assignments)}.html"
    report.parent.mkdir(parents=True, exist_ok=True)
    write_report(results, report, title=f"Grading report: {', '.join(assignments)}",
                 answers=answers_of(coursedir, results), course_dir=course_dir,
                 files=lambda row: feedback_and_notebook(coursedir, row))
    write_csv(results, report.with_suffix(".csv"))
    return report


def _feedback(args):
    from pathlib import Path

    from autograder.grading.batch import previous_result, students_of
    from autograder.grading.safe_text import printable
    from autograder.nbgrader.grading import feedback_for
    course_dir = Path(args.course_dir).resolve()
    config = load_course_config(course_dir / "nbgrader_config.py")
    coursedir = course_directory(course_dir, config)
    results = [result for a in args.assignments for s in students_of(coursedir, a)
               if (result := previous_result(coursedir, s, a)) is not None]
    files, problems = feedback_for(coursedir, config, results)
    for (student, assignment), why in problems.items():
        print(f"{printable(student)} {assignment}: no feedback: {why}", file=sys.stderr)
    report = _write_report(coursedir, course_dir, args.assignments, results, args.report)
    print(f"feedback: {len(files)} HTML files under {coursedir.feedback_directory}/; "
          f"{len(problems)} without; report with links: {report}")
    return 1 if problems else 0


def _grade(args):
    gc.disable()  # until _started(): the imports make long-lived objects, hardly any garbage
    from pathlib import Path

    from autograder.grading.config import load_grading_config
    from autograder.grading.sandbox import SandboxCheck, SandboxUnavailable, batch_runtime, close_servers

    course_dir = Path(args.course_dir).resolve()
    grading = load_grading_config(course_dir)
    sandbox_check = None
    if args.unsafe_no_sandbox:
        print("WARNING: grading WITHOUT a sandbox: student code runs with your permissions and can read, "
              "change or delete anything you can. Use this only for notebooks you trust.", file=sys.stderr)
    else:
        try:  # its fork server starts now and imports torch in its own process while this one imports below
            local = not (args.dask or args.scheduler)   # Dask workers start their own servers
            sandbox_check = SandboxCheck(batch_runtime(), grading.limits) if local else SandboxCheck()
        except SandboxUnavailable as error:
            return _no_sandbox(error)
    try:
        from autograder.grading.batch import batch_device, grade_batches, source_file, students_of, summary
        from autograder.grading.results import format_table
        from autograder.grading.pipeline import prepare_references_for, warm_host
        from autograder.grading.progress import BatchProgress

        config = load_course_config(course_dir / "nbgrader_config.py")
        coursedir = course_directory(course_dir, config)
        if not (args.dask or args.scheduler):  # while the fork server starts (Dask workers judge on their own)
            warm_host()
            for assignment in args.assignments:
                prepare_references_for(str(source_file(coursedir, assignment)), batch_device(grading), grading.seed)
        if sandbox_check is not None:
            try:
                print(sandbox_check.result(), file=sys.stderr)
            except SandboxUnavailable as error:
                return _no_sandbox(error)
        if (args.dask or args.scheduler) and not args.verbose:
            from autograder.grading.distributed import quiet_dask_logs
            quiet_dask_logs()
        _started()
        start = time.perf_counter()
        batches = {a: args.student or students_of(coursedir, a) for a in args.assignments}
        progress = BatchProgress(total=sum(len(students) for students in batches.values()))
        progress.start_ticker()
        results = grade_batches(coursedir, config, grading, batches, args.jobs, unsafe=args.unsafe_no_sandbox,
                                dask=args.dask, scheduler=args.scheduler,
                                on_result=progress.finished, keep_servers=True, on_start=progress.started)
        progress.close()
    finally:
        if sandbox_check is not None:
            sandbox_check.close()
        close_servers()
    print(format_table(results))
    print(f"\n{len(results)} submissions ({summary(results)}) in {time.perf_counter() - start:.1f} s")
    report = _write_report(coursedir, course_dir, args.assignments, results, args.report)
    print(f"report: {report}; grades for an LMS: {report.with_suffix('.csv')}")
    errors = sum(result.status == "error" for result in results)
    if errors:
        print(f"error: {errors} submission(s) could not be graded because the grader failed (status `error`); "
              "their rows say why", file=sys.stderr)
        return 1
    return 0


def _no_sandbox(error):
    print(f"error: no sandbox on this machine ({error}); refusing to run student code. "
          "Install bubblewrap and run as root, or pass --unsafe-no-sandbox for trusted notebooks.",
          file=sys.stderr)
    return 2


def _started():
    """The command's start-up is over: what it imported lives to the end, so the collector stops
    scanning it (with about 500,000 objects, each full collection cost 0.1-0.4 s) and runs again for
    what grading makes."""
    gc.freeze()
    gc.enable()


if __name__ == "__main__":
    code = main()
    gc.freeze()  # nothing left to collect: the interpreter's teardown skips its full collections (1-2 s)
    sys.exit(code)
