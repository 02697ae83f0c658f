"""Autograde timings: each hidden check on the reference solutions, and nbgrader autograde per notebook.

    python benchmarks/bench_autograde.py [--repeat N]

Part 1 calls every hidden check in this process (as the hidden test cells do) and flags any over the
1 s budget. Part 2 grades the solved notebooks in a scratch course directory with the sandboxed grader,
one notebook at a time (the first one also starts the warm sandbox: torch and the course imported).
"""
import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.hidden import grade
from autograder.grading.batch import grade_batch
from autograder.grading.sandbox import close_servers
from autograder.nbgrader.course import ASSIGNMENTS, DEFAULT_CONFIG, REPO_ROOT, quiet_nbgrader_logs
from autograder.grading.demo import notebook, set_up_course
from autograder.nbgrader.grading import submission_path
from autograder.nbgrader.submissions import solved_copy, strip_solution_markers, write_submission
from autograder.checks.specs import SPECS

HIDDEN_TEST_BUDGET_S = 1.0


def solution_namespace(assignment):
    """The functions of a source notebook's answer cells, defined as a student kernel would."""
    nb = nbformat.read(str(REPO_ROOT / "solutions" / assignment / f"{assignment}.ipynb"), as_version=4)
    namespace = {}
    for cell in nb.cells:
        if cell.id == "setup" or cell.metadata.get("nbgrader", {}).get("solution"):
            exec(strip_solution_markers(cell.source), namespace)
    return namespace


def time_hidden_checks(repeat):
    slow = []
    print(f"{'hidden check':<40} {'cases':>5} {'best of ' + str(repeat):>12}")
    for assignment in ASSIGNMENTS:
        namespace = solution_namespace(assignment)
        for check_id in [c for c in SPECS if c.startswith(assignment + ".")]:
            fn = namespace[check_id.split(".")[1]]
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):  # grade() prints a line per check
                    result = grade(check_id, fn)
                times.append(time.perf_counter() - start)
            best = min(times)
            flag = "  SLOW" if best > HIDDEN_TEST_BUDGET_S else ""
            print(f"{check_id:<40} {result.cases:>5} {best * 1000:>9.1f} ms{flag}")
            if flag:
                slow.append(check_id)
    return slow


def time_autograde():
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as scratch:
        coursedir, config, grading = set_up_course(Path(scratch) / "course", DEFAULT_CONFIG)
        for assignment in ASSIGNMENTS:
            released = notebook(coursedir, coursedir.release_directory, assignment)
            source = notebook(coursedir, coursedir.source_directory, assignment)
            write_submission(solved_copy(released, source), submission_path(coursedir, "bench", assignment))
        print(f"\n{'sandboxed grading (solved)':<40} {'wall':>12}  score")
        total = 0.0
        try:
            for assignment in ASSIGNMENTS:
                start = time.perf_counter()
                (row,) = grade_batch(coursedir, config, grading, assignment, ["bench"], jobs=1, keep_servers=True)
                elapsed = time.perf_counter() - start
                total += elapsed
                print(f"{assignment:<40} {elapsed:>10.2f} s  {row.score:g}/{row.max_score:g} {row.status}")
        finally:
            close_servers()
        print(f"{'all four':<40} {total:>10.2f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per hidden check (best is shown)")
    args = parser.parse_args(argv)
    quiet_nbgrader_logs()
    slow = time_hidden_checks(args.repeat)
    time_autograde()
    if slow:
        print(f"\nover the {HIDDEN_TEST_BUDGET_S:g} s budget: {', '.join(slow)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
