"""Hints are derived, not guessed (issue 14): a mistake is named only when its computation reproduces the
output on every case; otherwise the message localises (which output, which gate block of a weight gradient,
which time steps counted from the end, which cases); every wrong key of a dict result is listed; a scalar
answer is only right or wrong.
"""
import re

import torch

import reference_solutions as right
import reference_solutions_new_parts as right_new
from autograder.assess import run_check
from autograder.checks.specs import LSTM_BLOCK

SEED = 20261206


def _failure(check_id, fn):
    result = run_check(check_id, fn, device="cpu", seed=SEED)
    assert not result.passed, result.message
    return result


def _where_lines(message):
    return [line for line in message.splitlines() if line.startswith("Where:")]


def test_a_wrong_answer_gets_no_hint_and_no_factor():
    for check_id, answer in (("sequence_models.answer_q1", 0.5), ("rnn.answer_q2", 6.0), ("gru.answer_q1", "z")):
        result = _failure(check_id, lambda answer=answer: answer)
        assert result.hint is None and "Likely mistake" not in result.message, result.message
        assert "factor" not in result.message


def test_a_single_number_output_gets_no_constant_factor():
    def doubled(states, A, p0):
        return 2 * right.BY_CHECK_ID["sequence_models.markov_log_likelihood"](states, A, p0)
    result = _failure("sequence_models.markov_log_likelihood", doubled)
    assert "constant factor" not in result.message


def test_a_constant_factor_is_still_named_where_many_entries_show_it():
    def halved(x, h, W_if, W_hf, b_if, b_hf):
        return 0.5 * right.BY_CHECK_ID["lstm.forget_gate"](x, h, W_if, W_hf, b_if, b_hf)
    assert "constant factor" in (_failure("lstm.forget_gate", halved).hint or "")


def _lstm_step_backward_with(change):
    def wrong(x, state, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next, grad_c_next):
        grads = right_new.BY_CHECK_ID["lstm.lstm_step_backward"](x, state, weight_ih, weight_hh, bias_ih, bias_hh,
                                                                 grad_h_next, grad_c_next)
        change(grads)
        return grads
    return wrong


def test_every_wrong_key_of_a_dict_result_is_listed():
    def two_keys(grads):
        grads["bias_hh"] = grads["bias_hh"] * 2
        grads["h"] = grads["h"] + 1
    message = _failure("lstm.lstm_step_backward", _lstm_step_backward_with(two_keys)).message
    listed = next(line for line in _where_lines(message) if "wrong:" in line)
    assert "`grads['h']`" in listed and "`grads['bias_hh']`" in listed
    assert "`grads['x']`" not in listed.split("wrong:")[1]


def test_a_weight_gradient_is_localised_to_its_gate_block():
    def forget_rows_doubled(grads):
        rows = grads["weight_ih"].shape[0] // 4
        block = LSTM_BLOCK["f"]
        grads["weight_ih"] = grads["weight_ih"].clone()
        grads["weight_ih"][block * rows:(block + 1) * rows] *= 2
    message = _failure("lstm.lstm_step_backward", _lstm_step_backward_with(forget_rows_doubled)).message
    assert "rows of gate block f wrong (i, g, o right)" in message


def test_wrong_early_steps_are_counted_from_the_end():
    def early_steps_zero(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
        output, h_n = right.BY_CHECK_ID["rnn.rnn_forward"](x, h0, weight_ih, weight_hh, bias_ih, bias_hh,
                                                            batch_first)
        output = output.clone()
        (output[:, :2] if batch_first else output[:2]).zero_()
        return output, h_n
    message = _failure("rnn.rnn_forward", early_steps_zero).message
    assert re.search(r"time steps t up to 1 are wrong \(later ones right: the last \d+ of \d+, counting from the end\)",
                     message), message


def test_a_size_mismatch_gets_no_guessed_hint():
    def bias_as_column(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
        return torch.tanh(x @ weight_ih.T + bias_ih[:, None] + h @ weight_hh.T + bias_hh)
    result = _failure("rnn.rnn_cell", bias_as_column)
    assert result.hint is None
    assert "different shapes are combined" not in result.message


def test_a_product_hint_only_where_the_shapes_prove_it():
    def input_weight_untransposed(x, h, W_if, W_hf, b_if, b_hf):  # raises wherever input != hidden size
        return torch.sigmoid(x @ W_if + b_if + h @ W_hf.T + b_hf) * 0.9
    assert "second factor transposed" in (_failure("lstm.forget_gate", input_weight_untransposed).hint or "")

    def outer(c, f, i, g):
        return f * c + i @ g  # (batch, hidden) @ (batch, hidden): no transpose makes it right
    result = _failure("lstm.cell_update", outer)
    assert "transposed" not in (result.hint or "")


def test_no_mistake_is_named_when_it_explains_only_some_cases():
    def sometimes_transposed(x, h, W_if, W_hf, b_if, b_hf):
        if x.shape[0] == 3:  # one batch size gets another mistake
            return torch.sigmoid(x @ W_if.T + h @ W_hf.T + b_hf)
        if W_if.shape[0] == W_if.shape[1]:
            return torch.sigmoid(x @ W_if + b_if + h @ W_hf + b_hf)
        return right.BY_CHECK_ID["lstm.forget_gate"](x, h, W_if, W_hf, b_if, b_hf)
    result = _failure("lstm.forget_gate", sometimes_transposed)
    assert result.hint is None, result.hint


def test_state_kept_between_calls_is_localised_to_the_repeated_calls():
    memo = {}

    def memoised(h, x, W_hh, W_ih):
        key = (tuple(h.shape), tuple(x.shape), h.dtype)
        if key not in memo:
            memo[key] = h @ W_hh.T + x @ W_ih.T
        return memo[key] + 0 * (h.sum() + x.sum() + W_hh.sum() + W_ih.sum())  # keeps a gradient path
    message = _failure("sequence_models.latent_update", memoised).message
    assert "earlier call already had" in message or "a call after the first one" in message, message
