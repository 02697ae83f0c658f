"""What to run for one submission: the instructor's source decides every cell but the answers.

Locked and test cells come from the source notebook; answer cells come from the submission, matched by
nbgrader grade id; cells the student added (no grade id) run where the student put them. A submission
whose graded cells were deleted, duplicated, reordered, re-typed, or whose nbgrader metadata changed is
refused as tampered, with what changed.
"""
import ast
import copy
from dataclasses import dataclass, field

import nbformat

GRADE_KEYS = ("grade", "solution", "locked", "points")


class Tampered(Exception):
    """The submission's graded cells do not match the assignment's."""


@dataclass(frozen=True)
class Part:
    """A graded test cell: the hidden check it calls, on which expression, for how many points."""
    grade_id: str
    check_id: str
    function: str
    points: float


@dataclass
class Plan:
    cells: list            # [{"grade_id", "kind": locked|answer|extra, "source"}], in running order
    parts: list            # [Part]
    notes: list = field(default_factory=list)   # harmless differences, for the status message

    def student_cells(self):
        return [cell for cell in self.cells if cell["kind"] in ("answer", "extra")]


def nbgrader_meta(cell):
    """The nbgrader metadata of a cell ({} when absent or not a mapping)."""
    metadata = cell.get("metadata", {})
    meta = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
    return meta if isinstance(meta, dict) else {}


def parts_of(source_nb):
    """The graded parts of a source notebook, read from its hidden `grade("<check id>", <expr>)` calls."""
    parts = []
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        calls = [node for node in ast.walk(ast.parse(cell.source)) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Name) and node.func.id == "grade"]
        if len(calls) != 1 or len(calls[0].args) != 2 or not isinstance(calls[0].args[0], ast.Constant):
            raise ValueError(f"test cell {meta['grade_id']}: expected one grade(\"<check id>\", fn) call")
        check_id, function = calls[0].args
        parts.append(Part(meta["grade_id"], check_id.value, ast.get_source_segment(cell.source, function),
                          float(meta.get("points", 0))))
    return parts


def plan_submission(source_nb, submitted_nb):
    """The Plan for a submitted notebook; raises Tampered with every change found."""
    source_cells = [c for c in source_nb.cells if nbgrader_meta(c).get("grade_id")]
    by_id = {nbgrader_meta(c)["grade_id"]: c for c in source_cells}
    problems, notes, seen = [], [], []
    for cell in submitted_nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id is None:
            continue
        if grade_id not in by_id:
            problems.append(f"cell {grade_id!r} is not part of the assignment")
            continue
        if grade_id in seen:
            problems.append(f"cell {grade_id!r} appears more than once")
            continue
        seen.append(grade_id)
        original = by_id[grade_id]
        if cell.cell_type != original.cell_type:
            problems.append(f"cell {grade_id!r} was changed from {original.cell_type} to {cell.cell_type}")
        changed = [key for key in GRADE_KEYS
                   if nbgrader_meta(cell).get(key) != nbgrader_meta(original).get(key)]
        if changed:
            problems.append(f"cell {grade_id!r}: nbgrader metadata changed ({', '.join(changed)})")
    missing = [grade_id for grade_id in by_id if grade_id not in seen]
    if missing:
        problems.append(f"cells deleted: {', '.join(missing)}")
    expected_order = [grade_id for grade_id in by_id if grade_id in seen]
    if not missing and seen != expected_order and len(set(seen)) == len(seen):
        problems.append("graded cells were reordered")
    if problems:
        raise Tampered("; ".join(problems))

    answers = {nbgrader_meta(c)["grade_id"]: c.source for c in submitted_nb.cells
               if nbgrader_meta(c).get("solution")}
    cells = []
    extra_after = _extra_cells(source_nb, submitted_nb)
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        if cell.cell_type == "code" and grade_id is not None:
            if meta.get("solution"):
                cells.append({"grade_id": grade_id, "kind": "answer", "source": answers[grade_id]})
            elif not meta.get("grade"):
                cells.append({"grade_id": grade_id, "kind": "locked", "source": cell.source})
        cells.extend(extra_after.get(grade_id, []) if grade_id is not None else [])
    cells = extra_after.get(None, []) + cells
    if any(c["kind"] == "extra" for c in cells):
        notes.append(f"{sum(c['kind'] == 'extra' for c in cells)} cell(s) you added also ran")
    return Plan(cells, parts_of(source_nb), notes)


def _extra_cells(source_nb, submitted_nb):
    """{grade id of the graded cell before it (None: at the top): [cells the student added]}.

    A code cell without a grade id is the student's unless it is one of the source's own cells (same id
    or same text), such as the demonstration cells at the end of a notebook.
    """
    own_ids = {c.get("id") for c in source_nb.cells}
    own_text = {c.source.strip() for c in source_nb.cells if c.cell_type == "code"}
    extra, previous = {}, None
    for index, cell in enumerate(submitted_nb.cells):
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id is not None:
            previous = grade_id
            continue
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if cell.get("id") in own_ids or cell.source.strip() in own_text:
            continue
        extra.setdefault(previous, []).append({"grade_id": f"added-{index}", "kind": "extra",
                                               "source": cell.source, "after": previous})
    return extra


def rebuilt_notebook(source_nb, plan):
    """The notebook nbgrader records: the source's cells with the student's answers (and added cells)."""
    nb = copy.deepcopy(source_nb)
    answers = {c["grade_id"]: c["source"] for c in plan.cells if c["kind"] == "answer"}
    extras = {}
    for cell in plan.cells:
        if cell["kind"] == "extra":
            extras.setdefault(cell["after"], []).append(cell["source"])
    cells = [nbformat.v4.new_code_cell(s) for s in extras.get(None, [])]
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
        cells.append(cell)
        cells.extend(nbformat.v4.new_code_cell(s) for s in extras.get(grade_id, []) if grade_id)
    nb.cells = cells
    return nb

