"""Reference kernels, checks and grading for the course's nbgrader exercises.

A hidden test cell names its check: `grade("lstm.forget_gate", forget_gate)`. Grading has two steps that
share nothing but plain data:

1. `collect.collect(check_id, fn)` runs the function under test on the hidden cases (`cases.py`) with
   the framework kernels it must implement refused (autograder.sandbox.forbidden), and records what it returned as
   snapshots (numpy arrays, numbers, names), what it raised, and which inputs it changed in place.
   `records.py` writes these records to an npz file without pickle.
2. `assess.assess(check_id, records)` rebuilds the inputs from each case's seed, computes the reference
   (torch.nn modules, autograd, clip_grad_norm_, lstsq: autograder.checks.references), compares with
   the tolerance table (`tolerances.py`) and names the likely mistake (autograder.hints.diagnose).

Only step 1 executes student code: the instructor's grader (`python -m autograder grade`, package
`autograder.grading`) runs it in a bubblewrap sandbox and step 2 outside it; `autograder.hidden.grade`
runs both in one process (plain `nbgrader autograde`, a trusted notebook). Students import the visible
checks from `autograder.selfcheck`. `gpu_check.py` runs every comparison on CUDA (TF32 off, `devices.py`).
"""
