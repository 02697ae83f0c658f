"""One notation from book to notebook: the key symbols of book/notation.md (its rows marked ★) are written
the same way in the lectures, the source notebooks and the released notebooks, and the checks compute what
the text says (the order of an AR window)."""
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from autograder.checks import references
from rnn_demos.sequence_models import lagged_features

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("sequence_models", "rnn", "lstm", "gru", "char_lm")


def squeezed(text):
    """The text without whitespace and alignment marks, so that line wraps and `&=` do not matter."""
    return re.sub(r"[\s&]", "", text)


def book_text(page):
    return (ROOT / "book" / f"{page}.md").read_text()


def notebook_text(kind, assignment):
    """The markdown of a notebook: kind "solutions" (the source) or "exercises" (the student release)."""
    notebook = nbformat.read(ROOT / kind / assignment / f"{assignment}.ipynb", as_version=4)
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def notebook_code(kind, assignment):
    notebook = nbformat.read(ROOT / kind / assignment / f"{assignment}.ipynb", as_version=4)
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


# quantity -> (the way it is written, the book pages that must write it so, the notebooks that must too,
#              patterns of the other ways it has been written, which no page or notebook may use)
KEY_SYMBOLS = {
    "AR design row, oldest first": (
        r"(x_{t-\tau}, \ldots, x_{t-1}", ["notation", "sequence_models/autoregressive"], ["sequence_models"],
        [r"x_\{t-1\},\s*\\ldots,\s*x_\{t-\\tau\}"]),
    "delta is the gradient of the state": (
        r"\delta_t = \mathrm{d}L / \mathrm{d}h_t", ["notation", "rnn/bptt"], ["rnn"],
        [r"\\delta_t\s*=\s*\\(partial|mathrm\{d\})\s*L\s*/\s*\\(partial|mathrm\{d\})\s*(\\mathbf\{)?a"]),
    "Markov transition matrix A": (
        r"A_{ij} = P(x_t = j \mid x_{t-1} = i)", ["notation", "sequence_models/markov"], ["sequence_models"],
        [r"P_\{ij\}", r"P_\{s"]),
    "LSTM cell state C": (
        r"C_t = f_t \odot C_{t-1} + i_t \odot g_t", ["notation", "lstm/cell_update"], ["lstm"],
        [r"\\mathbf\{c\}", r"(?<![A-Za-z_\\])c'", r"c_\{t-1\}"]),
}
ALL_BOOK_PAGES = ["notation", "sequence_models/autoregressive", "sequence_models/markov", "sequence_models/latent",
                  "rnn/bptt", "rnn/recurrence", "lstm/forget_gate", "lstm/cell_update", "lstm/output_gate",
                  "gru/gates", "gru/variants", "gru/parameter_counts"]


@pytest.mark.parametrize("quantity", KEY_SYMBOLS)
@pytest.mark.parametrize("kind", ["solutions", "exercises"])
def test_book_and_notebooks_write_the_key_symbol_the_same_way(quantity, kind):
    written, pages, assignments, _ = KEY_SYMBOLS[quantity]
    for page in pages:
        assert squeezed(written) in squeezed(book_text(page)), f"book/{page}.md does not write {written}"
    for assignment in assignments:
        assert squeezed(written) in squeezed(notebook_text(kind, assignment)), \
            f"{kind}/{assignment} does not write {written}"


@pytest.mark.parametrize("quantity", KEY_SYMBOLS)
def test_no_page_or_notebook_uses_another_symbol_for_a_key_quantity(quantity):
    _, _, _, other_ways = KEY_SYMBOLS[quantity]
    texts = {f"book/{page}.md": book_text(page) for page in ALL_BOOK_PAGES}
    texts.update({f"{kind}/{a}": notebook_text(kind, a) for kind in ("solutions", "exercises") for a in ASSIGNMENTS})
    for where, text in texts.items():
        for pattern in other_ways:
            found = re.search(pattern, text)
            assert not found, f"{where} writes {found.group(0)!r} for the {quantity}"


@pytest.mark.parametrize("kind", ["solutions", "exercises"])
def test_the_notebooks_name_the_markov_matrix_A_in_code_too(kind):
    code = notebook_code(kind, "sequence_models")
    assert "def markov_log_likelihood(states, A, p0):" in code
    assert "def latent_update(h, x, W_hh, W_ih):" in code  # not A and B: A is the Markov matrix


@pytest.mark.parametrize("kind", ["solutions", "exercises"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_notebook_carries_its_conventions_and_links_nothing_in_the_repository(kind, assignment):
    """A notebook downloaded from the site has no repository beside it: its conventions are in it."""
    notebook = nbformat.read(ROOT / kind / assignment / f"{assignment}.ipynb", as_version=4)
    first = notebook.cells[0].source
    assert "| vectors are rows |" in first and "| time runs from 1 |" in first and "`x @ W.T + b`" in first
    links = [link for cell in notebook.cells if cell.cell_type == "markdown"
             for link in re.findall(r"\]\(([^)]+)\)", cell.source)]
    assert not [link for link in links if not link.startswith(("http://", "https://", "#"))], links
