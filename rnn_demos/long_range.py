"""The adding problem (Hochreiter & Schmidhuber, 1997) as a long-range test for RNN, LSTM and GRU.

Each sequence has two input channels: a random value in [0, 1) and a marker that is 1 at exactly two
positions (one in the first half, one in the second half) and 0 elsewhere. The target is the sum of the
two marked values. Predicting the constant 1.0 scores MSE = Var(U1 + U2) = 2/12 = 1/6, the baseline
a model has to beat; to beat it, the model must carry the first marked value across up to T - 1 steps.

`run_comparison` trains the three models at growing lengths and caches the test errors in a JSON file
keyed by the configuration. From the command line:

    python -m rnn_demos.long_range          # the small configuration the book page runs
    python -m rnn_demos.long_range --full --jobs 4   # lengths 10 to 200, longer training

The full run writes its results, with its duration and the number of processes it used, to
`FULL_RESULTS_FILE` (committed, read by the long-range chapter, which states how long it took).
The generator of the sequences, `make_adding_batch`, is in rnn_demos.data.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from rnn_demos.data import make_adding_batch

CELLS = ("rnn", "lstm", "gru")
BASELINE_PREDICTION = 1.0
BASELINE_MSE = 1.0 / 6.0
# S - 1, with S the sum of two uniform values, has the density 1 - |u| on [-1, 1]: E[(S - 1)^4] = 1/15, so
# the squared error of the constant prediction 1.0 has variance 1/15 - 1/36 = 7/180.
BASELINE_SQUARED_ERROR_VARIANCE = 7.0 / 180.0
# "Solved": at most 1% of the baseline's error left, a typical error below a tenth of the targets' spread.
SOLVED_FRACTION = 0.01
OUTCOMES = ("solved", "partly", "baseline")
_LAYERS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


@dataclass(frozen=True)
class AddingConfig:
    """Everything that decides the results; the cache key is derived from these fields."""
    lengths: tuple = (4, 8, 16, 32)
    hidden_size: int = 32
    steps: int = 300
    batch_size: int = 64
    learning_rate: float = 0.01
    test_size: int = 1000
    seed: int = 0
    lstm_forget_bias: float = 1.0
    threads: int = 1


SMALL = AddingConfig()
FULL = AddingConfig(lengths=(10, 25, 50, 100, 200), steps=2000, batch_size=128)
FULL_RESULTS_FILE = Path(__file__).resolve().parents[1] / "book" / "comparison" / "adding_full.json"


class AddingModel(torch.nn.Module):
    """One recurrent layer (nn.RNN with tanh, nn.LSTM or nn.GRU) and a linear head on the last output."""

    def __init__(self, cell, hidden_size, lstm_forget_bias=None):
        super().__init__()
        if cell not in _LAYERS:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
        self.recurrent = _LAYERS[cell](input_size=2, hidden_size=hidden_size, batch_first=True)
        self.head = torch.nn.Linear(hidden_size, 1)
        if cell == "lstm" and lstm_forget_bias is not None:
            set_lstm_forget_bias(self.recurrent, lstm_forget_bias)

    def forward(self, inputs):
        outputs, _ = self.recurrent(inputs)
        return self.head(outputs[:, -1]).squeeze(-1)


def set_lstm_forget_bias(lstm, value):
    """Make the forget gate's total bias b_ih + b_hh equal `value` (rows H:2H in PyTorch's i,f,g,o order)."""
    hidden = lstm.hidden_size
    with torch.no_grad():
        lstm.bias_ih_l0[hidden:2 * hidden] = value
        lstm.bias_hh_l0[hidden:2 * hidden] = 0.0


def train_on_adding(cell, length, config=SMALL):
    """Train one model on sequences of `length`; return its test MSE on a fixed held-out set."""
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        torch.manual_seed(config.seed)
        model = AddingModel(cell, config.hidden_size, config.lstm_forget_bias)
        optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        data = torch.Generator().manual_seed(config.seed + 1)
        for _ in range(config.steps):
            inputs, targets = make_adding_batch(config.batch_size, length, data)
            loss = torch.mean((model(inputs) - targets) ** 2)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        test_inputs, test_targets = make_adding_batch(
            config.test_size, length, torch.Generator().manual_seed(config.seed + 2))
        with torch.no_grad():
            return torch.mean((model(test_inputs) - test_targets) ** 2).item()
    finally:
        torch.set_num_threads(previous_threads)


def baseline_standard_error(test_size):
    """Standard error of the baseline's MSE measured on `test_size` held-out sequences."""
    return (BASELINE_SQUARED_ERROR_VARIANCE / test_size) ** 0.5


