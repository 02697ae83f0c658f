"""Character-level language models: counting baselines, RNN/LSTM/GRU models, training, sampling.

The text is `rnn_demos.text_data` (Python's documentation topics, split by documents). A model reads
one character per step (one-hot, so the columns of `weight_ih` act as an embedding) and predicts the
next one with a softmax over the 103 characters at every step:

    h_t = cell(x_t, h_{t-1}),    logits_t = h_t W_hy^T + b_y,    P(x_{t+1} | x_1..x_t) = softmax(logits_t)

The loss is the cross-entropy of the true next characters; the perplexity is exp(mean cross-entropy per
character). Training uses truncated backpropagation through time: chunks of `chunk_length` characters,
the hidden state carried from one chunk to the next and detached between them, gradient clipping by norm.

`python -m rnn_demos.char_lm` trains the chapter's three models and writes RESULTS_FILE (validation
perplexities at several training lengths, samples at several temperatures, gradient norms); the book
reads that file. A test retrains the shortest run and compares it with the stored numbers.
"""
import argparse
import concurrent.futures
import json
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from rnn_demos import gradients
from rnn_demos.text_data import VOCABULARY, random_batches, sequential_batches, split_text

CELLS = ("rnn", "lstm", "gru")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
VOCABULARY_SIZE = len(VOCABULARY)
_IDS = {character: index for index, character in enumerate(VOCABULARY)}
_LAYERS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
PARAMETER_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hy", "bias_y")
RESULTS_FILE = Path(__file__).resolve().parents[1] / "book" / "char_lm" / "results.json"


# ----- characters as ids -----

def encode(text):
    """The ids of the characters of `text` (positions in VOCABULARY), a 1-D int64 tensor."""
    try:
        return torch.tensor([_IDS[character] for character in text], dtype=torch.int64)
    except KeyError as error:
        raise ValueError(f"character {error.args[0]!r} is not in the vocabulary") from None


def decode(ids):
    """The text whose character ids are `ids` (a 1-D tensor or a list of ints)."""
    return "".join(VOCABULARY[int(index)] for index in ids)


def split_ids(split):
    return encode(split_text(split))


# ----- counting baselines (the Markov chapter's models, for characters) -----

def unigram_probabilities(train_ids, smoothing=1.0):
    """P(x) from character frequencies, with `smoothing` added to every count (no character has P = 0)."""
    counts = torch.bincount(train_ids, minlength=VOCABULARY_SIZE).double() + smoothing
    return counts / counts.sum()


def bigram_probabilities(train_ids, smoothing=0.1):
    """The transition matrix A[i, j] = P(x_t = j | x_{t-1} = i) from counts, add-`smoothing` per entry."""
    counts = torch.full((VOCABULARY_SIZE, VOCABULARY_SIZE), float(smoothing), dtype=torch.float64)
    counts.index_put_((train_ids[:-1], train_ids[1:]), torch.ones(len(train_ids) - 1, dtype=torch.float64),
                      accumulate=True)
    return counts / counts.sum(dim=1, keepdim=True)


def unigram_perplexity(train_ids, eval_ids, smoothing=1.0):
    """exp of the mean cross-entropy of `eval_ids` (all but the first, as for the bigram) under P(x)."""
    log_p = unigram_probabilities(train_ids, smoothing).log()
    return math.exp(-log_p[eval_ids[1:]].mean().item())


def bigram_perplexity(train_ids, eval_ids, smoothing=0.1):
    """exp of the mean cross-entropy of x_2..x_T of `eval_ids` under the bigram model A."""
    log_a = bigram_probabilities(train_ids, smoothing).log()
    return math.exp(-log_a[eval_ids[:-1], eval_ids[1:]].mean().item())


# ----- the model -----

