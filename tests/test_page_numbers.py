"""Numbers that a page's prose types instead of computing, read from the built site and compared with
the code or data they describe (the configurations, the demo kernels, the pins). Cheap: no training, no
browser; every expected value comes from the package or the repository's files, not from this file."""
from __future__ import annotations

import json
import math
import re
import tomllib

import numpy as np
import pytest
from bs4 import BeautifulSoup

from book_toc import REPO_ROOT
from rnn_demos import clipping, gradients
from rnn_demos.long_range import FULL, FULL_RESULTS_FILE, SMALL


def prose(site_dir, docname: str) -> str:
    """The text a reader sees on a built page, code cells' sources and code blocks left out, spaces
    collapsed (maths stays as its TeX source between \\( and \\))."""
    article = BeautifulSoup((site_dir / f"{docname}.html").read_text(), "html.parser").find("article")
    for node in article.select("div.cell_input, pre, script, style"):
        node.decompose()
    return re.sub(r"\s+", " ", article.get_text(" "))


def code_blocks(site_dir, docname: str) -> str:
    article = BeautifulSoup((site_dir / f"{docname}.html").read_text(), "html.parser").find("article")
    return "\n".join(block.get_text() for block in article.select("div.highlight-bash pre"))


def found(pattern: str, text: str) -> re.Match:
    match = re.search(pattern, text)
    assert match, f"the page no longer says {pattern!r}: update this test with the sentence"
    return match


def number(text: str) -> float:
    return float(text.replace(",", ""))


# --- comparison/long_range_task: the set-up the prose describes is the one the page trains -----------------

LONG_RANGE = "book/comparison/long_range_task"


def test_small_run_setup_in_prose_is_the_trained_configuration(site_dir):
    text = prose(site_dir, LONG_RANGE)
    match = found(r"Adam with learning rate ([\d.]+), (\d+) updates on fresh batches of (\d+) sequences", text)
    assert (number(match[1]), int(match[2]), int(match[3])) == (SMALL.learning_rate, SMALL.steps, SMALL.batch_size)
    assert int(found(r"(\d+) hidden units", text)[1]) == SMALL.hidden_size
    assert int(found(r"measured on (\d+) held-out sequences", text)[1]) == SMALL.test_size
    assert int(found(r"on these (\d+) test sequences", text)[1]) == SMALL.test_size
    assert int(found(r"seconds for the (\d+) models", text)[1]) == 3 * len(SMALL.lengths)
    budgets = [int(value) for value in re.findall(r"budget of (\d+) updates|within (\d+) updates", text) for value in value if value]
    assert budgets and set(budgets) == {SMALL.steps}, budgets
    assert number(found(r"forget-gate bias starts at ([\d.]+)", text)[1]) == SMALL.lstm_forget_bias


def test_full_run_setup_in_prose_is_the_stored_configuration(site_dir):
    text = prose(site_dir, LONG_RANGE)
    stored = json.loads(FULL_RESULTS_FILE.read_text())
    match = found(r"trains each model for (\d+) updates on batches of (\d+) sequences, at lengths from (\d+) to (\d+)", text)
    assert tuple(int(group) for group in match.groups()) == (
        FULL.steps, FULL.batch_size, min(FULL.lengths), max(FULL.lengths))
    assert int(found(r"full comparison, up to T = (\d+)", text)[1]) == max(stored["lengths"])
    assert int(found(r"every length up to \\\(T = (\d+)\\\)", text)[1]) == max(stored["lengths"])
    command = found(r"python -m rnn_demos.long_range --full --jobs (\d+)", code_blocks(site_dir, LONG_RANGE))
    assert int(command[1]) == stored["jobs"], "the command shown is not the one that wrote the stored file"


def test_baseline_numbers_follow_from_the_target_distribution(site_dir):
    text = prose(site_dir, LONG_RANGE)
    assert number(found(r"1/6 \\approx ([\d.]+)", text)[1]) == round(1 / 6, 3)
    assert number(found(r"\\sqrt\{1/6\} \\approx ([\d.]+)", text)[1]) == round(math.sqrt(1 / 6), 2)
    # "at most 1% of the baseline's error ... the typical error is below a tenth of the spread"
    share = number(found(r"at most ([\d.]+)% of the baseline", text)[1]) / 100
    assert math.sqrt(share * (1 / 6)) <= 0.1 * math.sqrt(1 / 6) + 1e-12


# --- rnn/gradient_demo and the cliff ------------------------------------------------------------------------

def _default(function, name):
    import inspect
    return inspect.signature(function).parameters[name].default


