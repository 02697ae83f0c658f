"""Grading at scale: the sandboxed grader against plain `nbgrader autograde`, on the same batch.

    .venv/bin/python benchmarks/bench_grading.py [--solved 10] [--lstm 4]   (or: make bench-grading)
    .venv/bin/python benchmarks/bench_grading.py --mixed [--per-assignment 13]

By default, the acceptance of issue 19, in one run:
1. `--solved` solved submissions of each of sequence_models, rnn and gru (30 by default) graded with ONE
   `python -m autograder grade` command (2 workers) against plain `nbgrader autograde ASSIGNMENT --student
   S`, one student at a time: the ratio (goal >= 10x), every row `graded`, identical scores;
2. lstm, whose training part dominates: `--lstm` solved submissions graded by one command with 1 worker;
   the grader's time per submission (grade_one, from its result files) beyond a bare run of the same cells
   and the same checks' calls in one warm Python process, without kernel, sandbox, scan or gradebook, its
   visible-check cells made to do nothing as in the sandbox (autograder/sandbox/selfcheck_stand_in.py)
   (goal <= 0.5 s); the command's start-up (its wall time less its submissions' time) is printed apart.

With --mixed, one course directory with all four assignments and the default term seed (so nbgrader's in-kernel hidden
tests and the sandboxed checks use the same hidden cases); per assignment: correct, blank, buggy and
hostile submissions (at least 50 in all). Then, each on a fresh copy of that directory:
1. `python -m autograder grade sequence_models rnn lstm gru` (one command for the batch) with 2 workers,
   then with 1 worker;
2. plain `nbgrader autograde ASSIGNMENT --student S`, one student at a time, as an instructor would.
Prints the times, the ratio, whether every honest submission got the same grade from both, the parallel
efficiency and the projected time of 1,000 submissions on a 16-core runner.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder.checks.cases import DEFAULT_SEED
from autograder.grading.course_dir import make_course
from autograder.nbgrader.course import ASSIGNMENTS
from autograder.nbgrader.submissions import solved_copy, with_answer, write_submission

BUGS = {  # one realistic wrong answer per assignment: (answer cell, source)
    "sequence_models": ("latent_update", "def latent_update(h, x, A, B):\n    return h @ A + x @ B.T"),
    "rnn": ("rnn_cell", "def rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity='tanh'):\n"
                        "    return torch.tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T)"),
    "lstm": ("forget_gate", "def forget_gate(x, h, W_if, W_hf, b_if, b_hf):\n"
                            "    return torch.sigmoid(x @ W_if.T + h @ W_hf.T + b_hf)"),
    "gru": ("gru_candidate", "def gru_candidate(x, h, r, W_in, W_hn, b_in, b_hn):\n"
                             "    return torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)"),
}
HOSTILE = [  # (name, source of the first answer cell): each tries to pass without solving anything
    ("patch_modules", "import sys\nfor name, module in list(sys.modules.items()):\n"
                      "    if name.startswith('autograder'):\n        module.__dict__['judge'] = lambda *a, **k: None"),
    ("exit_zero", "import os\nos._exit(0)"),
    ("always_equal", "class Anything:\n    def __eq__(self, other):\n        return True\n"
                     "import builtins\nbuiltins.Anything = Anything"),
    ("private_kernels", "import torch\nkernels = torch._VF"),
]


def first_answer(nb):
    return next(c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("solution"))


def make_batch(root, per_assignment):
    course = root / "course"
    make_course(course, seed=DEFAULT_SEED)
    honest = []
    for assignment in ASSIGNMENTS:
        release = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", as_version=4)
        solved = solved_copy(release, nbformat.read(course / "source" / assignment / f"{assignment}.ipynb",
                                                    as_version=4))
        cell, bug = BUGS[assignment]
        kinds = ["correct", "blank", "buggy", *(name for name, _ in HOSTILE)]
        for index in range(per_assignment):
            kind = kinds[index % len(kinds)]
            nb = {"correct": solved, "blank": release, "buggy": with_answer(solved, cell, bug)}.get(kind)
            if nb is None:
                nb = with_answer(release, first_answer(release), dict(HOSTILE)[kind])
            student = f"s{index:03d}-{kind}"
            write_submission(nb, course / "submitted" / student / assignment / f"{assignment}.ipynb")
            if kind in ("correct", "blank", "buggy"):
                honest.append((student, assignment))
    return course, honest


def scores(course):
    with Gradebook(f"sqlite:///{course}/gradebook.db", "rnn-course") as gradebook:
        return {(s.student.id, s.assignment.name): s.score for a in gradebook.assignments
                for s in a.submissions}


def run_ours(course, workers):
    """{assignment: seconds}: one `grade` command for the whole batch; each assignment's share is the
    grading time of its submissions (the command's start-up and report are shared)."""
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", *ASSIGNMENTS, "--course-dir", str(course),
                          "--jobs", str(workers)], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-3000:])
    total = time.perf_counter() - start
    busy = {a: sum(json.loads(p.read_text())["seconds"] for p in (course / ".grading" / "results" / a).glob("*.json"))
            for a in ASSIGNMENTS}
    return {a: total * busy[a] / sum(busy.values()) for a in ASSIGNMENTS}


