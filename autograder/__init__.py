"""Reference kernels, checks and grading for the course's nbgrader exercises."""