def test_rnn_demo_sizes_in_prose_are_the_demo_kernel_defaults(site_dir):
    text = prose(site_dir, "book/rnn/gradient_demo")
    match = found(r"random RNN with (\d+) hidden units and (\d+) inputs", text)
    assert (int(match[1]), int(match[2])) == (_default(gradients.rnn_gradient_norms, "hidden_size"),
                                              _default(gradients.rnn_gradient_norms, "input_size"))


def test_cliff_in_prose_is_the_one_the_demo_descends(site_dir):
    text = prose(site_dir, "book/rnn/gradient_demo")
    match = found(r"h_k = \\tanh\(w\\,h_\{k-1\} - ([\d.]+)\)\\\) runs for (\d+) steps from \\\(h_0 = ([\d.]+)\\\)", text)
    assert -number(match[1]) == _default(clipping.cliff_loss_and_gradient, "bias")
    assert int(match[2]) == _default(clipping.cliff_loss_and_gradient, "steps")
    assert number(match[3]) == _default(clipping.cliff_loss_and_gradient, "initial_state")
    loss = found(r"the loss is \\\(\(h_(\d+) \+ 1\)\^2\\\)", text)
    assert int(loss[1]) == _default(clipping.cliff_loss_and_gradient, "steps")
    assert _default(clipping.cliff_loss_and_gradient, "target") == -1.0
    assert number(found(r"starts on the face of the cliff, at \\\(w = ([\d.]+)\\\)", text)[1]) == clipping.CLIFF_FACE
    # "onto a flat plateau where the loss is 4 and the gradient is zero": far to the left of the cliff
    plateau = number(found(r"flat plateau where the loss is ([\d.]+)", text)[1])
    far_left = np.array([-8.0, -25.0, -100.0])
    plateau_loss, plateau_gradient = clipping.cliff_loss_and_gradient(far_left)
    assert np.allclose(plateau_loss, plateau, atol=1e-4) and np.all(np.abs(plateau_gradient) < 1e-3)


# --- rnn/clipping: the worked two-dimensional example ---------------------------------------------------------

def test_two_dimensional_clipping_example(site_dir):
    text = prose(site_dir, "book/rnn/clipping")
    g, by_value = np.array([3.0, 0.4]), np.array([1.0, 0.4])
    cosine = g @ by_value / (np.linalg.norm(g) * np.linalg.norm(by_value))
    match = found(r"= ([\d.]+) / \(([\d.]+) \\cdot ([\d.]+)\)\s*\\approx ([\d.]+)", text)
    assert number(match[1]) == pytest.approx(g @ by_value, abs=5e-3)
    assert number(match[2]) == pytest.approx(np.linalg.norm(g), abs=5e-4)
    assert number(match[3]) == pytest.approx(np.linalg.norm(by_value), abs=5e-4)
    assert number(match[4]) == pytest.approx(cosine, abs=5e-4)
    angle = int(found(r"an angle of about (\d+) degrees", text)[1])
    assert angle == round(math.degrees(math.acos(cosine)))


# --- lstm/carousel: the forget-gate arithmetic ------------------------------------------------------------------

def test_carousel_forget_gate_arithmetic(site_dir):
    text = prose(site_dir, "book/lstm/carousel")
    steps = int(found(r"after (\d+) steps the signal is down by a factor of about a million", text)[1])
    assert 10 ** 5.5 < 0.5 ** -steps < 10 ** 6.5
    sigma3 = number(found(r"\\sigma\(3\) \\approx ([\d.]+)", text)[1])
    assert sigma3 == round(1 / (1 + math.exp(-3)), 2)


# --- word counts in the examples of dependencies ------------------------------------------------------------

WORD = re.compile(r"[A-Za-z]+")


def _distance(sentence: str, earlier: str, later: str) -> int:
    words = WORD.findall(sentence)
    return words.index(later) - words.index(earlier)


NUMBER_WORDS = {"three": 3, "four": 4, "five": 5, "six": 6, "eleven": 11, "twelve": 12, "thirteen": 13,
                "fourteen": 14}


@pytest.mark.parametrize("docname, sentence, claim, earlier, later", [
    ("book/sequence_models/index", r"“\s*(it rained, so the road was\s+wet)\s*”",
     r"wet is predictable from rained , (\w+) words earlier", "rained", "wet"),
    ("book/rnn/vanishing_exploding", r"“(the cat, which the neighbours [^”]*sits) ”",
     r"the verb agrees with cat , (\w+) words before it\)", "cat", "sits"),
])
def test_example_sentences_count_their_words(site_dir, docname, sentence, claim, earlier, later):
    text = prose(site_dir, docname)
    quoted = found(sentence, text)[1]
    assert NUMBER_WORDS[found(claim, text)[1]] == _distance(quoted, earlier, later)


# --- sequence_models/autoregressive: the data the prose describes -----------------------------------------

