"""Feedback preprocessors of the course."""
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor


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
