"""Make submissions from released notebooks: the solved one, and ones with a given answer replaced."""
import copy

import nbformat

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def _answer_cells(nb):
    """{grade_id: cell} of the answer (solution) cells of a notebook."""
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("solution")}


def strip_solution_markers(source):
    lines = [line for line in source.splitlines() if line.strip() not in SOLUTION_MARKERS]
    return "\n".join(lines)


def solved_copy(release_nb, source_nb):
    """The released notebook with every answer cell filled in from the source's solution."""
    solved = copy.deepcopy(release_nb)
    solutions = _answer_cells(source_nb)
    for grade_id, cell in _answer_cells(solved).items():
        if grade_id not in solutions:
            raise KeyError(f"answer cell {grade_id!r} has no solution in the source notebook")
        cell.source = strip_solution_markers(solutions[grade_id].source)
    return solved


def with_answer(nb, grade_id, source):
    """A copy of ``nb`` whose answer cell ``grade_id`` holds ``source`` instead."""
    changed = copy.deepcopy(nb)
    cells = _answer_cells(changed)
    if grade_id not in cells:
        raise KeyError(f"no answer cell {grade_id!r}; answer cells: {sorted(cells)}")
    cells[grade_id].source = source
    return changed


def write_submission(nb, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
