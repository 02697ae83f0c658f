"""Parameter counts of one recurrent layer (PyTorch's RNN, GRU and LSTM), from the formula.

One affine block maps [x, h] to H outputs: H*I input weights, H*H hidden weights and, as in PyTorch,
two bias vectors b_ih and b_hh of H each. A vanilla RNN has one such block, a GRU three (r, z, n)
and an LSTM four (i, f, g, o).
"""

BLOCKS_PER_CELL = {"rnn": 1, "gru": 3, "lstm": 4}


def block_parameter_count(input_size, hidden_size, bias=True):
    """Parameters of one block: H*I + H*H, plus 2H for the two biases when bias is True."""
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    weights = hidden_size * input_size + hidden_size * hidden_size
    return weights + (2 * hidden_size if bias else 0)


def parameter_count(cell, input_size, hidden_size, bias=True):
    """Parameters of one single-direction layer of `cell` ('rnn', 'gru' or 'lstm')."""
    if cell not in BLOCKS_PER_CELL:
        raise ValueError(f"cell must be one of {sorted(BLOCKS_PER_CELL)}, got {cell!r}")
    return BLOCKS_PER_CELL[cell] * block_parameter_count(input_size, hidden_size, bias)


def parameter_table(sizes, cells=("rnn", "gru", "lstm")):
    """One row per (input_size, hidden_size) pair: the sizes followed by the count of each cell."""
    return [(i, h, *(parameter_count(cell, i, h) for cell in cells)) for i, h in sizes]
