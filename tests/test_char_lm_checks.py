"""The char_lm checks: right implementations pass, and each wrong one below is caught by the hidden check
with a message that names the mistake.

`BY_CHECK_ID` (tests/reference_solutions_char_lm.py) holds the right implementations;
`MISTAKES` the wrong ones, each with a fragment of the message the hidden check must give.
"""
import math
import time

import pytest
import torch
from torch.nn import functional as F

from autograder.checks.specs_char_lm import MAX_PERPLEXITY, held_out_perplexity, checked_language_model
from autograder.hidden import grade
from autograder.selfcheck import check
from rnn_demos.text_data import VOCABULARY, sequential_batches, split_text
from reference_solutions_char_lm import (BY_CHECK_ID, CHARACTER_IDS, TRAINING, _TRAINED, clipped, decode, encode,
                                         perplexity, rnn_language_model, sample_characters, step_losses,
                                         tbptt_chunk, train_gru, trained_language_model)

# ----- wrong implementations, each with what the hidden check must say -----

def encode_without_dtype(text):
    """torch.tensor of a list of ints is int64, but of the empty list float32."""
    if any(character not in CHARACTER_IDS for character in text):
        raise ValueError("a character is not in the vocabulary")
    return torch.tensor([CHARACTER_IDS[character] for character in text])


def encode_with_find(text):
    """str.find gives -1 for an unknown character instead of raising."""
    return torch.tensor([VOCABULARY.find(character) for character in text], dtype=torch.int64)


def encode_from_one(text):
    return encode(text) + 1


def decode_without_range_check(ids):
    """A negative id silently reads from the end of VOCABULARY."""
    return "".join(VOCABULARY[index] for index in ids.tolist())


def decode_off_by_one_check(ids):
    """`>` where `>=` is needed: the id len(VOCABULARY) raises IndexError, not ValueError."""
    if ((ids < 0) | (ids > len(VOCABULARY))).any():
        raise ValueError("an id is outside the vocabulary")
    return "".join(VOCABULARY[index] for index in ids.tolist())


def step_losses_softmax_first(logits, targets):
    return -torch.log(torch.softmax(logits, dim=-1).gather(-1, targets[..., None])[..., 0])


def step_losses_without_maximum(logits, targets):
    return torch.log(torch.exp(logits).sum(dim=-1)) - logits.gather(-1, targets[..., None])[..., 0]


def step_losses_with_view(logits, targets):
    """`view` needs contiguous logits; the check passes a transposed view."""
    flat = logits.view(-1, logits.shape[-1])
    return step_losses(flat, targets.reshape(-1)).reshape(targets.shape)


def step_losses_in_bits(logits, targets):
    return step_losses(logits, targets) / math.log(2)


def step_losses_mean(logits, targets):
    return step_losses(logits, targets).mean()


def perplexity_per_row(logits, targets):
    """The mean of each row's perplexity: exp and mean taken in the wrong order."""
    return torch.exp(step_losses(logits, targets).mean(dim=1)).mean()


def perplexity_with_softmax_first(logits, targets):
    return torch.exp(step_losses_softmax_first(logits, targets).mean())


def perplexity_of_sum(logits, targets):
    return torch.exp(step_losses(logits, targets).sum(dim=-1).mean())


def perplexity_base_2(logits, targets):
    return 2 ** step_losses(logits, targets).mean()


def tbptt_per_tensor_clipping(*args):
    return tbptt_chunk(*args, clip=lambda g, max_norm: clipped(g, max_norm, per_tensor=True))


def tbptt_without_clipping(*args):
    return tbptt_chunk(*args, clip=lambda g, max_norm: list(g))


def tbptt_from_zero_state(*args):
    return tbptt_chunk(*args, start_from_h=False)


def tbptt_summed_loss(*args):
    return tbptt_chunk(*args, reduce=torch.sum)


