"""The adding-problem generator, the training loop and the result cache."""
import json
from dataclasses import replace

import pytest
import torch

from rnn_demos.long_range import (BASELINE_MSE, SMALL, AddingConfig, AddingModel, config_key,
                                  make_adding_batch, run_comparison, train_on_adding)


@pytest.mark.parametrize("length", [2, 3, 17, 100])
def test_exactly_two_markers_one_in_each_half(length):
    inputs, _ = make_adding_batch(500, length, torch.Generator().manual_seed(0))
    assert inputs.shape == (500, length, 2)
    markers = inputs[..., 1]
    assert set(markers.unique().tolist()) <= {0.0, 1.0}
    assert torch.all(markers.sum(dim=1) == 2)
    half = length // 2
    assert torch.all(markers[:, :half].sum(dim=1) == 1)
    assert torch.all(markers[:, half:].sum(dim=1) == 1)


def test_target_is_the_sum_of_the_two_marked_values():
    inputs, targets = make_adding_batch(300, 20, torch.Generator().manual_seed(1))
    for values, markers, target in zip(inputs[..., 0], inputs[..., 1], targets):
        marked = [float(v) for v, m in zip(values, markers) if m == 1.0]
        assert len(marked) == 2
        assert float(target) == pytest.approx(marked[0] + marked[1], abs=1e-6)


def test_values_are_uniform_so_the_constant_baseline_scores_one_sixth():
    _, targets = make_adding_batch(200_000, 10, torch.Generator().manual_seed(2))
    assert torch.mean((targets - 1.0) ** 2).item() == pytest.approx(BASELINE_MSE, abs=2e-3)


def test_same_generator_seed_gives_the_same_batch():
    first = make_adding_batch(8, 12, torch.Generator().manual_seed(5))
    second = make_adding_batch(8, 12, torch.Generator().manual_seed(5))
    assert all(torch.equal(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize("length", [1, 0, 2.0, "10"])
def test_bad_length_is_rejected(length):
    with pytest.raises(ValueError, match="length must be an int >= 2"):
        make_adding_batch(4, length)


def test_bad_batch_size_is_rejected():
    with pytest.raises(ValueError, match="batch_size"):
        make_adding_batch(0, 10)


def test_unknown_cell_is_rejected():
    with pytest.raises(ValueError, match="cell must be one of"):
        AddingModel("transformer", 8)


def test_forget_bias_sets_the_sum_of_both_biases_of_the_forget_rows():
    model = AddingModel("lstm", 6, lstm_forget_bias=2.0)
    total = model.recurrent.bias_ih_l0 + model.recurrent.bias_hh_l0
    assert torch.all(total[6:12] == 2.0)
    untouched = AddingModel("lstm", 6, lstm_forget_bias=None).recurrent
    assert not torch.all(untouched.bias_ih_l0[6:12] + untouched.bias_hh_l0[6:12] == 2.0)


def test_lstm_beats_the_constant_baseline_on_short_sequences():
    mse = train_on_adding("lstm", 8, SMALL)
    assert mse < BASELINE_MSE / 3


def test_training_is_reproducible_and_restores_thread_count():
    config = AddingConfig(lengths=(4,), hidden_size=4, steps=5, batch_size=8, test_size=16)
    threads = torch.get_num_threads()
    assert train_on_adding("gru", 4, config) == train_on_adding("gru", 4, config)
    assert torch.get_num_threads() == threads


def test_results_are_cached_by_configuration(tmp_path):
    config = AddingConfig(lengths=(4, 6), hidden_size=4, steps=3, batch_size=8, test_size=16)
    results = run_comparison(config, cache_dir=tmp_path)
    assert results["lengths"] == [4, 6]
    assert all(len(results["mse"][cell]) == 2 for cell in ("rnn", "lstm", "gru"))
    cache_files = list(tmp_path.glob("adding_*.json"))
    assert [f.name for f in cache_files] == [f"adding_{config_key(config)}.json"]

    # A second call reads the file: prove it by planting a marker value in it.
    stored = json.loads(cache_files[0].read_text())
    stored["mse"]["rnn"][0] = -1.0
    cache_files[0].write_text(json.dumps(stored))
    assert run_comparison(config, cache_dir=tmp_path)["mse"]["rnn"][0] == -1.0

    assert config_key(replace(config, seed=1)) != config_key(config)


def test_results_do_not_depend_on_the_number_of_processes(tmp_path):
    config = AddingConfig(lengths=(4, 6), hidden_size=4, steps=3, batch_size=8, test_size=16)
    one = run_comparison(config, cache_dir=tmp_path / "one", jobs=1)
    two = run_comparison(config, cache_dir=tmp_path / "two", jobs=2)
    assert one["mse"] == two["mse"] and two["jobs"] == 2


# ----- the full comparison stored in the repository (book/comparison/adding_full.json) -----

def stored_full_results():
    from rnn_demos.long_range import FULL_RESULTS_FILE

    assert FULL_RESULTS_FILE.is_file(), f"run `python -m rnn_demos.long_range --full` to write {FULL_RESULTS_FILE}"
    return json.loads(FULL_RESULTS_FILE.read_text())


def test_stored_full_results_are_those_of_the_full_configuration():
    from dataclasses import asdict

    from rnn_demos.long_range import CELLS, FULL

    stored = stored_full_results()
    assert stored["config"] == json.loads(json.dumps(asdict(FULL)))
    assert stored["lengths"] == list(FULL.lengths) and max(stored["lengths"]) == 200
    for cell in CELLS:
        assert len(stored["mse"][cell]) == len(FULL.lengths)
        assert all(0 <= mse < 10 for mse in stored["mse"][cell])
    assert stored["baseline_mse"] == BASELINE_MSE


def test_a_stored_full_result_is_reproduced_by_training_again():
    # The shortest length of the full configuration: one model, about 20 s on one idle thread.
    from rnn_demos.long_range import FULL

    stored = stored_full_results()
    if stored["torch"] != torch.__version__:
        pytest.fail(f"stored with torch {stored['torch']}, installed {torch.__version__}: run the full command again")
    assert train_on_adding("rnn", FULL.lengths[0], FULL) == pytest.approx(stored["mse"]["rnn"][0], rel=1e-5)


def test_the_chapter_reads_its_claims_from_the_stored_file():
    from book_toc import REPO_ROOT

    page = (REPO_ROOT / "book" / "comparison" / "long_range_task.md").read_text()
    assert "FULL_RESULTS_FILE.read_text()" in page and "python -m rnn_demos.long_range --full" in page
    assert "{glue:text}`rnn_first_baseline`" in page and "{glue:text}`gated_bound:.1e`" in page