class CharLanguageModel(torch.nn.Module):
    """One recurrent layer (nn.RNN with tanh, nn.LSTM or nn.GRU) on one-hot characters, a linear readout."""

    def __init__(self, cell, hidden_size):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
        self.cell = cell
        self.recurrent = _LAYERS[cell](input_size=VOCABULARY_SIZE, hidden_size=hidden_size, batch_first=True)
        self.readout = torch.nn.Linear(hidden_size, VOCABULARY_SIZE)

    def forward(self, ids, state=None):
        """Logits (batch, steps, vocabulary) for ids (batch, steps), and the final state."""
        inputs = F.one_hot(ids, VOCABULARY_SIZE).to(self.readout.weight.dtype)
        outputs, state = self.recurrent(inputs, state)
        return self.readout(outputs), state


def detach_state(state):
    """The state with its history cut: a tensor, or the LSTM's pair (h, c)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(part.detach() for part in state)
    return state.detach()


def parameters_of(model):
    """The model's parameters in the exercise's layout: PyTorch's cell weights and the readout."""
    layer = model.recurrent
    values = (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0,
              model.readout.weight, model.readout.bias)
    return {name: value.detach().clone() for name, value in zip(PARAMETER_NAMES, values)}


def model_from_parameters(parameters):
    """A CharLanguageModel holding `parameters` (the layout of `parameters_of`); the cell follows from the
    number of gate blocks in weight_hh (1: tanh RNN, 3: GRU, 4: LSTM)."""
    hidden_size = parameters["weight_hh"].shape[1]
    blocks = parameters["weight_hh"].shape[0] // hidden_size
    cell = {blocks_: name for name, blocks_ in GATES.items()}.get(blocks)
    if cell is None or parameters["weight_hh"].shape[0] != blocks * hidden_size:
        raise ValueError(f"weight_hh of shape {tuple(parameters['weight_hh'].shape)} is not 1, 3 or 4 blocks")
    model = CharLanguageModel(cell, hidden_size).to(parameters["weight_hh"].dtype)
    layer = model.recurrent
    with torch.no_grad():
        for name, target in zip(PARAMETER_NAMES, (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0,
                                                  layer.bias_hh_l0, model.readout.weight, model.readout.bias)):
            target.copy_(parameters[name])
    return model


# ----- loss and perplexity -----

def mean_cross_entropy(logits, targets):
    """The cross-entropy in nats per character: the loss summed over every step and row, over their count."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


@torch.no_grad()
def next_character_logits(model, ids, reset_every=None):
    """Logits for x_2..x_T given x_1..x_{T-1} (one stream from a zero state), shape (T - 1, vocabulary).

    With `reset_every = k`, the state goes back to zero every k characters: the model then sees at most
    k characters of context.
    """
    inputs = ids[:-1]
    if reset_every is None:
        return model(inputs[None])[0][0]
    whole = len(inputs) // reset_every * reset_every
    # Every row of k characters starts from a zero state: one call for all of them.
    pieces = [model(inputs[:whole].reshape(-1, reset_every))[0].reshape(whole, -1)]
    if whole < len(inputs):
        pieces.append(model(inputs[whole:][None])[0][0])
    return torch.cat(pieces)


def perplexity(model, ids, temperature=1.0, reset_every=None):
    """exp(mean cross-entropy) of x_2..x_T under the model, its logits divided by `temperature`."""
    logits = next_character_logits(model, ids, reset_every) / temperature
    return math.exp(mean_cross_entropy(logits, ids[1:]).item())


def perplexity_from_logits(logits, targets, temperature=1.0):
    return math.exp(mean_cross_entropy(logits / temperature, targets).item())


# ----- sampling -----

def sampling_distribution(logits, temperature):
    """softmax(logits / temperature); temperature 0 puts all the mass on the most likely character."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return F.one_hot(logits.argmax(dim=-1), logits.shape[-1]).to(logits.dtype)
    return torch.softmax(logits / temperature, dim=-1)


@torch.no_grad()
def sample(model, prompt, length, temperature=1.0, generator=None):
    """`length` characters that follow `prompt`, drawn one at a time (temperature 0: greedy decoding)."""
    logits, state = model(encode(prompt)[None])
    last = logits[0, -1]
    drawn = []
    for _ in range(length):
        probabilities = sampling_distribution(last, temperature)
        character = torch.multinomial(probabilities, 1, generator=generator)
        drawn.append(int(character))
        logits, state = model(character[None], state)
        last = logits[0, -1]
    return decode(drawn)


