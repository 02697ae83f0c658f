"""The judge: what each check calls and expects (specs, the registry), the hidden cases, the rules each
notebook states (contracts), the reference kernels, the comparison and the tolerances.

Nothing here runs inside the grading sandbox (tests/test_layers.py keeps autograder.sandbox from
importing it).
"""
