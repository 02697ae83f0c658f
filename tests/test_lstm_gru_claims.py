"""The claims made on the LSTM and GRU pages, re-checked against torch.nn and torch.autograd.

Each helper below is written from the equations in the chapters (PyTorch's form), independently of
the pages, so a wrong equation on either side makes a test fail.
"""
import pytest
import torch
from torch.autograd.functional import jacobian

DTYPE = torch.float64


def lstm_gates(x, h, cell):
    """i, f, g, o from PyTorch's stacked weights (rows ordered i, f, g, o)."""
    pre = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
    i, f, g, o = pre.chunk(4, dim=1)
    return torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)


def lstm_step(x, h, c, cell):
    i, f, g, o = lstm_gates(x, h, cell)
    c_next = f * c + i * g
    return o * torch.tanh(c_next), c_next


def gru_step(x, h, cell, reset_before_product=False, h_for_gates=None):
    """PyTorch's GRU step (rows r, z, n); optionally Cho/d2l's candidate, or gates fed another h."""
    seen = h if h_for_gates is None else h_for_gates
    W_ir, W_iz, W_in = cell.weight_ih.chunk(3)
    W_hr, W_hz, W_hn = cell.weight_hh.chunk(3)
    b_ir, b_iz, b_in = cell.bias_ih.chunk(3)
    b_hr, b_hz, b_hn = cell.bias_hh.chunk(3)
    r = torch.sigmoid(x @ W_ir.T + b_ir + seen @ W_hr.T + b_hr)
    z = torch.sigmoid(x @ W_iz.T + b_iz + seen @ W_hz.T + b_hz)
    if reset_before_product:
        n = torch.tanh(x @ W_in.T + b_in + (r * seen) @ W_hn.T + b_hn)
    else:
        n = torch.tanh(x @ W_in.T + b_in + r * (seen @ W_hn.T + b_hn))
    return (1 - z) * n + z * h, z


def random_state(seed, batch, input_size, hidden_size):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, input_size, generator=generator, dtype=DTYPE),
            torch.randn(batch, hidden_size, generator=generator, dtype=DTYPE),
            torch.randn(batch, hidden_size, generator=generator, dtype=DTYPE))


@pytest.mark.parametrize("seed, input_size, hidden_size", [(0, 3, 4), (1, 1, 7), (2, 6, 2)])
def test_lstm_step_in_pytorch_form_equals_lstmcell(seed, input_size, hidden_size):
    torch.manual_seed(seed)
    cell = torch.nn.LSTMCell(input_size, hidden_size).to(DTYPE)
    x, h, c = random_state(seed, 3, input_size, hidden_size)
    ours = lstm_step(x, h, c, cell)
    theirs = cell(x, (h, c))
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape and a.dtype == b.dtype
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_lstm_gate_order_matters():
    """Guards the i, f, g, o claim: reading the blocks as i, f, o, g (another common order) differs."""
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(3, 4).to(DTYPE)
    x, h, c = random_state(0, 2, 3, 4)
    swapped = torch.nn.LSTMCell(3, 4).to(DTYPE)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            i, f, g, o = getattr(cell, name).chunk(4)
            getattr(swapped, name).copy_(torch.cat([i, f, o, g]))
    assert (lstm_step(x, h, c, swapped)[0] - cell(x, (h, c))[0]).abs().max() > 1e-3


def lstm_cell_path(c, cell, inputs, h, forget_gates=None):
    for x in inputs:
        i, f, g, o = lstm_gates(x, h.detach(), cell)
        c = f * c + i * g
        h = o * torch.tanh(c)
        if forget_gates is not None:
            forget_gates.append(f.detach())
    return c


@pytest.mark.parametrize("steps", [1, 5, 20])
def test_cell_path_jacobian_is_diagonal_product_of_forget_gates(steps):
    torch.manual_seed(steps)
    cell = torch.nn.LSTMCell(3, 5).to(DTYPE)
    inputs = torch.randn(steps, 1, 3, dtype=DTYPE)
    h0, c0 = torch.randn(1, 5, dtype=DTYPE), torch.randn(1, 5, dtype=DTYPE)
    forget_gates = []
    lstm_cell_path(c0, cell, inputs, h0, forget_gates)
    expected = torch.diag(torch.cat(forget_gates).prod(dim=0))
    actual = jacobian(lambda c: lstm_cell_path(c, cell, inputs, h0), c0).reshape(5, 5)
    torch.testing.assert_close(actual, expected, atol=1e-14, rtol=1e-10)