# ----- training -----

@dataclass(frozen=True)
class TrainingConfig:
    """Everything that decides a training run; the stored results are checked against these fields."""
    cell: str = "gru"
    hidden_size: int = 256
    batch_size: int = 32
    chunk_length: int = 100
    learning_rate: float = 0.002
    max_norm: float = 1.0
    checkpoints: tuple = (30, 100, 300, 1000)
    partition: str = "sequential"
    seed: int = 0
    threads: int = 1


def training_batches(ids, config, generator):
    """Endless (inputs, targets, continues): epoch after epoch, each from a new random offset (sequential
    partitioning) or in a new random order. `continues` says whether row b of the batch carries on the
    text of row b of the previous batch: always within a sequential epoch, never for random chunks.
    """
    if config.partition not in ("sequential", "random"):
        raise ValueError(f"partition must be 'sequential' or 'random', got {config.partition!r}")
    while True:
        if config.partition == "sequential":
            offset = int(torch.randint(0, config.chunk_length, (1,), generator=generator))
            epoch = sequential_batches(ids[offset:], config.batch_size, config.chunk_length)
            for index, (inputs, targets) in enumerate(epoch):
                yield inputs, targets, index > 0
        else:
            for inputs, targets in random_batches(ids, config.batch_size, config.chunk_length, generator):
                yield inputs, targets, False


def train(config, train_ids=None, at_checkpoint=None):
    """Train one model; call `at_checkpoint(updates, model)` after each of `config.checkpoints` updates.

    With sequential partitioning the state is carried from chunk to chunk (and detached between them);
    with random partitioning every chunk starts from a zero state. Returns the model and the mean
    training loss of each checkpoint's last 20 updates.
    """
    if config.cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {config.cell!r}")
    train_ids = split_ids("train") if train_ids is None else train_ids
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        torch.manual_seed(config.seed)
        model = CharLanguageModel(config.cell, config.hidden_size)
        optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        batches = training_batches(train_ids, config, torch.Generator().manual_seed(config.seed + 1))
        state, recent, losses = None, [], {}
        for update in range(1, max(config.checkpoints) + 1):
            inputs, targets, continues = next(batches)
            logits, state = model(inputs, detach_state(state) if continues else None)
            loss = mean_cross_entropy(logits, targets)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_norm)
            optimiser.step()
            recent = (recent + [loss.item()])[-20:]
            if update in config.checkpoints:
                losses[update] = sum(recent) / len(recent)
                if at_checkpoint is not None:
                    model.eval()
                    at_checkpoint(update, model)
                    model.train()
        return model, losses
    finally:
        torch.set_num_threads(previous_threads)


# ----- gradient norms through a chunk of text -----

def cell_weights(model):
    """The trained recurrent layer as `rnn_demos.gradients.CellWeights` (float64 numpy)."""
    parameters = parameters_of(model)
    return gradients.CellWeights(*(parameters[name].double().numpy()
                                   for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))


def jacobian_norms_on_text(model, ids):
    """||d h_T / d h_(T-k)|| (spectral) for k = 0..T while the model reads `ids` (T characters) from zero."""
    weights = cell_weights(model)
    inputs = F.one_hot(ids, VOCABULARY_SIZE).double().numpy()
    if model.cell == "rnn":
        return gradients.rnn_jacobian_norms(weights, inputs, "tanh")
    if model.cell == "lstm":
        return gradients.lstm_jacobian_norms(weights, inputs)[0]
    return gradients.gru_jacobian_norms(weights, inputs)


# ----- the chapter's experiment -----

@dataclass(frozen=True)
class ChapterExperiment:
    """The runs the chapter shows: one per cell, samples and perplexities at every checkpoint."""
    training: TrainingConfig = TrainingConfig()
    temperatures: tuple = (0.0, 0.5, 0.8, 1.0, 1.5)
    prompt: str = "The "
    sample_length: int = 240
    sample_seed: int = 0
    gradient_chunk: int = 300
    context_limits: tuple = (1, 2, 4, 8, 16, 32, 64, 100, 256, 1024)
    partition_updates: int = 300


