"""Run every reference comparison on CUDA and report versions, largest error and time per check.

    python -m autograder.gpu_check                 (or: make gpu-check)
    python -m autograder.gpu_check --device cpu    (the same table on the CPU, as a baseline)

The functions under test are the correct student-style solutions in tests/reference_solutions.py; each
is graded by the hidden check on the GPU (TF32 off), against torch.nn modules running on cuDNN.
Without CUDA it says so and exits 0. Exit status 1 when any check fails.
"""
import argparse
import importlib.util
import sys
import time
from pathlib import Path

import torch

from autograder.assess import CHECK_IDS, run_check
from autograder.sandbox.devices import disable_tf32, tf32_settings

TESTS = Path(__file__).resolve().parent.parent / "tests"
SOLUTIONS = TESTS / "reference_solutions.py"
# Correct solutions of the parts added later, kept in their own module (loaded when present).
MORE_SOLUTIONS = (TESTS / "reference_solutions_new_parts.py", TESTS / "reference_solutions_char_lm.py")


def load_solutions(path=SOLUTIONS):
    """{check id: correct solution}, from tests/reference_solutions.py and the modules beside it."""
    if not path.is_file():
        raise FileNotFoundError(f"the GPU check needs the correct solutions in {path}")
    solutions = {}
    for module_path in (path, *[p for p in MORE_SOLUTIONS if p.is_file()]):
        if str(module_path.parent) not in sys.path:
            sys.path.insert(0, str(module_path.parent))  # the modules import each other by name
        spec = importlib.util.spec_from_file_location(module_path.stem, module_path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        solutions.update(module.BY_CHECK_ID)
    return solutions


def describe_platform():
    lines = [f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"]
    if torch.cuda.is_available():
        lines.append(f"device: {torch.cuda.get_device_name(0)} (compute capability "
                     f"{'.'.join(map(str, torch.cuda.get_device_capability(0)))})")
        lines.append(f"TF32: {tf32_settings()}")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    device = parser.parse_args(argv).device
    for line in describe_platform():
        print(line)
    if device == "cuda" and not torch.cuda.is_available():
        print("CUDA is not available: no GPU check to run (this is not an error).")
        return 0
    disable_tf32()
    solutions = load_solutions()
    failures = 0
    print(f"{'check':<40} {'result':<7} {'cases':>5} {'largest error':>14} {'seconds':>8}")
    for check_id in CHECK_IDS:
        if check_id not in solutions:
            failures += 1
            print(f"{check_id:<40} {'FAILED':<7} no correct solution to run in {SOLUTIONS.parent}")
            continue
        start = time.perf_counter()
        result = run_check(check_id, solutions[check_id], device=device)
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        status = "ok" if result.passed else "FAILED"
        failures += not result.passed
        print(f"{check_id:<40} {status:<7} {result.cases:>5} {result.max_error:>14.3g} {seconds:>8.3f}")
        if not result.passed:
            print("    " + result.message.replace("\n", "\n    "))
    print(f"{len(CHECK_IDS) - failures} of {len(CHECK_IDS)} checks passed on {device}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
