"""nbgrader tooling of the course: the course config, student-notebook generation, a grading demo.

The nbgrader command line logs a broken ``nbgrader_config.py`` and carries on with defaults (which would,
for one, put hidden tests into the feedback). Everything here loads the config through
:func:`autograder.nbgrader.course.load_course_config`, which raises instead.
"""
