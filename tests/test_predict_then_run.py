"""Predict, then run: no cell above a question's answer cell prints its answer, and no page of the site gives it.

Each solution notebook runs (nbclient, in its own folder) up to its last "predict, then run" question, about
10 s each. For every such question, the text printed by the cells above its answer cell must not hold the
answer: a number written with 2 to 6 decimals (an integer-valued answer, such as 7, is too common a string
to look for), a choice as a quoted string, or the explanation its check prints once it is answered right.

The built site (_build/html; a missing build is a failure) must not hold it either: a numeric answer written
with 2 to 6 decimals (103.00 included), or six consecutive words of the explanation (the deciding sentence,
such as "truncation cuts the gradient, not the state"; runs of a formula's symbols do not count).
Neither may hold a question's deciding fact (DECIDING_FACTS): the short statement or formula that settles it
without the student working it out, such as "There are T - t factors" for a count of Jacobian factors; nor may
the markdown above the question in its notebook.
The new answers of issue 15 are measured here with the reference solutions, as the notebooks' run cells do.
"""
from __future__ import annotations

import re

import nbformat
import pytest
import torch
from bs4 import BeautifulSoup
from nbclient import NotebookClient

import reference_solutions as right
import reference_solutions_char_lm as right_char_lm
import reference_solutions_new_parts as right_new
from autograder.checks.specs import SPECS
from autograder.checks.specs_questions import AnswerSpec
from book_toc import REPO_ROOT, toc_docnames
from rnn_demos.text_data import VOCABULARY, sequential_batches, split_text

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
    assert "'f'" in answer_forms("lstm.answer_q1") and "4.97" in answer_forms("lstm.answer_q2")
    assert "0.6715" in answer_forms("rnn.answer_q1") and "2.6471" in answer_forms("rnn.answer_q2")


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
        check_id = f"{assignment}.{name}"
        above = "\n".join(printed(cell) for cell in notebook.cells[:index] if cell.cell_type == "code")
        found = leaks(above, answer_forms(check_id))
        if found:
            problems.append(f"{name}: the cells above its answer print {found}")
        text_above = "\n".join(cell.source for cell in notebook.cells[:index] if cell.cell_type == "markdown")
        # the question names its choices, so only a number, the explanation and the deciding fact count here
        said = leaks(text_above, [SPECS[check_id].explanation] + numeric_forms(SPECS[check_id]))
        found = said + stated_facts(DECIDING_FACTS.get(check_id, ()), text_above)
        if found:
            problems.append(f"{name}: the text above its answer states {found}")
    assert not problems, f"{assignment}:\n" + "\n".join(problems)


# ----- the site and the markdown above a question: neither may give the answer away -----

# The statement or formula that settles each question, as a pattern over words(text) (lower case, punctuation
# and TeX dropped: "T - t" reads "t t"). A numeric answer is looked for by numeric_forms as well.
DECIDING_FACTS = {
    # dL/dW_hh = e_3 h_2 + e_2 h_1 + e_1 h_0 of the scalar RNN, and the vanishing first term
    "rnn.answer_q1": (r"e 3 h 2 e 2 h 1", r"e 1 h 0 0", r"first step adds nothing"),
    # the second tensor's clipped norm 15 * 3 / 17
    "rnn.answer_q2": (r"15 3 17", r"45 17"),
    # pi_0 of a two-symbol chain, A_10 / (A_01 + A_10), and its value 2/7
    "sequence_models.answer_q1": (r"pi 0 a 10 a 01 a 10", r"a 10 a 01 a 10", r"0 2 0 7", r"2 7 0 2857"),
}
# The facts that gave away the questions issue 15 replaced in these notebooks (the trial found them).
FACTS_BEFORE_ISSUE_15 = {
    "rnn.answer_q1": (r"t t factors",),  # "how many Jacobian factors does d h_10 / d h_3 contain": 7
    "rnn.answer_q2": (r"returns the norm it saw", r"norm before clipping"),  # the returned total_norm: 3.0
    "sequence_models.answer_q1": (r"never left .{0,60}\buniform row",),  # a never-left row: 1/3
}


def stated_facts(patterns, text: str) -> list[str]:
    padded = f" {' '.join(words(text))} "
    return [pattern for pattern in patterns if re.search(rf"(?<= ){pattern}(?= )", padded)]


RUN_OF_WORDS = 6  # shorter runs ("the gradient of the loss") are common to any two texts on the subject


def asked_questions() -> list[str]:
    """The check id of every predict-then-run question, in notebook order."""
    found = []
    for assignment in ASSIGNMENTS:
        cells = nbformat.read(REPO_ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4).cells
        found += [f"{assignment}.{name}" for _, name in questions(cells)]
    return found


