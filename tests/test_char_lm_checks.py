"""The char_lm checks: right implementations pass, and each wrong one below is caught by the hidden check
with a message that names the mistake.

`BY_CHECK_ID` holds the right implementations (tests/test_checks.py runs its generic tests on them too);
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

CHARACTER_IDS = {character: index for index, character in enumerate(VOCABULARY)}


# ----- right implementations -----

def encode(text):
    if any(character not in CHARACTER_IDS for character in text):
        raise ValueError("a character is not in the vocabulary")
    return torch.tensor([CHARACTER_IDS[character] for character in text], dtype=torch.int64)


def decode(ids):
    if ((ids < 0) | (ids >= len(VOCABULARY))).any():
        raise ValueError("an id is outside the vocabulary")
    return "".join(VOCABULARY[index] for index in ids.tolist())


def step_losses(logits, targets):
    return torch.logsumexp(logits, dim=-1) - logits.gather(-1, targets[..., None])[..., 0]


def perplexity(logits, targets):
    return torch.exp(step_losses(logits, targets).mean())


def rnn_language_model(ids, h, parameters):
    states = []
    for t in range(ids.shape[1]):
        h = torch.tanh(parameters["weight_ih"].T[ids[:, t]] + parameters["bias_ih"]
                       + h @ parameters["weight_hh"].T + parameters["bias_hh"])
        states.append(h)
    return torch.stack(states, dim=1) @ parameters["weight_hy"].T + parameters["bias_y"], h


def clipped(gradients, max_norm, per_tensor=False):
    if per_tensor:
        return [g * torch.clamp(max_norm / (g.norm() + 1e-6), max=1.0) for g in gradients]
    total = torch.sqrt(sum((g ** 2).sum() for g in gradients))
    return [g * torch.clamp(max_norm / (total + 1e-6), max=1.0) for g in gradients]


def tbptt_chunk(ids, targets, h, parameters, learning_rate, max_norm, *, losses=step_losses, clip=clipped,
                start_from_h=True, reduce=torch.mean):
    leaves = {name: value.detach().clone().requires_grad_(True) for name, value in parameters.items()}
    logits, h_T = rnn_language_model(ids, h if start_from_h else torch.zeros_like(h), leaves)
    loss = reduce(losses(logits, targets))
    gradients = clip(torch.autograd.grad(loss, list(leaves.values())), max_norm)
    new_parameters = {name: (value - learning_rate * g).detach()
                      for (name, value), g in zip(leaves.items(), gradients)}
    return loss.detach(), new_parameters, h_T.detach()


def sample_characters(logits, temperature, num_samples, seed):
    if temperature < 0:
        raise ValueError("the temperature must be >= 0")
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True).expand(-1, num_samples).clone()
    generator = torch.Generator(device=logits.device).manual_seed(seed)
    return torch.multinomial(torch.softmax(logits / temperature, dim=-1), num_samples, replacement=True,
                             generator=generator)


# ----- a trained GRU language model, in tensor operations (the sandbox refuses nn.GRU) -----

TRAINING = dict(hidden=128, batch_size=32, chunk_length=50, learning_rate=0.005, updates=450, seed=0)
_TRAINED = {}


def gru_step(x_part, h, p):
    i_r, i_z, i_n = (x_part + p["bias_ih"]).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ p["weight_hh"].T + p["bias_hh"]).chunk(3, dim=1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    return (1 - z) * torch.tanh(i_n + r * h_n) + z * h


def train_gru(hidden, batch_size, chunk_length, learning_rate, updates, seed):
    """A GRU language model trained for a fixed number of updates (truncated BPTT, clipping, Adam)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generator = torch.Generator().manual_seed(seed)
        shapes = {"weight_ih": (3 * hidden, len(VOCABULARY)), "weight_hh": (3 * hidden, hidden),
                  "bias_ih": (3 * hidden,), "bias_hh": (3 * hidden,), "weight_hy": (len(VOCABULARY), hidden)}
        p = {name: ((torch.rand(*shape, generator=generator) * 2 - 1) * hidden ** -0.5).requires_grad_(True)
             for name, shape in shapes.items()}
        p["bias_y"] = torch.zeros(len(VOCABULARY), requires_grad=True)
        optimiser = torch.optim.Adam(p.values(), lr=learning_rate)
        ids = encode(split_text("train"))
        epochs = (batch for _ in iter(int, 1) for batch in enumerate(sequential_batches(ids, batch_size, chunk_length)))
        for _, (index, (inputs, targets)) in zip(range(updates), epochs):
            h = torch.zeros(batch_size, hidden) if index == 0 else h.detach()  # a new epoch starts from zero
            states = []
            for t in range(chunk_length):
                h = gru_step(p["weight_ih"].T[inputs[:, t]], h, p)
                states.append(h)
            loss = step_losses(torch.stack(states, dim=1) @ p["weight_hy"].T + p["bias_y"], targets).mean()
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(p.values(), 1.0)
            optimiser.step()
        return {name: value.detach().clone() for name, value in p.items()}
    finally:
        torch.set_num_threads(threads)


def trained_language_model():
    """The parameters of train_gru(**TRAINING), trained once per test session."""
    if not _TRAINED:
        start = time.process_time()
        _TRAINED["parameters"] = train_gru(**TRAINING)
        _TRAINED["cpu_seconds"] = time.process_time() - start
    return _TRAINED["parameters"]


BY_CHECK_ID = {
    "char_lm.encode": encode,
    "char_lm.decode": decode,
    "char_lm.step_losses": step_losses,
    "char_lm.perplexity": perplexity,
    "char_lm.tbptt_chunk": tbptt_chunk,
    "char_lm.sample_characters": sample_characters,
    "char_lm.language_model_parameters": trained_language_model,
    "char_lm.answer_q1": lambda: "103",
    "char_lm.answer_q2": lambda: "yes",
    "char_lm.answer_q3": lambda: "uniform",
}


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
        (tbptt_per_tensor_clipping, "`parameters"),
        (tbptt_without_clipping, "`parameters"),
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
