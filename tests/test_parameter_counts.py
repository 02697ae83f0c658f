"""The parameter-count formulas agree with what torch.nn modules actually allocate."""
import pytest
import torch

from rnn_demos.parameter_counts import block_parameter_count, parameter_count, parameter_table

MODULES = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}
CELLS = {"rnn": torch.nn.RNNCell, "gru": torch.nn.GRUCell, "lstm": torch.nn.LSTMCell}
SIZES = [(1, 1), (3, 5), (10, 64), (128, 32), (300, 512)]


def numel(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("cell", sorted(MODULES))
@pytest.mark.parametrize("input_size, hidden_size", SIZES)
@pytest.mark.parametrize("bias", [True, False])
def test_count_matches_torch_layer_and_cell(cell, input_size, hidden_size, bias):
    expected = parameter_count(cell, input_size, hidden_size, bias=bias)
    assert numel(MODULES[cell](input_size, hidden_size, bias=bias)) == expected
    assert numel(CELLS[cell](input_size, hidden_size, bias=bias)) == expected


def test_ratios_are_one_three_four_blocks():
    block = block_parameter_count(7, 11)
    assert [parameter_count(c, 7, 11) for c in ("rnn", "gru", "lstm")] == [block, 3 * block, 4 * block]


def test_table_rows_hold_sizes_then_counts():
    rows = parameter_table([(2, 3), (4, 8)])
    assert rows[0] == (2, 3, numel(torch.nn.RNN(2, 3)), numel(torch.nn.GRU(2, 3)), numel(torch.nn.LSTM(2, 3)))
    assert [row[:2] for row in rows] == [(2, 3), (4, 8)]


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "8"])
def test_bad_sizes_are_rejected_with_the_name(bad):
    with pytest.raises(ValueError, match="hidden_size"):
        parameter_count("lstm", 4, bad)
    with pytest.raises(ValueError, match="input_size"):
        parameter_count("gru", bad, 4)


def test_unknown_cell_is_rejected():
    with pytest.raises(ValueError, match="cell must be one of"):
        parameter_count("transformer", 4, 4)
