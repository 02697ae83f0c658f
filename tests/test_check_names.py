"""Every message of the checks names things as the exercise notebooks do (issue 14).

The notebooks are the students' only reference: a message that says `P` where the notebook says `A`, or
`A`/`B` where it says `W_hh`/`W_ih`, points at nothing. Read from exercises/*/*.ipynb: each graded
function's signature, its docstring and the code spans (`...`) of the text that introduces it. Checked:
the inputs a check passes, the names of its outputs, and the names in every hint template a failure can
show (the check's catalogue of mistakes and the generic explanations built for its inputs).
"""
import json
import re
from pathlib import Path

import pytest

from autograder.checks.cases import FAMILY_ASSIGNMENTS
from autograder.checks.specs import SPECS, Case, layout_for
from autograder.hints.diagnose import MISTAKES
from autograder.hints.explain import CaseView, hypotheses

ROOT = Path(__file__).resolve().parent.parent
# A name as a formula writes it: one capital letter, maybe with a subscript (A, P, W_hh, W_ih, C_t).
MATH_NAME = re.compile(r"(?<![\w.'\"])([A-Z](?:_[A-Za-z0-9*]+)?)(?![\w(])")
# Sizes and symbols every notebook uses in the same sense (T steps, H hidden units, I inputs, K symbols),
# and the Jacobian factors J_t of the rnn notebook.
SHARED = {"T", "H", "I", "K", "J_T", "J_t", "J_k"}


def _notebook_parts():
    """{check id: (parameter names, docstring, vocabulary)} of every graded function of the notebooks."""
    found = {}
    for path in sorted((ROOT / "exercises").glob("*/*.ipynb")):
        assignment = path.parent.name
        if assignment not in FAMILY_ASSIGNMENTS:
            continue
        notebook_text = ""
        introduction = []
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            notebook_text += source + "\n"
            if cell["cell_type"] == "markdown":
                introduction.append(source)
                continue
            match = re.search(r'^def (\w+)\(([^)]*)\):\n\s+"""(.*?)"""', source, re.DOTALL | re.MULTILINE)
            if not match or f"{assignment}.{match.group(1)}" not in SPECS:
                continue
            parameters = [p.split("=")[0].strip() for p in match.group(2).split(",") if p.strip()]
            spans = {span for text in introduction for span in re.findall(r"`([^`]+)`", text)}
            words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", " ".join(spans) + " " + match.group(3)))
            found[f"{assignment}.{match.group(1)}"] = (parameters, match.group(3), words | set(parameters))
            introduction = []
    return found


PARTS = _notebook_parts()
CHECKS = sorted(PARTS)


def test_every_check_of_the_notebooks_is_read():
    expected = {c for c in SPECS if c.split(".")[0] in FAMILY_ASSIGNMENTS}
    assert set(PARTS) == expected


def _inputs(check_id):
    spec = SPECS[check_id]
    return spec.make_inputs(Case(options=dict(spec.hidden_options[0])))


@pytest.mark.parametrize("check_id", CHECKS)
def test_inputs_have_the_names_of_the_notebooks_signature(check_id):
    spec = SPECS[check_id]
    inputs = _inputs(check_id)
    passed = [] if spec.call_for(inputs).no_arguments else list(inputs)
    assert passed == PARTS[check_id][0]


def _leaf_names(names):
    if isinstance(names, tuple):
        return [leaf for sub in names for leaf in _leaf_names(sub)]
    return [names[:-2] if names.endswith("[]") else names]


@pytest.mark.parametrize("check_id", CHECKS)
def test_outputs_named_like_a_formula_are_the_docstrings(check_id):
    """`A` for the transition matrix (not `P`); a tuple's names as the docstring lists them."""
    spec = SPECS[check_id]
    names = _leaf_names(layout_for(spec, _inputs(check_id)).names)
    docstring_words = set(re.findall(r"\w+", PARTS[check_id][1]))
    for name in names:
        if MATH_NAME.fullmatch(name) or isinstance(spec.layout.names, tuple):
            assert name in docstring_words, f"{check_id}: output `{name}` is not in {PARTS[check_id][1]!r}"


def _hint_templates(check_id):
    spec = SPECS[check_id]
    inputs = _inputs(check_id)
    texts = [mistake.hint for mistake in MISTAKES.get(check_id, ())]
    if inputs and not spec.call_for(inputs).no_arguments:
        expected = spec.expected(inputs)
        view = CaseView(Case(), inputs, None, expected, None, None, False)
        texts += [hypothesis.hint for hypothesis in hypotheses(spec, view)]
    return texts


@pytest.mark.parametrize("check_id", CHECKS)
def test_hint_templates_use_only_the_notebooks_names(check_id):
    vocabulary = PARTS[check_id][2] | SHARED
    stale = {}
    for text in _hint_templates(check_id):
        for name in MATH_NAME.findall(text):
            if name not in vocabulary:
                stale.setdefault(name, text)
    assert not stale, f"{check_id}: names the notebook does not use: {stale}"


def test_a_stale_name_is_found():
    """The test above fails on the names this issue found in messages (P, A/B for the latent weights)."""
    vocabulary = PARTS["sequence_models.latent_update"][2] | SHARED
    assert {"A", "B"} <= set(MATH_NAME.findall("A is not transposed: h_next = h @ A.T + x @ B.T")) - vocabulary
    vocabulary = PARTS["sequence_models.markov_log_likelihood"][2] | SHARED
    assert "P" in set(MATH_NAME.findall("P indexed as P[s_t, s_{t-1}]")) - vocabulary
