"""Record a sandboxed grading result in nbgrader: the gradebook scores and the autograded notebook.

nbgrader's own `Autograde` converter does the bookkeeping (student and submission rows, timestamps, late
penalties, locked and test cells restored from the gradebook, `SaveAutoGrades`), so formgrader,
`generate_feedback` and `export` work as usual. Only its `Execute` step is replaced: `ApplyVerdicts`
writes each test cell's output from the verdict computed outside the sandbox (an error output for a
part that lost its points, a line of text for one that passed), and `SaveAutoGrades` reads the scores
from those outputs as it always does. The notebook it reads is the one the grader rebuilt (source cells
plus the student's answers), staged under `.grading/submitted/`, never the raw submission.
"""
import copy
import shutil
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader import utils
from nbgrader.converters import Autograde
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, LimitOutput, NbGraderPreprocessor,
                                    SaveAutoGrades)
from traitlets import Dict

from .course import run_step

STAGING = ".grading/submitted"


class ApplyVerdicts(NbGraderPreprocessor):
    """Set every test cell's output from the verdicts (grade id -> {passed, message})."""

    verdicts = Dict().tag(config=True)
    status = Dict().tag(config=True)  # {"status": ..., "message": ...} shown at the top when not graded

    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        if self.status:
            text = f"**Grading status: {self.status['status']}.** {self.status['message']}"
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(text))
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        cell.outputs = []
        if utils.is_grade(cell) and not utils.is_solution(cell):
            verdict = self.verdicts.get(cell.metadata["nbgrader"]["grade_id"], {"passed": False,
                                                                                 "message": "not graded"})
            if verdict["passed"]:
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=verdict["message"] + "\n")]
            else:
                ename = "NotImplementedError" if "not implemented yet" in verdict["message"] else "AssertionError"
                cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=verdict["message"],
                                                       traceback=[f"{ename}: {verdict['message']}"])]
        return cell, resources


def record_result(coursedir, config, result, graded_nb, timestamp_file=None):
    """Write `result` (a SubmissionResult) into the gradebook and the autograded folder.

    `graded_nb` is the notebook to record: the rebuilt one, or the release when nothing could be rebuilt.
    """
    staged = Path(coursedir.root) / STAGING / result.student / result.assignment
    if staged.exists():
        shutil.rmtree(staged)
    staged.mkdir(parents=True)
    nbformat.write(graded_nb, str(staged / f"{result.assignment}.ipynb"))
    if timestamp_file is not None and Path(timestamp_file).is_file():
        shutil.copy(timestamp_file, staged / "timestamp.txt")

    config = copy.deepcopy(config)
    config.Autograde.autograde_preprocessors = [ApplyVerdicts, ClearMetadataPreprocessor, LimitOutput,
                                                SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    config.ApplyVerdicts.verdicts = {p.grade_id: {"passed": p.score >= p.max_score, "message": p.message}
                                     for p in result.parts}
    config.ApplyVerdicts.status = ({} if result.status == "graded"
                                   else {"status": result.status, "message": result.message})
    previous = coursedir.submitted_directory
    coursedir.submitted_directory = STAGING
    try:
        run_step(Autograde, coursedir, config, result.assignment, result.student)
    finally:
        coursedir.submitted_directory = previous
