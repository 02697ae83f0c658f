"""Feedback of the course: its preprocessors, and the page read offline (the template of
templates/feedback_offline, with its maths typeset into SVG once the page is made).

The course's nbgrader_config.py selects the template and sets `typeset_feedback_hook` as GenerateFeedback's
post-convert hook, so that plain `nbgrader generate_feedback` makes the same pages as
`python -m autograder feedback`.
"""
import logging
import shutil
import subprocess
from pathlib import Path

import nbgrader
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).with_name("templates")
NBGRADER_TEMPLATES = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
TEMPLATE_NAME = "feedback_offline"
TYPESETTER = Path(__file__).with_name("typeset_maths.js")
# The page's script (templates/feedback_offline/mathjax.html.j2), relative to the page, for a page whose maths
# could not be typeset. The SVG build with every TeX extension needs no font file and loads no other component.
MATHJAX_FILE = "mathjax/tex-svg-full.js"
# Where the course vendors MathJax 3: the site's copy (`make vendor`), else the npm package it comes from.
MATHJAX_SOURCES = (REPO_ROOT / "_build" / "site_assets" / "vendor" / "mathjax",
                   REPO_ROOT / "node_modules" / "mathjax" / "es5")
log = logging.getLogger(__name__)


def vendored_mathjax():
    """The vendored MathJax file the feedback pages load, or None when `make vendor` never ran here."""
    name = Path(MATHJAX_FILE).name
    return next((folder / name for folder in MATHJAX_SOURCES if (folder / name).is_file()), None)


def copy_mathjax_beside(feedback_folder):
    """Copy the vendored MathJax into a feedback folder (once); False when there is none to copy."""
    source = vendored_mathjax()
    if source is None:
        log.warning("no vendored MathJax (run `make vendor`): the feedback shows its maths as TeX")
        return False
    target = Path(feedback_folder) / MATHJAX_FILE
    if not (target.is_file() and target.stat().st_size == source.stat().st_size):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return True


def typeset_feedback(feedback_folder):
    """Typeset the maths of every page in a feedback folder into SVG (Node and the vendored MathJax), so each
    page reads offline on its own: nbgrader's release_feedback hands out the .html file alone. Where that
    cannot be done, the vendored MathJax goes beside the pages instead. True when the maths will show."""
    pages = [page for page in sorted(Path(feedback_folder).glob("*.html"))
             if MATHJAX_FILE in page.read_text(encoding="utf-8")]  # not yet typeset
    if not pages:
        return True
    node = shutil.which("node")
    mathjax = next((folder for folder in MATHJAX_SOURCES if (folder / "node-main.js").is_file()), None)
    if node and mathjax:
        run = subprocess.run([node, str(TYPESETTER), str(mathjax), *map(str, pages)], capture_output=True,
                             text=True, timeout=120 + 10 * len(pages))
        if run.returncode == 0:
            return True
        log.warning("feedback maths not typeset (%s): MathJax goes beside the pages", run.stderr.strip()[-500:])
    return copy_mathjax_beside(feedback_folder)


def typeset_feedback_hook(assignment=None, student=None, notebooks=()):
    """GenerateFeedback's post-convert hook: typeset the feedback of each autograded notebook
    (COURSE/autograded/<student>/<assignment>/<notebook>.ipynb -> COURSE/feedback/<student>/<assignment>/)."""
    for notebook in notebooks:
        notebook = Path(notebook)
        course, student_id, assignment_id = notebook.parents[3], notebook.parts[-3], notebook.parts[-2]
        feedback = course / "feedback" / student_id / assignment_id
        if feedback.is_dir():
            typeset_feedback(feedback)


copy_mathjax = typeset_feedback_hook  # the hook's name in the nbgrader_config.py of course folders made before


class ShortTracebacks(NbGraderPreprocessor):
    """Reduce the error output of every test cell to its last line, ``ename: evalue``.

    IPython tracebacks quote the lines around the failing one, and in a test cell those include the hidden
    test region; ClearHiddenTests only clears cell sources, not outputs. The diagnostic of a check is in
    its message, so nothing useful is lost.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