ASKED = asked_questions()


def words(text: str) -> list[str]:
    """Lower-case words and numbers: punctuation, TeX delimiters and markdown emphasis drop out."""
    return re.findall(r"[a-z0-9]+", text.lower())


def shared_runs(explanation: str, text: str, length: int = RUN_OF_WORDS) -> list[str]:
    """The runs of `length` consecutive words of the explanation that the text holds too, those of a sentence:
    with at least four words of three letters or more (a formula's symbols, "d h t d h t", are not one)."""
    said = words(explanation)
    runs = {" ".join(said[k:k + length]) for k in range(len(said) - length + 1)
            if sum(re.fullmatch(r"[a-z]{3,}", word) is not None for word in said[k:k + length]) >= 4}
    padded = f" {' '.join(words(text))} "
    return sorted(run for run in runs if f" {run} " in padded)


def numeric_forms(spec) -> list[str]:
    """A numeric answer (a number, or a choice that is one) with 2 to 6 decimals, integers included."""
    expected = spec.expected({})
    if spec.choices:
        try:
            value = float(spec.choices[int(expected)])
        except ValueError:
            return []
    else:
        value = float(expected)
    return [f"{value:.{decimals}f}" for decimals in range(2, 7)]


@pytest.fixture(scope="module")
def site_pages(site_dir, book_root) -> dict[str, str]:
    """{docname: the text of its page}, code and outputs included, of every page of the built site."""
    pages = {}
    for docname in toc_docnames(book_root / "_toc.yml"):
        article = BeautifulSoup((site_dir / f"{docname}.html").read_text(encoding="utf-8"), "html.parser").find("article")
        for node in article.select("script, style"):
            node.decompose()
        pages[docname] = re.sub(r"\s+", " ", article.get_text(" "))
    return pages


def test_the_site_checks_find_the_give_aways_that_issue_15_found():
    """The pages' sentences against the explanations of the questions they answered before issue 15."""
    assert shared_runs("Detaching cuts the gradient, not the state: the carried h still holds it",
                       "So truncation cuts the **gradient**, not the **state**: information written into h")
    assert shared_runs("softmax(q / T) flattens as T grows: every character tends to the same probability 1/V.",
                       r"Above 1 it is flatter, and as \(T\) grows every character tends to the same probability "
                       r"\(1/V\). As \(T\) tends to 0")
    old_q1 = AnswerSpec("char_lm.answer_q1", None, lambda: 1, None, choices=("1", "103", "ln 103"))
    assert leaks("uniform (every character 1/V) validation perplexity 103.00", numeric_forms(old_q1)) == ["103.00"]
    assert not shared_runs("the gradient of a column sums over the steps at which its character is read",
                           "the gradient of the loss with respect to the weights sums over the steps")
    assert not shared_runs("d h_T / d h_t = J_T J_{T-1} ... J_{t+1}", r"\(d h_T / d h_t = J_T J_{T-1} \cdots\)")


def test_the_deciding_facts_find_the_give_aways_of_the_rnn_and_sequence_models_questions():
    """The sentences the student trial found, as the pages and the notebook wrote them before issue 15."""
    old = FACTS_BEFORE_ISSUE_15
    assert stated_facts(old["rnn.answer_q1"], r"on the right. There are \(T - t\) factors: the further back")
    assert stated_facts(old["rnn.answer_q2"], "watch the gradient norm for a while (`clip_grad_norm_` returns "
                                              "the norm it saw) and choose")
    assert stated_facts(old["sequence_models.answer_q1"], "A symbol that is never left (its row has no counts) "
                                                          "gets the uniform row $1/K$. Every row")
    new = DECIDING_FACTS
    assert stated_facts(new["rnn.answer_q1"], r"$e_3 h_2 + e_2 h_1$") and not stated_facts(
        new["rnn.answer_q1"], r"$e_t^\top h_{t-1}$, summed over $t = 1, \ldots, T$")
    assert stated_facts(new["rnn.answer_q2"], "15 * 3 / 17") and not stated_facts(new["rnn.answer_q2"], "15 * 3 / 19")
    assert stated_facts(new["sequence_models.answer_q1"], r"$\pi_0 = A_{10} / (A_{01} + A_{10})$")
    assert stated_facts(new["sequence_models.answer_q1"], "0.2 / 0.7")
    assert not stated_facts(new["sequence_models.answer_q1"], "0.2 / 0.75")