def tbptt_with_one_hot_view(ids, targets, h, parameters, learning_rate, max_norm):
    """One-hot inputs through `ids.view(-1)`, which fails when ids is a non-contiguous view."""
    one_hot = F.one_hot(ids.view(-1), parameters["weight_ih"].shape[1]).to(h.dtype).reshape(*ids.shape, -1)
    assert torch.equal(one_hot.argmax(-1), ids)
    return tbptt_chunk(ids, targets, h, parameters, learning_rate, max_norm)


def tbptt_loss_after_update(ids, targets, h, parameters, learning_rate, max_norm):
    _, new_parameters, h_T = tbptt_chunk(ids, targets, h, parameters, learning_rate, max_norm)
    logits, _ = rnn_language_model(ids, h, new_parameters)
    return step_losses(logits, targets).mean(), new_parameters, h_T


def sample_ignoring_temperature(logits, temperature, num_samples, seed):
    return sample_characters(logits, 1.0 if temperature > 0 else 0.0, num_samples, seed)


def sample_times_temperature(logits, temperature, num_samples, seed):
    if temperature == 0:
        return sample_characters(logits, 0.0, num_samples, seed)
    return sample_characters(logits * temperature * temperature, temperature, num_samples, seed)


def sample_dividing_by_zero(logits, temperature, num_samples, seed):
    if temperature < 0:
        raise ValueError("the temperature must be >= 0")
    generator = torch.Generator().manual_seed(seed)
    probabilities = torch.softmax(logits / temperature, dim=-1).nan_to_num(1.0 / logits.shape[-1])
    return torch.multinomial(probabilities, num_samples, replacement=True, generator=generator)


def sample_with_naive_softmax(logits, temperature, num_samples, seed):
    if temperature < 0:
        raise ValueError("the temperature must be >= 0")
    if temperature == 0:
        return sample_characters(logits, 0.0, num_samples, seed)
    weights = torch.exp(logits / temperature)
    probabilities = (weights / weights.sum(dim=-1, keepdim=True)).nan_to_num(0.0)
    probabilities[probabilities.sum(dim=-1) == 0] = 1.0  # every weight overflowed: guess uniform
    return torch.multinomial(probabilities, num_samples, replacement=True,
                             generator=torch.Generator().manual_seed(seed))


def sample_one_and_repeat(logits, temperature, num_samples, seed):
    """One draw per row, repeated: right probabilities, wrong frequencies."""
    return sample_characters(logits, temperature, 1, seed).expand(-1, num_samples).clone()


def untrained_model():
    generator = torch.Generator().manual_seed(0)
    return {name: torch.randn(value.shape, generator=generator) * 0.1
            for name, value in trained_language_model().items()}


def model_with_reset_and_update_swapped():
    """A GRU trained with its gate rows in the order z, r, n: PyTorch's forward reads them as r, z, n."""
    parameters = dict(trained_language_model())
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        r, z, n = parameters[name].chunk(3, dim=0)
        parameters[name] = torch.cat([z, r, n])
    return parameters


def model_with_pytorch_names():
    parameters = trained_language_model()
    return {{"weight_hy": "readout.weight", "bias_y": "readout.bias"}.get(name, name): value
            for name, value in parameters.items()}


def model_too_wide():
    hidden = 257
    return {"weight_ih": torch.zeros(hidden, len(VOCABULARY)), "weight_hh": torch.zeros(hidden, hidden),
            "bias_ih": torch.zeros(hidden), "bias_hh": torch.zeros(hidden),
            "weight_hy": torch.zeros(len(VOCABULARY), hidden), "bias_y": torch.zeros(len(VOCABULARY))}


