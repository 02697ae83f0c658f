"""Time of every hidden check on the CPU, with the correct solutions; autograde time per notebook.

    .venv/bin/python benchmarks/bench_checks.py [--repeat N]

Prints one row per check (best of N runs, after a warm-up run) and the total per notebook, then the
slowest check. The budget is 1 s per hidden check; exit status 1 when a check exceeds it.
"""
import argparse
import sys
import time
from collections import defaultdict

from autograder.assess import CHECK_IDS, run_check
from autograder.gpu_check import load_solutions

BUDGET_SECONDS = 1.0


def time_check(check_id, fn, repeat):
    run_check(check_id, fn, device="cpu")  # warm-up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = run_check(check_id, fn, device="cpu")
        best = min(best, time.perf_counter() - start)
    if not result.passed:
        raise RuntimeError(f"the correct solution failed {check_id}:\n{result.message}")
    return best, result.cases


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    solutions = load_solutions()
    per_notebook = defaultdict(float)
    timings = {}
    print(f"{'hidden check':<40} {'cases':>5} {'seconds':>8}")
    for check_id in CHECK_IDS:
        if check_id not in solutions:
            print(f"{check_id:<40} {'-':>5} {'no correct solution in tests/reference_solutions.py':>8}")
            continue
        seconds, cases = time_check(check_id, solutions[check_id], args.repeat)
        timings[check_id] = seconds
        per_notebook[check_id.split(".")[0]] += seconds
        print(f"{check_id:<40} {cases:>5} {seconds:>8.3f}")
    print()
    print(f"{'notebook':<40} {'autograde seconds (hidden checks)':>34}")
    for notebook, seconds in per_notebook.items():
        print(f"{notebook:<40} {seconds:>34.3f}")
    slowest = max(timings, key=timings.get)
    print(f"\nslowest hidden check: {slowest} {timings[slowest]:.3f} s (budget {BUDGET_SECONDS} s)")
    return 0 if timings[slowest] <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