@pytest.mark.parametrize("check_id", ASKED)
def test_no_page_of_the_site_gives_a_question_away(site_pages, check_id):
    spec = SPECS[check_id]
    problems = {docname: leaks(text, numeric_forms(spec)) + shared_runs(spec.explanation, text)
                + stated_facts(DECIDING_FACTS.get(check_id, ()), text) for docname, text in site_pages.items()}
    problems = {docname: found for docname, found in problems.items() if found}
    assert not problems, f"{check_id}: the site gives the answer away: {problems}"


# ----- the answers of the questions issue 15 replaced, measured with the reference solutions -----

def expected_choice(check_id: str) -> str:
    spec = SPECS[check_id]
    return spec.choices[int(spec.expected({}))]


def expected_number(check_id: str) -> float:
    return float(SPECS[check_id].expected({}))


def random_tensor(generator, *shape):
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


def test_char_lm_q1_the_perplexity_of_right_characters_at_0_9_and_0_1():
    steps, size = 200, len(VOCABULARY)
    targets = torch.arange(steps) % size
    right = torch.tensor([0.9, 0.1], dtype=torch.float64).repeat(steps // 2)
    probabilities = ((1 - right) / (size - 1))[:, None].repeat(1, size)
    probabilities[torch.arange(steps), targets] = right
    measured = float(right_char_lm.perplexity(probabilities.log()[None], targets[None]))
    assert measured == pytest.approx(expected_number("char_lm.answer_q1"), abs=1e-9)


def test_char_lm_q2_an_update_changes_the_columns_of_the_characters_its_chunk_reads():
    generator, hidden, size = torch.Generator().manual_seed(0), 16, len(VOCABULARY)
    parameters = {"weight_ih": random_tensor(generator, hidden, size) * 0.1,
                  "weight_hh": random_tensor(generator, hidden, hidden) / hidden ** 0.5,
                  "bias_ih": torch.zeros(hidden, dtype=torch.float64), "bias_hh": torch.zeros(hidden, dtype=torch.float64),
                  "weight_hy": random_tensor(generator, size, hidden) * 0.1, "bias_y": torch.zeros(size, dtype=torch.float64)}
    batches = sequential_batches(right_char_lm.encode(split_text("train")[:20_000]), 4, 20)
    (first_ids, first_targets), (second_ids, second_targets) = next(batches), next(batches)
    _, after_first, state = right_char_lm.tbptt_chunk(first_ids, first_targets, torch.zeros(4, hidden, dtype=torch.float64),
                                                      parameters, 0.5, 1.0)
    _, after_second, _ = right_char_lm.tbptt_chunk(second_ids, second_targets, state, after_first, 0.5, 1.0)
    changed = set((after_second["weight_ih"] != after_first["weight_ih"]).any(dim=0).nonzero().flatten().tolist())
    read_second, read_first = set(second_ids.flatten().tolist()), set(first_ids.flatten().tolist())
    assert read_first - read_second and len(read_second) < size  # the three choices differ on this text
    assert changed == read_second and expected_choice("char_lm.answer_q2") == "this chunk"


def test_char_lm_q3_the_temperature_that_gives_the_first_character_0_8():
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.25]], dtype=torch.float64))
    temperature = expected_number("char_lm.answer_q3")
    assert float(torch.softmax(logits / temperature, dim=-1)[0, 0]) == pytest.approx(0.8, abs=1e-12)
    draws = right_char_lm.sample_characters(logits, temperature, 20_000, seed=0)
    assert float((draws == 0).double().mean()) == pytest.approx(0.8, abs=0.01)


def test_lstm_q1_from_a_zero_cell_state_only_the_forget_rows_get_no_gradient():
    generator, batch, inputs, hidden = torch.Generator().manual_seed(1), 3, 4, 5
    x, h, c = random_tensor(generator, batch, inputs), random_tensor(generator, batch, hidden), torch.zeros(batch, hidden, dtype=torch.float64)
    weights = (random_tensor(generator, 4 * hidden, inputs), random_tensor(generator, 4 * hidden, hidden),
               random_tensor(generator, 4 * hidden), random_tensor(generator, 4 * hidden))
    gradients = right_new.lstm_step_backward(x, (h, c), *weights, random_tensor(generator, batch, hidden),
                                             random_tensor(generator, batch, hidden))
    silent = [gate for gate, block in zip("ifgo", gradients["bias_ih"].chunk(4)) if not block.abs().max()]
    assert silent == [expected_choice("lstm.answer_q1")]