def run_plain_nbgrader(course):
    """{assignment: seconds}: `nbgrader autograde` once per submission."""
    nbgrader = Path(sys.executable).with_name("nbgrader")
    seconds = dict.fromkeys(ASSIGNMENTS, 0.0)
    for student_dir in sorted((course / "submitted").iterdir()):
        for assignment_dir in sorted(student_dir.iterdir()):
            start = time.perf_counter()
            subprocess.run([str(nbgrader), "autograde", assignment_dir.name, "--student", student_dir.name,
                            "--force"], cwd=course, capture_output=True, text=True, timeout=900)
            seconds[assignment_dir.name] += time.perf_counter() - start
    return seconds


ACCEPTANCE_ASSIGNMENTS = ("sequence_models", "rnn", "gru")


def solved_course(course, assignments, per_assignment):
    """A course with `per_assignment` copies of the solution of each assignment; returns the (student,
    assignment) pairs."""
    make_course(course, assignments, seed=DEFAULT_SEED)
    submissions = []
    for assignment in assignments:
        release = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", as_version=4)
        solved = solved_copy(release, nbformat.read(course / "source" / assignment / f"{assignment}.ipynb",
                                                    as_version=4))
        for index in range(per_assignment):
            student = f"s{index:03d}"
            write_submission(solved, course / "submitted" / student / assignment / f"{assignment}.ipynb")
            submissions.append((student, assignment))
    return submissions


def one_command(course, assignments, workers):
    """(wall seconds of one `grade` command, {(student, assignment): result json})."""
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", *assignments, "--course-dir", str(course),
                          "--jobs", str(workers)], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-3000:])
    rows = {(p.stem, p.parent.name): json.loads(p.read_text())
            for p in (course / ".grading" / "results").glob("*/*.json")}
    return wall, rows


BARE_RUN = """
import json, signal, sys, tempfile, time
import nbformat, torch
from IPython.core.interactiveshell import InteractiveShell
from autograder.grading.pipeline import GradingJob, sandbox_request
from autograder.grading.plan import parts_of, plan_submission
from autograder.sandbox import runner
from autograder.sandbox.observe import warm_meta_device
from autograder.sandbox.wire import read_inputs
import autograder.sandbox.selfcheck_stand_in as stand_in

sys.modules["autograder.selfcheck"] = stand_in  # the sandbox's: its visible checks do nothing, so neither here
torch.set_num_threads(1)
warm_meta_device()  # as the fork server does once, before its jobs
signal.signal(signal.SIGPROF, runner._on_timer)
signal.signal(signal.SIGALRM, runner._on_timer)
source_path, seed, assignment, *submissions = sys.argv[1:]
source = nbformat.read(source_path, as_version=4)
seconds = []
for path in submissions:
    plan = plan_submission(source, nbformat.read(path, as_version=4))
    request, inputs = sandbox_request(plan.cells, parts_of(source), GradingJob("", assignment, path, source_path,
                                                                                 int(seed), ""))
    calls = read_inputs(inputs)
    shell = InteractiveShell()
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        cells = runner.run_cells(shell, request["cells"], request["cell_seconds"])
        checks = runner.run_checks(shell.user_ns, request["checks"], calls, out, fork=False)
        seconds.append(time.perf_counter() - start)
    failed = [c for c in cells + checks if c["error"]]
    assert not failed, failed
print(json.dumps(seconds))
"""


def bare_seconds(course, assignment, students):
    """Seconds of each submission's cells and checks run in one warm process (torch imported once)."""
    run = subprocess.run([sys.executable, "-c", BARE_RUN, str(course / "source" / assignment / f"{assignment}.ipynb"),
                          str(DEFAULT_SEED), assignment,
                          *(str(course / "submitted" / s / assignment / f"{assignment}.ipynb") for s in students)],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-3000:])
    return json.loads(run.stdout.splitlines()[-1])