def test_autoregressive_data_and_window_share(site_dir):
    text = prose(site_dir, "book/sequence_models/autoregressive")
    match = found(r"(\d+) steps of a periodic signal \(two sines, period (\d+) steps\) plus Gaussian noise of "
                  r"standard deviation ([\d.]+), .* first (\d+) steps and evaluate on the remaining (\d+)", text)
    total, period, noise, train, test = int(match[1]), int(match[2]), number(match[3]), int(match[4]), int(match[5])
    assert train + test == total
    assert number(found(r"\\sigma\^2 = ([\d.]+)", text)[1]) == pytest.approx(noise ** 2)
    # "With τ = 16 the model sees a third of a period"
    window = int(found(r"With \\\(\\tau = (\d+)\\\) the model sees a third of a period", text)[1])
    assert round(3 * window / period) == 1
    source = (REPO_ROOT / "book/sequence_models/autoregressive.md").read_text()
    assert f"noisy_periodic_signal({total}, period={period}, noise_std=noise_std" in source
    assert f"noise_std = {noise}" in source and f"series[:{train}], series[{train}:]" in source


# --- intro and exercises: the versions the pins require ----------------------------------------------------

def _project():
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def _pin(name: str) -> str:
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        if line.split("==")[0].strip().lower() == name:
            return line.split("==")[1].strip()
    raise AssertionError(f"{name} is not pinned in requirements.txt")


@pytest.mark.parametrize("docname", ["book/intro", "book/exercises"])
def test_python_version_on_the_page_is_the_packages(site_dir, docname):
    minimum = _project()["requires-python"].removeprefix(">=")
    stated = set(re.findall(r"Python (3\.\d+)", prose(site_dir, docname)))
    assert stated == {minimum}, f"{docname}: the page says Python {stated}, the package requires {minimum}"


def test_pinned_versions_on_the_home_page(site_dir):
    text = prose(site_dir, "book/intro")
    assert set(re.findall(r"PyTorch (\d+\.\d+\.\d+)", text)) == {_pin("torch")}
    assert found(r"NumPy (\d+\.\d+), which the course pins", text)[1] == ".".join(_pin("numpy").split(".")[:2])
    version = _project()["version"]
    wheels = set(re.findall(r"rnn_course-([\d.]+)-py3-none-any\.whl", text + code_blocks(site_dir, "book/intro")))
    assert wheels == {version}


# --- exercises: the number of questions each notebook's row announces ---------------------------------------

COUNT_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def test_question_counts_in_the_notebook_table_match_the_points_table(site_dir):
    article = BeautifulSoup((site_dir / "book/exercises.html").read_text(), "html.parser").find("article")
    notebooks_table, points_table = article.find_all("table")[:2]
    announced = {}
    for row in notebooks_table.find_all("tr")[1:]:
        cells = [cell.get_text(" ", strip=True) for cell in row.find_all("td")]
        count = found(r"\b(\w+) (?:predict-then-run )?questions\b", cells[-1])[1]
        announced[cells[0].removesuffix(".ipynb")] = COUNT_WORDS[count]
    graded = {}
    for row in points_table.find_all("tr")[1:]:
        notebook, function, _points = (cell.get_text(strip=True) for cell in row.find_all("td"))
        graded[notebook] = graded.get(notebook, 0) + function.startswith("answer_q")
    assert announced == graded


# --- intro: which chapters end with a demo and have a notebook ----------------------------------------------

def test_chapters_with_a_demo_and_a_notebook_are_the_ones_the_home_page_names(site_dir):
    import yaml

    text = prose(site_dir, "book/intro")
    found(r"Every lecture chapter, and the one on language models, ends with an interactive demo", text)
    found(r"Each lecture chapter, and the one on language models, has an exercise notebook", text)
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    parts = {part["caption"]: part["chapters"] for part in toc["parts"]}
    named = [chapter for chapter in parts["Lectures"]] + [
        chapter for chapter in parts["Beyond the lecture"] if chapter["file"] == "book/char_lm/index"]
    others = [chapter for chapter in parts["Beyond the lecture"] if chapter not in named]
    for chapter in named:
        assert chapter["sections"][-1]["file"].endswith("/gradient_demo"), chapter["file"]
        assert (REPO_ROOT / "exercises" / chapter["file"].split("/")[1]).is_dir(), chapter["file"]
    # "Every lecture chapter, and the one on language models": no other chapter is left out of the sentence.
    for chapter in others:
        assert not chapter["sections"][-1]["file"].endswith("/gradient_demo"), chapter["file"]
        assert not (REPO_ROOT / "exercises" / chapter["file"].split("/")[1]).exists(), chapter["file"]
