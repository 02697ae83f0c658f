"""Explanations of wrong results: where an output is wrong and which mistake reproduces it.

`COURSE_KERNELS`: the course modules whose functions compute right answers (the references, and the
mistaken kernels whose defaults are the right equations); they are refused while a student's function
runs in this process (visible checks, plain nbgrader). The sandbox has neither.
"""
from autograder.checks import references
from autograder.hints import mistaken_kernels

COURSE_KERNELS = (references, mistaken_kernels)