EXPERIMENT = ChapterExperiment()


def run_cell(experiment, cell, verbose=False):
    """Train one cell of the experiment and record what the chapter shows of it."""
    config = replace(experiment.training, cell=cell)
    validation = split_ids("validation")
    gradient_text = validation[:experiment.gradient_chunk]
    record = {"updates": [], "validation_perplexity": [], "temperature_perplexity": [], "samples": [],
              "training_loss": [], "gradient_norms": []}
    started = time.process_time()
    torch.set_num_threads(config.threads)

    def at_checkpoint(updates, model):
        logits = next_character_logits(model, validation)
        record["updates"].append(updates)
        record["validation_perplexity"].append(perplexity_from_logits(logits, validation[1:]))
        record["temperature_perplexity"].append(
            [perplexity_from_logits(logits, validation[1:], t) if t > 0 else None
             for t in experiment.temperatures])
        generator = torch.Generator().manual_seed(experiment.sample_seed)
        record["samples"].append([sample(model, experiment.prompt, experiment.sample_length, t, generator)
                                  for t in experiment.temperatures])
        record["gradient_norms"].append(jacobian_norms_on_text(model, gradient_text).tolist())
        if verbose:
            print(f"{cell:4s} {updates:5d} updates: validation perplexity "
                  f"{record['validation_perplexity'][-1]:.3f}", flush=True)

    torch.manual_seed(config.seed)
    initial = CharLanguageModel(cell, config.hidden_size)
    record["initial_gradient_norms"] = jacobian_norms_on_text(initial, gradient_text).tolist()
    model, losses = train(config, at_checkpoint=at_checkpoint)
    record["training_loss"] = [losses[u] for u in record["updates"]]
    record["cpu_seconds"] = round(time.process_time() - started, 1)
    record["context_perplexity"] = [perplexity(model, validation, reset_every=k)
                                    for k in experiment.context_limits]
    return record


def run_partition(experiment, partition):
    """Validation perplexity of the GRU after `partition_updates` updates with this partitioning."""
    config = replace(experiment.training, cell="gru", partition=partition,
                     checkpoints=(experiment.partition_updates,))
    model, _ = train(config)
    return perplexity(model, split_ids("validation"))


def run_experiment(experiment=EXPERIMENT, jobs=1, verbose=False):
    started = time.perf_counter()
    tasks = [("cell", cell) for cell in CELLS] + [("partition", p) for p in ("sequential", "random")]
    if jobs > 1:
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {task: pool.submit(_run_task, experiment, task, verbose) for task in tasks}
            found = {task: future.result() for task, future in futures.items()}
    else:
        found = {task: _run_task(experiment, task, verbose) for task in tasks}
    return {"experiment": json.loads(json.dumps(asdict(experiment))), "torch": torch.__version__,
            "cells": {cell: found["cell", cell] for cell in CELLS},
            "partition_perplexity": {p: found["partition", p] for p in ("sequential", "random")},
            "seconds": round(time.perf_counter() - started, 1)}


def _run_task(experiment, task, verbose):
    kind, name = task
    return run_cell(experiment, name, verbose) if kind == "cell" else run_partition(experiment, name)


def load_results(path=RESULTS_FILE):
    """The stored results, after checking that they are those of EXPERIMENT."""
    results = json.loads(Path(path).read_text())
    if results["experiment"] != json.loads(json.dumps(asdict(EXPERIMENT))):
        raise ValueError(f"{path} holds the results of another experiment: run `python -m rnn_demos.char_lm`")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the character-level language models of the chapter.")
    parser.add_argument("--jobs", type=int, default=1, help="train this many models at once (processes)")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="where the results are written")
    args = parser.parse_args(argv)
    results = run_experiment(EXPERIMENT, jobs=args.jobs, verbose=True)
    args.output.write_text(json.dumps(results, indent=1) + "\n")
    print(f"results written to {args.output}")


if __name__ == "__main__":
    main()