def outcome(mse, test_size):
    """What a test error says: "baseline" when it is within two standard errors of the baseline's (or above:
    nothing learned that the test set can tell), "solved" when at most SOLVED_FRACTION of the baseline's error
    is left, "partly" in between."""
    if mse >= BASELINE_MSE - 2 * baseline_standard_error(test_size):
        return "baseline"
    return "solved" if mse <= SOLVED_FRACTION * BASELINE_MSE else "partly"


def outcomes(results):
    """{cell: [outcome at each length]} for the results of `run_comparison` (or the stored full file)."""
    return {cell: [outcome(mse, results["config"]["test_size"]) for mse in results["mse"][cell]]
            for cell in CELLS}


def first_length_with(results, cell, wanted):
    """The shortest length at which `cell` has the outcome `wanted` (None if it never has)."""
    found = [length for length, result in zip(results["lengths"], outcomes(results)[cell]) if result == wanted]
    return min(found) if found else None


def longest_length_with(results, cell, wanted):
    """The longest length at which `cell` has the outcome `wanted` (None if it never has)."""
    found = [length for length, result in zip(results["lengths"], outcomes(results)[cell]) if result == wanted]
    return max(found) if found else None


def config_key(config):
    """A short hash of the configuration and the torch version (results may change with either)."""
    text = json.dumps({"config": asdict(config), "torch": torch.__version__}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def default_cache_dir():
    """$RNN_COURSE_CACHE if set, else _build/cache in the repository (ignored by git)."""
    if os.environ.get("RNN_COURSE_CACHE"):
        return Path(os.environ["RNN_COURSE_CACHE"])
    return Path(__file__).resolve().parents[1] / "_build" / "cache"


def run_comparison(config=SMALL, cache_dir=None, verbose=False, jobs=1):
    """Test MSE of each cell at each length: {'lengths': [...], 'mse': {cell: [...]}, ...}.

    Results are read from the cache when this exact configuration has been run before. With jobs > 1
    the models train in that many processes, longest sequences first; every model seeds itself and
    uses `config.threads` threads, so the numbers do not depend on `jobs`.
    """
    cache_file = Path(cache_dir or default_cache_dir()) / f"adding_{config_key(config)}.json"
    if cache_file.exists():
        return json.loads(cache_file.read_text())
    started = time.perf_counter()
    runs = sorted(((cell, length) for length in config.lengths for cell in CELLS), key=lambda run: -run[1])
    found = {}

    def record(run, mse):
        found[run] = mse
        if verbose:
            print(f"T={run[1]:4d} {run[0]:4s} test MSE {mse:.4f}", flush=True)

    if jobs > 1:
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(train_on_adding, cell, length, config): (cell, length) for cell, length in runs}
            for future in concurrent.futures.as_completed(futures):
                record(futures[future], future.result())
    else:
        for cell, length in runs:
            record((cell, length), train_on_adding(cell, length, config))
    mse = {cell: [found[cell, length] for length in config.lengths] for cell in CELLS}
    results = {"config": asdict(config), "torch": torch.__version__, "lengths": list(config.lengths),
               "mse": mse, "baseline_mse": BASELINE_MSE,
               "seconds": round(time.perf_counter() - started, 1), "jobs": jobs}
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so that a build running in parallel never reads a half-written file.
    partial = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(results, indent=1))
    os.replace(partial, cache_file)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train RNN, LSTM and GRU on the adding problem.")
    parser.add_argument("--full", action="store_true", help="longer sequences and training")
    parser.add_argument("--cache-dir", type=Path, default=None, help="where results are cached")
    parser.add_argument("--jobs", type=int, default=1, help="train this many models at once (processes)")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"also write the results here (default with --full: {FULL_RESULTS_FILE})")
    args = parser.parse_args(argv)
    results = run_comparison(FULL if args.full else SMALL, args.cache_dir, verbose=True, jobs=args.jobs)
    output = args.output or (FULL_RESULTS_FILE if args.full else None)
    if output:
        output.write_text(json.dumps(results, indent=1) + "\n")
        print(f"results written to {output}")
    print(json.dumps({"lengths": results["lengths"], "mse": results["mse"],
                      "seconds": results["seconds"]}, indent=1))


if __name__ == "__main__":
    main()
