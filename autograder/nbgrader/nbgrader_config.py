# The nbgrader configuration of the course, loaded (strictly) by autograder.nbgrader.course.
# It also works as a plain nbgrader_config.py: the grading demo copies it into its course directory.
from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor

from autograder.nbgrader.feedback import NBGRADER_TEMPLATES, TEMPLATE_NAME, TEMPLATES, ShortTracebacks

c = get_config()  # noqa: F821 (provided by traitlets when it runs this file)

c.CourseDirectory.course_id = "rnn-course"
# solutions/<assignment>/<assignment>.ipynb are the sources; exercises/<assignment>/ the student copies.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Per-cell limits while autograding: a hidden test takes well under a second, so a cell that runs for a
# minute is stuck; the kernel itself gets a minute to start (importing torch on a slow laptop).
c.Execute.timeout = 60
c.Execute.startup_timeout = 60
c.Execute.interrupt_on_timeout = True
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 50

# Without ClearHiddenTests, generate_feedback shows the hidden tests to the student; without
# ShortTracebacks, the tracebacks of failed test cells quote them.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, ShortTracebacks, CSSHTMLHeaderPreprocessor]
# Feedback read offline: maths typeset into SVG once a page is made (else the vendored MathJax beside it)
# instead of a CDN; long lines wrapped.
c.HTMLExporter.template_name = TEMPLATE_NAME
c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), str(NBGRADER_TEMPLATES)]
c.GenerateFeedback.post_convert_hook = "autograder.nbgrader.feedback.typeset_feedback_hook"
