"""The only code the grading sandbox imports: run a submission's cells, call its graded functions on the
inputs the grader sent, and write what they returned as plain records.

Nothing here knows an answer: no reference kernel, no expected value, no mistaken kernel, no term seed,
no case generator. The grader outside (autograder.grading) builds every input, sends it as arrays, and
judges the records with autograder.checks, in a process the student's code never touched.
`tests/test_layers.py` keeps this package from importing anything of the judge (import-linter).
"""