def acceptance(root, solved, lstm):
    """The issue's two figures; returns 0 when the batch graded right (the goals are printed, not enforced)."""
    course = root / "solved"
    submissions = solved_course(course, ACCEPTANCE_ASSIGNMENTS, solved)
    plain_copy = root / "solved_plain"
    shutil.copytree(course, plain_copy)
    print(f"batch: {len(submissions)} solved submissions ({solved} each of {', '.join(ACCEPTANCE_ASSIGNMENTS)}), "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    ours_wall, rows = one_command(course, ACCEPTANCE_ASSIGNMENTS, 2)
    ours_busy = sum(row["seconds"] for row in rows.values())
    plain = sum(run_plain_nbgrader(plain_copy).values())
    ours_scores, plain_scores = scores(course), scores(plain_copy)
    not_graded = sorted((key, row["status"]) for key, row in rows.items() if row["status"] != "graded")
    differing = [key for key in submissions if ours_scores.get(key) != plain_scores.get(key)]
    print(f"one `grade` command, 2 workers: {ours_wall:.1f} s wall ({ours_busy / len(rows):.2f} s per submission "
          f"inside the workers); plain nbgrader autograde, one student at a time: {plain:.1f} s")
    print(f"speed-up: {plain / ours_wall:.1f}x (goal >= 10x); every row graded: {not not_graded}"
          + (f" (not: {not_graded[:5]})" if not_graded else "")
          + f"; identical scores: {not differing}" + (f" (differ: {differing[:5]})" if differing else ""))

    lstm_course = root / "lstm"
    students = [s for s, _ in solved_course(lstm_course, ("lstm",), lstm)]
    lstm_wall, lstm_rows = one_command(lstm_course, ("lstm",), 1)
    graded = [lstm_rows[s, "lstm"]["seconds"] for s in students]
    bare = bare_seconds(lstm_course, "lstm", students)
    beyond = sum(graded) / len(graded) - sum(bare) / len(bare)
    print(f"lstm, {lstm} solved, one command, 1 worker: {sum(graded) / len(graded):.2f} s per submission in the "
          f"grader, bare run {sum(bare) / len(bare):.2f} s: {beyond:.2f} s beyond it (goal <= 0.5 s); each: grader "
          + ", ".join(f"{g:.2f}" for g in graded) + "; bare " + ", ".join(f"{b:.2f}" for b in bare)
          + f"; the command's start-up and end (wall {lstm_wall:.1f} s less its submissions) "
          f"{lstm_wall - sum(graded):.1f} s; load average {os.getloadavg()[0]:.2f} at the end")
    lstm_ok = all(row["status"] == "graded" for row in lstm_rows.values())
    print(json.dumps({"solved": len(submissions), "ours_wall_s": ours_wall, "plain_s": plain,
                      "ratio": plain / ours_wall, "all_graded": not not_graded and lstm_ok,
                      "identical_scores": not differing, "lstm_grader_s": graded, "lstm_bare_s": bare,
                      "lstm_beyond_bare_s": beyond, "lstm_command_overhead_s": lstm_wall - sum(graded)}))
    return 0 if not (not_graded or differing) and lstm_ok else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solved", type=int, default=10, help="solved submissions of each acceptance assignment")
    parser.add_argument("--lstm", type=int, default=4, help="solved lstm submissions for the overhead figure")
    parser.add_argument("--mixed", action="store_true", help="the mixed batch (honest and hostile, 1 and 2 workers)")
    parser.add_argument("--per-assignment", type=int, default=13, help="--mixed: submissions per assignment")
    args = parser.parse_args(argv)
    if not args.mixed:
        with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
            return acceptance(Path(scratch), args.solved, args.lstm)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        root = Path(scratch)
        course, honest = make_batch(root, args.per_assignment)
        count = sum(1 for _ in (course / "submitted").glob("*/*/*.ipynb"))
        print(f"batch: {count} submissions ({len(honest)} honest: correct, blank, buggy; "
              f"{count - len(honest)} hostile), {len(ASSIGNMENTS)} assignments, {os.cpu_count()} cores")
        timings, grades, per_assignment = {}, {}, {}
        print(f"{'':<26} {'total':>9}  {'per submission':>14}  " + "  ".join(f"{a:>15}" for a in ASSIGNMENTS))
        for label, runner in (("ours, 2 workers", lambda c: run_ours(c, 2)), ("ours, 1 worker", lambda c: run_ours(c, 1)),
                              ("plain nbgrader autograde", run_plain_nbgrader)):
            copy = root / label.replace(" ", "_").replace(",", "")
            shutil.copytree(course, copy)
            per_assignment[label] = runner(copy)
            timings[label] = sum(per_assignment[label].values())
            grades[label] = scores(copy)
            print(f"{label:<26} {timings[label]:8.1f}s  {timings[label] / count:12.2f} s  "
                  + "  ".join(f"{per_assignment[label][a]:14.1f}s" for a in ASSIGNMENTS))
    ours, one, plain = timings["ours, 2 workers"], timings["ours, 1 worker"], timings["plain nbgrader autograde"]
    same = all(grades["ours, 2 workers"].get(key) == grades["plain nbgrader autograde"].get(key) for key in honest)
    differing = [key for key in honest if grades["ours, 2 workers"].get(key) != grades["plain nbgrader autograde"].get(key)]
    efficiency = one / (2 * ours)
    per_submission_one_worker = one / count
    projected = 1000 * per_submission_one_worker / (16 * efficiency)
    print(f"speed-up over plain nbgrader (2 workers): {plain / ours:.1f}x (goal >= 10x); per assignment: "
          + ", ".join(f"{a} {per_assignment['plain nbgrader autograde'][a] / per_assignment['ours, 2 workers'][a]:.1f}x"
                      for a in ASSIGNMENTS))
    print(f"honest submissions' grades identical: {same}" + (f" (differ: {differing[:5]})" if differing else ""))
    print(f"parallel efficiency, 1 -> 2 workers: {efficiency:.2f}")
    print(f"projected 1,000 submissions on 16 cores at that efficiency: {projected / 60:.1f} min (goal < 5 min)")
    print(json.dumps({"submissions": count, "seconds": per_assignment, "ratio": plain / ours, "efficiency": efficiency,
                      "projected_1000_on_16_cores_s": projected, "honest_identical": same}))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
