"""book/char_lm/results.json is what `python -m rnn_demos.char_lm` writes for EXPERIMENT, and the numbers the
chapter's pages and the exercise state hold."""
import math
from dataclasses import replace

import pytest
import torch

from rnn_demos.char_lm import (CELLS, EXPERIMENT, bigram_perplexity, load_results, next_character_logits,
                               perplexity_from_logits, sample, split_ids, train, unigram_perplexity)

FIRST = EXPERIMENT.training.checkpoints[0]


@pytest.fixture(scope="module")
def results():
    return load_results()


def test_results_hold_every_checkpoint_temperature_and_context_limit(results):
    checkpoints = list(EXPERIMENT.training.checkpoints)
    for cell in CELLS:
        record = results["cells"][cell]
        assert record["updates"] == checkpoints
        assert len(record["samples"]) == len(record["temperature_perplexity"]) == len(checkpoints)
        assert all(len(row) == len(EXPERIMENT.temperatures) for row in record["samples"])
        assert all(len(text) == EXPERIMENT.sample_length for row in record["samples"] for text in row)
        assert len(record["context_perplexity"]) == len(EXPERIMENT.context_limits)
        assert all(len(norms) == EXPERIMENT.gradient_chunk + 1 for norms in record["gradient_norms"])
        assert record["gradient_norms"][0][0] == pytest.approx(1.0)  # d h_T / d h_T is the identity
    assert set(results["partition_perplexity"]) == {"sequential", "random"}


@pytest.mark.parametrize("cell", CELLS)
def test_retraining_the_first_checkpoint_reproduces_the_stored_numbers(results, cell):
    """The shortest run: FIRST updates of each cell, seeded, one thread, as the stored run trained them."""
    config = replace(EXPERIMENT.training, cell=cell, checkpoints=(FIRST,))
    validation = split_ids("validation")
    found = {}

    def at_checkpoint(updates, model):
        found["perplexity"] = perplexity_from_logits(next_character_logits(model, validation), validation[1:])
        generator = torch.Generator().manual_seed(EXPERIMENT.sample_seed)  # one stream for the whole row
        found["samples"] = [sample(model, EXPERIMENT.prompt, EXPERIMENT.sample_length, temperature, generator)
                            for temperature in EXPERIMENT.temperatures]

    _, losses = train(config, at_checkpoint=at_checkpoint)
    record = results["cells"][cell]
    assert found["perplexity"] == pytest.approx(record["validation_perplexity"][0], rel=1e-6)
    assert losses[FIRST] == pytest.approx(record["training_loss"][0], rel=1e-6)
    assert found["samples"] == record["samples"][0]


def test_counting_baselines_are_what_the_exercise_and_its_check_state():
    """The notebook says a bigram model scores about 11.0 on the test documents and 12.7 on the
    validation text; specs_char_lm's comment gives the unigram figures 24.8 and 25.9."""
    train_ids = split_ids("train")
    figures = {split: (unigram_perplexity(train_ids, split_ids(split)), bigram_perplexity(train_ids, split_ids(split)))
               for split in ("validation", "test")}
    assert [round(value, 1) for value in figures["validation"]] == [24.8, 12.7]
    assert [round(value, 1) for value in figures["test"]] == [25.9, 11.0]
    assert all(math.isfinite(value) for pair in figures.values() for value in pair)


def test_demos_describe_every_frame_with_its_stored_numbers(results):
    import matplotlib

    matplotlib.use("Agg")
    from rnn_demos.alt_text import alt_text
    from rnn_demos.char_lm_demos import gradient_norms_demo, samples_demo
    from rnn_demos.widgets import all_values, render_frame

    samples = samples_demo()
    for values in all_values(samples):
        stored = results["cells"][values["cell"]]["samples"][
            list(EXPERIMENT.training.checkpoints).index(values["updates"])][
            list(EXPERIMENT.temperatures).index(values["temperature"])]
        assert stored in samples.describe(**values)
    gradients = gradient_norms_demo()
    descriptions = {gradients.describe(**values) for values in all_values(gradients)}
    assert len(descriptions) == len(all_values(gradients))  # every training length says something else
    for demo in (samples, gradients):
        figure = demo.draw(**demo.defaults())
        assert alt_text(figure)
        assert render_frame(demo).startswith(b"\x89PNG")


def test_the_solution_trains_to_what_the_notebook_states():
    """solutions/char_lm says its GRU reaches a validation perplexity of about N after S CPU-seconds."""
    import re
    from pathlib import Path

    import nbformat

    from autograder.checks.specs_char_lm import MAX_PERPLEXITY, checked_language_model, held_out_perplexity

    path = Path(__file__).resolve().parents[1] / "solutions" / "char_lm" / "char_lm.ipynb"
    cells = {cell.get("id"): cell.source for cell in nbformat.read(path, as_version=4).cells}
    stated = re.search(r"validation perplexity of about (\d+)\s+after (\d+) CPU-seconds",
                       cells["language_model_parameters-explanation"])
    assert stated, "the notebook no longer states what its solution reaches"
    namespace = {}
    threads = torch.get_num_threads()
    try:
        for cell_id in ("setup", "encode", "step_losses", "training_setup", "language_model_parameters"):
            exec(cells[cell_id], namespace)
        assert f", {stated.group(2)}\n" in cells["language_model_parameters"]  # the seconds it trains for
        parameters = namespace["language_model_parameters"]()
    finally:
        torch.set_num_threads(threads)
    assert parameters is not None, "the solution went over the training budget"
    found = held_out_perplexity(checked_language_model(parameters), split_ids("validation"))
    # The training stops by the CPU clock, so a loaded machine fits in fewer updates: "about" allows 1.
    assert abs(found - int(stated.group(1))) < 1 and found <= MAX_PERPLEXITY, found