MISTAKES = {
    "char_lm.encode": [
        (encode_without_dtype, "dtype"),
        (encode_with_find, "ValueError"),
        (encode_from_one, "`ids` has wrong values"),
    ],
    "char_lm.decode": [
        (decode_without_range_check, "ValueError"),
        (decode_off_by_one_check, "ValueError"),
        (lambda ids: decode(ids)[::-1], "the text differs first at position"),
        (lambda ids: decode(ids)[1:], "expected"),
    ],
    "char_lm.step_losses": [
        (step_losses_softmax_first, "non-finite"),
        (step_losses_without_maximum, "non-finite"),
        (step_losses_with_view, "view"),
        (step_losses_in_bits, "`losses` has wrong values"),
        (step_losses_mean, "`losses` has shape"),
    ],
    "char_lm.perplexity": [
        (perplexity_per_row, "`perplexity` has wrong values"),
        (perplexity_with_softmax_first, "non-finite"),
        (perplexity_of_sum, "`perplexity` has wrong values"),
        (perplexity_base_2, "`perplexity` has wrong values"),
    ],
    "char_lm.tbptt_chunk": [
        (tbptt_per_tensor_clipping, "`new_parameters"),
        (tbptt_without_clipping, "`new_parameters"),
        (tbptt_from_zero_state, "`loss` has wrong values"),
        (tbptt_summed_loss, "`loss` has wrong values"),
        (tbptt_with_one_hot_view, "view"),
        (tbptt_loss_after_update, "`loss` has wrong values"),
    ],
    "char_lm.sample_characters": [
        (sample_ignoring_temperature, "at temperature"),
        (sample_times_temperature, "at temperature"),
        (sample_dividing_by_zero, "temperature 0.0"),
        (sample_with_naive_softmax, "temperature 0.01"),
        (sample_one_and_repeat, "came up with frequency"),
    ],
    "char_lm.language_model_parameters": [
        (untrained_model, "is above the goal"),
        (model_with_reset_and_update_swapped, "is above the goal"),
        (model_with_pytorch_names, "must return a dict with keys"),
        (model_too_wide, "at most 256"),
        (lambda: None, "returned None"),
    ],
}
CASES = [pytest.param(check_id, fn, fragment, id=f"{check_id}-{getattr(fn, '__name__', 'lambda')}-{index}")
         for check_id, mistakes in MISTAKES.items() for index, (fn, fragment) in enumerate(mistakes)]


@pytest.mark.parametrize("check_id, wrong, fragment", CASES)
def test_hidden_check_catches_the_mistake_and_names_it(check_id, wrong, fragment):
    with pytest.raises(AssertionError) as caught:
        grade(check_id, wrong)
    assert fragment in str(caught.value), str(caught.value)


@pytest.mark.parametrize("check_id", sorted(BY_CHECK_ID))
def test_right_implementation_passes_visible_and_hidden_checks(check_id, capsys):
    check(check_id, BY_CHECK_ID[check_id])
    assert grade(check_id, BY_CHECK_ID[check_id]).passed


def test_every_graded_part_has_right_and_wrong_implementations():
    from autograder.assess import checks_of
    graded = set(checks_of("char_lm"))
    assert graded == set(BY_CHECK_ID)
    assert graded - {"char_lm.answer_q1", "char_lm.answer_q2", "char_lm.answer_q3"} == set(MISTAKES)


def test_trained_model_reaches_the_goal_on_both_held_out_splits():
    from rnn_demos.char_lm import split_ids
    parameters = checked_language_model(trained_language_model())
    for split in ("validation", "test"):
        assert held_out_perplexity(parameters, split_ids(split)) <= MAX_PERPLEXITY


def test_the_visible_check_prints_the_perplexity_it_measured(capsys):
    from rnn_demos.char_lm import split_ids
    check("char_lm.language_model_parameters", trained_language_model)
    printed = capsys.readouterr().out
    validation = split_ids("validation")
    measured = held_out_perplexity(checked_language_model(trained_language_model()), validation)
    assert f"perplexity {measured:.2f} on {len(validation):,} characters of held-out text" in printed
    assert f"the goal is at most {MAX_PERPLEXITY:g}" in printed