def test_lstm_q2_the_forget_bias_that_keeps_half_of_dL_dC0_over_100_steps():
    generator, steps, batch, inputs, hidden = torch.Generator().manual_seed(3), 100, 2, 3, 5
    x = random_tensor(generator, steps, batch, inputs)
    weight_ih = random_tensor(generator, 4 * hidden, inputs) * 0.5
    weight_ih[hidden:2 * hidden] = 0.0
    bias_ih, zeros = random_tensor(generator, 4 * hidden) * 0.5, torch.zeros(batch, hidden, dtype=torch.float64)

    def gradient_at_c0(forget_bias):
        bias_ih[hidden:2 * hidden] = forget_bias
        return right_new.lstm_bptt(x, (zeros, zeros), weight_ih, torch.zeros(4 * hidden, hidden, dtype=torch.float64),
                                   bias_ih, torch.zeros(4 * hidden, dtype=torch.float64), zeros,
                                   torch.ones_like(zeros))["c0"]
    bias = expected_number("lstm.answer_q2")
    assert torch.allclose(gradient_at_c0(bias), torch.full_like(zeros, 0.5), rtol=0, atol=1e-12)
    assert gradient_at_c0(bias - 0.01).max() < 0.5 < gradient_at_c0(bias + 0.01).min()


def test_gru_q2_from_a_zero_state_only_the_reset_rows_get_no_gradient():
    generator, batch, inputs, hidden = torch.Generator().manual_seed(1), 3, 4, 5
    gradients = right_new.gru_step_backward(
        random_tensor(generator, batch, inputs), torch.zeros(batch, hidden, dtype=torch.float64),
        random_tensor(generator, 3 * hidden, inputs), random_tensor(generator, 3 * hidden, hidden),
        random_tensor(generator, 3 * hidden), torch.zeros(3 * hidden, dtype=torch.float64),
        random_tensor(generator, batch, hidden))
    silent = [gate for gate, block in zip("rzn", gradients["bias_ih"].chunk(3)) if not block.abs().max()]
    assert silent == [expected_choice("gru.answer_q2")]


def test_rnn_q1_dL_dW_hh_of_the_scalar_rnn():
    one = dict(dtype=torch.float64)
    x = torch.tensor([1.0, 0.0, 0.0], **one).reshape(3, 1, 1)
    weights = (torch.ones(1, 1, **one), torch.full((1, 1), 0.5, **one), torch.zeros(1, **one), torch.zeros(1, **one))
    by_hand = right.rnn_bptt(x, torch.zeros(1, 1, **one), *weights, torch.ones(1, 1, **one))[1].item()
    weight_hh = weights[1].clone().requires_grad_()
    h = torch.zeros(1, 1, **one)
    for x_t in x:
        h = torch.tanh(x_t @ weights[0].T + h @ weight_hh.T)
    h.sum().backward()
    assert by_hand == pytest.approx(weight_hh.grad.item(), abs=1e-12)
    assert by_hand == pytest.approx(expected_number("rnn.answer_q1"), abs=1e-12)
    assert abs(0.6715 - by_hand) <= SPECS["rnn.answer_q1"].tolerance < abs(0.3517 - by_hand)  # not the last term alone


def test_rnn_q2_the_clipped_norm_of_the_second_tensor():
    first, second = torch.full((4,), 4.0, dtype=torch.float64), torch.full((9,), 5.0, dtype=torch.float64)
    clipped, total_norm = right.clip_grad_norm([first, second], 3.0)
    assert total_norm.item() == pytest.approx(17.0)
    assert torch.linalg.vector_norm(clipped[1]).item() == pytest.approx(expected_number("rnn.answer_q2"), abs=1e-12)
    parameters = [torch.zeros(4, dtype=torch.float64, requires_grad=True),
                  torch.zeros(9, dtype=torch.float64, requires_grad=True)]
    for parameter, gradient in zip(parameters, (first, second)):
        parameter.grad = gradient.clone()
    torch.nn.utils.clip_grad_norm_(parameters, 3.0)  # PyTorch's rule, in place on .grad
    assert torch.allclose(parameters[1].grad, clipped[1], rtol=0, atol=1e-12)


def test_sequence_models_q1_the_stationary_share_of_symbol_0():
    estimate = right.transition_matrix(torch.tensor([0, 0, 0, 1, 1, 1, 1, 1, 0, 1]), 2)
    distribution = torch.tensor([1.0, 0.0], dtype=torch.float64)
    for _ in range(200):
        distribution = distribution @ estimate
    assert torch.allclose(distribution @ estimate, distribution, atol=1e-15)
    assert distribution[0].item() == pytest.approx(expected_number("sequence_models.answer_q1"), abs=1e-12)
    assert abs(0.4 - distribution[0].item()) > 0.1  # the share of 0s in the sequence itself is wrong
