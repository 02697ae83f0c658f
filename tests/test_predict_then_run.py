"""Predict, then run: no cell above a question's answer cell prints its answer.

Each solution notebook runs (nbclient, in its own folder) up to its last "predict, then run" question, about
10 s each. For every such question, the text printed by the cells above its answer cell must not hold the
answer: a number written with 2 to 6 decimals (an integer-valued answer, such as 7, is too common a string
to look for), a choice as a quoted string, or the explanation its check prints once it is answered right.
"""
from __future__ import annotations

import re

import nbformat
import pytest
import torch
from nbclient import NotebookClient

from autograder.checks.specs import SPECS
from book_toc import REPO_ROOT

ASSIGNMENTS = ("sequence_models", "rnn", "lstm", "gru", "char_lm")
PREDICT = re.compile(r"predict,? then run", re.IGNORECASE)


def grade_id(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


def questions(cells) -> list[tuple[int, str]]:
    """(index of the answer cell, check id) of each predict-then-run question, in notebook order."""
    texts = {grade_id(cell): cell.source for cell in cells if cell.cell_type == "markdown"}
    return [(index, name) for index, cell in enumerate(cells)
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")
            and PREDICT.search(texts.get(f"{grade_id(cell)}-explanation", ""))
            for name in [grade_id(cell)]]


def printed(cell) -> str:
    """What a code cell showed: its streams, its plain-text results, its errors."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.get("data", {}).get("text/plain", ""))
        elif output.output_type == "error":
            parts.append("\n".join(output.traceback))
    return "\n".join(parts)


def answer_forms(check_id: str) -> list[str]:
    """The strings that would give the question's answer away."""
    spec = SPECS[check_id]
    expected = spec.expected({})
    forms = [spec.explanation] if spec.explanation else []
    if spec.choices:
        choice = spec.choices[int(expected)]
        return forms + [f"'{choice}'", f'"{choice}"']
    value = float(expected.item() if isinstance(expected, torch.Tensor) else expected)
    if value != round(value):
        forms += [f"{value:.{decimals}f}" for decimals in range(2, 7)]
    return forms


def leaks(text: str, forms: list[str]) -> list[str]:
    found = []
    for form in forms:
        if re.fullmatch(r"-?\d+\.\d+", form):
            if re.search(rf"(?<![\d.]){re.escape(form)}(?!\d)", text):
                found.append(form)
        elif form in text:
            found.append(form[:60])
    return found


def test_answer_forms_and_leaks_find_a_printed_answer():
    forms = answer_forms("sequence_models.answer_q2")  # 0.9 ** 19 = 0.135085...
    assert "0.1351" in forms and leaks("h_20 = 0.1351\n", forms) == ["0.1351"]
    assert leaks("h_20 = 0.13512\n", ["0.1351"]) == [] and leaks("ratio 10.1351", ["0.1351"]) == []
    assert "'exactly'" in answer_forms("lstm.answer_q2")
    assert [f for f in answer_forms("rnn.answer_q1") if f != SPECS["rnn.answer_q1"].explanation] == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_cell_above_a_question_prints_its_answer(assignment):
    folder = REPO_ROOT / "solutions" / assignment
    notebook = nbformat.read(folder / f"{assignment}.ipynb", as_version=4)
    asked = questions(notebook.cells)
    assert asked, f"{assignment}: no predict-then-run question found"
    notebook.cells = notebook.cells[:asked[-1][0]]
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    problems = []
    for index, name in asked:
        above = "\n".join(printed(cell) for cell in notebook.cells[:index] if cell.cell_type == "code")
        found = leaks(above, answer_forms(f"{assignment}.{name}"))
        if found:
            problems.append(f"{name}: the cells above its answer print {found}")
    assert not problems, f"{assignment}:\n" + "\n".join(problems)
