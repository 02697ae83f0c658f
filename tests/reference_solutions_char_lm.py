"""Right implementations of the char_lm parts, student style: `BY_CHECK_ID` maps each check id to one.

tests/test_char_lm_checks.py checks them and its wrong implementations; tests/test_checks.py,
tests/test_new_parts.py and `make gpu-check` (autograder/gpu_check.py) run them too.
"""
import math
import time

import torch
from torch.nn import functional as F

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
    "char_lm.answer_q1": lambda: 1 / math.sqrt(0.9 * 0.1),  # exp of the mean of -ln 0.9 and -ln 0.1
    "char_lm.answer_q2": lambda: "this chunk",
    "char_lm.answer_q3": lambda: 1 / 3,  # (1/2)^3 / ((1/2)^3 + 2 (1/4)^3) = 0.8
}