def test_cell_path_with_zero_recurrent_weights_in_torch_lstmcell():
    torch.manual_seed(3)
    cell = torch.nn.LSTMCell(2, 4).to(DTYPE)
    with torch.no_grad():
        cell.weight_hh.zero_()
    inputs = torch.randn(8, 1, 2, dtype=DTYPE)
    h0, c0 = torch.randn(1, 4, dtype=DTYPE), torch.randn(1, 4, dtype=DTYPE)

    def run(c):
        h = h0
        for x in inputs:
            h, c = cell(x, (h, c))
        return c

    forget_gates = torch.cat([lstm_gates(x, h0, cell)[1] for x in inputs])  # W_hh = 0: h is irrelevant
    actual = jacobian(run, c0).reshape(4, 4)
    torch.testing.assert_close(actual, torch.diag(forget_gates.prod(dim=0)), atol=1e-14, rtol=1e-10)


def test_full_lstm_jacobian_is_not_just_the_cell_path():
    """The formula is about the direct path only: with the h-path kept, autograd finds more."""
    torch.manual_seed(4)
    cell = torch.nn.LSTMCell(3, 5).to(DTYPE)
    with torch.no_grad():
        cell.weight_hh.mul_(4.0)
    inputs = torch.randn(6, 1, 3, dtype=DTYPE)
    h0, c0 = torch.randn(1, 5, dtype=DTYPE), torch.randn(1, 5, dtype=DTYPE)

    def run_full(c):
        h = h0
        for x in inputs:
            h, c = lstm_step(x, h, c, cell)
        return c

    full = jacobian(run_full, c0).reshape(5, 5)
    assert full.triu(1).abs().max() > 1e-6


def test_larger_forget_bias_keeps_more_of_the_cell_path():
    torch.manual_seed(5)
    cell = torch.nn.LSTMCell(3, 5).to(DTYPE)
    inputs = torch.randn(30, 1, 3, dtype=DTYPE)
    h0, c0 = torch.randn(1, 5, dtype=DTYPE), torch.randn(1, 5, dtype=DTYPE)
    gains = []
    for bias in (0.0, 1.0, 3.0):
        with torch.no_grad():
            cell.bias_ih[5:10] = bias
            cell.bias_hh[5:10] = 0.0
        gains.append(jacobian(lambda c: lstm_cell_path(c, cell, inputs, h0), c0).reshape(5, 5).diagonal())
    assert torch.all(gains[0] < gains[1]) and torch.all(gains[1] < gains[2])
    assert gains[0].max() < 1e-6  # forget gates near 0.5 for 30 steps: about 0.5**30
    assert gains[2].min() > 1e-3


@pytest.mark.parametrize("seed, input_size, hidden_size", [(0, 3, 4), (1, 1, 7), (2, 6, 2)])
def test_gru_step_in_pytorch_form_equals_grucell(seed, input_size, hidden_size):
    torch.manual_seed(seed)
    cell = torch.nn.GRUCell(input_size, hidden_size).to(DTYPE)
    x, h, _ = random_state(seed, 3, input_size, hidden_size)
    ours, _ = gru_step(x, h, cell)
    torch.testing.assert_close(ours, cell(x, h), atol=1e-12, rtol=0)


def test_cho_d2l_candidate_differs_from_torch_unless_reset_is_one():
    torch.manual_seed(6)
    cell = torch.nn.GRUCell(3, 4).to(DTYPE)
    x, h, _ = random_state(6, 2, 3, 4)
    before, _ = gru_step(x, h, cell, reset_before_product=True)
    assert (before - cell(x, h)).abs().max() > 1e-3
    with torch.no_grad():
        cell.bias_ih[:4] = 50.0  # reset gate saturates at 1
    after, _ = gru_step(x, h, cell)
    before, _ = gru_step(x, h, cell, reset_before_product=True)
    torch.testing.assert_close(after, before, atol=1e-12, rtol=0)


@pytest.mark.parametrize("steps", [1, 4, 15])
def test_gru_update_path_jacobian_is_diagonal_product_of_update_gates(steps):
    torch.manual_seed(10 + steps)
    cell = torch.nn.GRUCell(3, 4).to(DTYPE)
    inputs = torch.randn(steps, 1, 3, dtype=DTYPE)
    h0 = torch.randn(1, 4, dtype=DTYPE)

    def run(h, update_gates=None):
        for x in inputs:
            h, z = gru_step(x, h, cell, h_for_gates=h.detach())
            if update_gates is not None:
                update_gates.append(z.detach())
        return h

    update_gates = []
    run(h0, update_gates)
    expected = torch.diag(torch.cat(update_gates).prod(dim=0))
    torch.testing.assert_close(jacobian(run, h0).reshape(4, 4), expected, atol=1e-14, rtol=1e-10)
