"""The demos of the character-level language-model chapter, drawn from the stored results.

Both read `rnn_demos.char_lm.RESULTS_FILE` (written by `python -m rnn_demos.char_lm`), so a page build
trains nothing:

- `samples_demo()`: a cell, a training length and a temperature choose a sample of the trained model,
  shown beside the validation-perplexity curve of that cell;
- `gradient_norms_demo()`: the training length chooses the weights; the figure shows
  ||d h_T / d h_(T-k)|| of the three cells while they read the same chunk of validation text.

Each returns a `rnn_demos.widgets.Demo`; `rnn_demos.widgets.show` presents it.
"""
import textwrap
from functools import lru_cache

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator

from rnn_demos.alt_text import set_alt_text
from rnn_demos.char_lm import CELLS, bigram_perplexity, load_results, split_ids
from rnn_demos.demos import LEGEND_POINTS, number
from rnn_demos.style import MODEL_COLOURS, OKABE_ITO
from rnn_demos.widgets import Control, Demo

SAMPLE_COLUMNS = 60
NEWLINE_MARK = "↵"
CELL_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


@lru_cache(maxsize=1)
def results():
    return load_results()


@lru_cache(maxsize=1)
def bigram_validation_perplexity():
    return bigram_perplexity(split_ids("train"), split_ids("validation"))


def checkpoint_index(updates):
    return results()["cells"][CELLS[0]]["updates"].index(updates)


def temperature_index(temperature):
    return results()["experiment"]["temperatures"].index(temperature)


def sample_text(cell, updates, temperature):
    """The stored sample: what the model wrote after the prompt."""
    return results()["cells"][cell]["samples"][checkpoint_index(updates)][temperature_index(temperature)]


def visible_lines(text, columns=SAMPLE_COLUMNS):
    """The sample as lines of at most `columns` characters, each newline shown as ↵ and kept as a break."""
    lines = []
    for paragraph in text.split("\n"):
        lines += textwrap.wrap(paragraph, columns, drop_whitespace=False, replace_whitespace=False) or [""]
        lines[-1] += NEWLINE_MARK
    lines[-1] = lines[-1].removesuffix(NEWLINE_MARK)
    return lines


def temperature_label(temperature):
    return "0 (greedy)" if temperature == 0 else f"{temperature:g}"


def sampled_perplexity(cell, updates, temperature):
    """Validation perplexity of the distribution sampled at this temperature (None: greedy, infinite)."""
    return results()["cells"][cell]["temperature_perplexity"][checkpoint_index(updates)][
        temperature_index(temperature)]


# ----- samples at a temperature -----

def draw_samples(cell, updates, temperature):
    record = results()["cells"][cell]
    figure = Figure(figsize=(7.0, 5.0))
    curve = figure.add_axes((0.12, 0.58, 0.84, 0.33))
    curve.plot(record["updates"], record["validation_perplexity"], marker="o", color=MODEL_COLOURS[cell],
               label=f"{CELL_NAMES[cell]}, validation")
    shown = checkpoint_index(updates)
    curve.plot([updates], [record["validation_perplexity"][shown]], marker="o", markersize=12,
               markerfacecolor="none", markeredgewidth=2, color=OKABE_ITO["black"], linestyle="none",
               label="the model sampled below")
    curve.axhline(bigram_validation_perplexity(), color=OKABE_ITO["black"], linestyle="--",
                  linewidth=1, label="bigram counts")
    curve.set_xscale("log")
    curve.set_yscale("log")
    curve.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    curve.yaxis.set_minor_locator(NullLocator())
    curve.set_yticks([3, 5, 10, 20, 30])
    curve.set_xlabel("training updates (log scale)")
    curve.set_ylabel("perplexity")
    curve.grid(True, alpha=0.3)
    curve.legend(loc="upper right", fontsize=LEGEND_POINTS)
    curve.set_title(f"{CELL_NAMES[cell]} after {updates} updates, temperature {temperature_label(temperature)}")
    text = figure.add_axes((0.02, 0.0, 0.96, 0.42))
    text.axis("off")
    prompt = results()["experiment"]["prompt"]
    lines = visible_lines(prompt + sample_text(cell, updates, temperature))
    text.text(0.0, 0.98, "\n".join(lines), family="monospace", fontsize=10.5, va="top", parse_math=False)
    set_alt_text(figure, (
        f"Plot of the validation perplexity of the {CELL_NAMES[cell]} language model (logarithmic axis) against "
        f"training updates (logarithmic axis), {number(record['validation_perplexity'][0])} after "
        f"{record['updates'][0]} updates and {number(record['validation_perplexity'][-1])} after "
        f"{record['updates'][-1]}, the model after {updates} updates circled; a dashed line at the bigram "
        f"baseline. Below it, the sample drawn at temperature {temperature_label(temperature)}, printed in the "
        "text under the figure."))
    return figure


def describe_samples(cell, updates, temperature):
    validation = results()["cells"][cell]["validation_perplexity"][checkpoint_index(updates)]
    scaled = sampled_perplexity(cell, updates, temperature)
    scaled_text = ("greedy decoding has infinite perplexity" if scaled is None
                   else f"at this temperature {number(scaled)}")
    prompt = results()["experiment"]["prompt"]
    return (f"{CELL_NAMES[cell]} after {updates} updates: validation perplexity {number(validation)} "
            f"({scaled_text}). Sample at temperature {temperature_label(temperature)}, after the prompt "
            f"“{prompt}”: “{sample_text(cell, updates, temperature)}”")


def samples_demo():
    experiment = results()["experiment"]
    return Demo("Samples of the trained character models", (
        Control("cell", "model", tuple((CELL_NAMES[cell], cell) for cell in CELLS), "gru", kind="dropdown"),
        Control("updates", "training length", tuple((f"{u} updates", u) for u in experiment["training"]["checkpoints"]),
                experiment["training"]["checkpoints"][-1]),
        Control("temperature", "temperature", tuple((temperature_label(t), t) for t in experiment["temperatures"]),
                1.0 if 1.0 in experiment["temperatures"] else experiment["temperatures"][0]),
    ), draw_samples, describe_samples)


# ----- gradient norms through a chunk of text -----

NORM_LIMITS = (1e-40, 1e4)


def gradient_norms(cell, updates):
    """||d h_T / d h_(T-k)|| for k = 0..chunk of `cell` after `updates` updates (0: the initial weights)."""
    record = results()["cells"][cell]
    if updates == 0:
        return np.array(record["initial_gradient_norms"])
    return np.array(record["gradient_norms"][checkpoint_index(updates)])


def draw_gradient_norms(updates):
    figure = Figure(figsize=(6.4, 3.6))
    figure.subplots_adjust(left=0.14, right=0.98, bottom=0.16, top=0.88)
    ax = figure.add_subplot()
    chunk = results()["experiment"]["training"]["chunk_length"]
    for cell in CELLS:
        norms = gradient_norms(cell, updates)
        ax.plot(np.arange(len(norms)), np.clip(norms, NORM_LIMITS[0], NORM_LIMITS[1] * 10),
                color=MODEL_COLOURS[cell], label=CELL_NAMES[cell])
    ax.axvline(chunk, color=OKABE_ITO["black"], linestyle="--", linewidth=1,
               label=f"chunk length {chunk}: truncated BPTT stops")
    ax.axhline(1.0, color=OKABE_ITO["black"], linewidth=0.8, linestyle=":")
    ax.set_yscale("log")
    ax.set_ylim(*NORM_LIMITS)
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xlim(0, len(gradient_norms(CELLS[0], updates)) - 1)
    ax.set_xlabel("distance $k = T - t$ (characters)")
    ax.set_ylabel(r"$\|\partial h_T / \partial h_t\|$ (spectral norm)")
    ax.set_title("initial weights" if updates == 0 else f"after {updates} updates")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left", fontsize=LEGEND_POINTS)
    return figure


def describe_gradient_norms(updates):
    chunk = results()["experiment"]["training"]["chunk_length"]
    parts = [f"{CELL_NAMES[cell]} {number(gradient_norms(cell, updates)[chunk])}" for cell in CELLS]
    weights = "With the initial weights" if updates == 0 else f"After {updates} updates"
    return f"{weights}, the gradient norm {chunk} characters back is: {', '.join(parts)}."


def gradient_norms_demo():
    checkpoints = results()["experiment"]["training"]["checkpoints"]
    options = (("initial weights", 0),) + tuple((f"{u} updates", u) for u in checkpoints)
    return Demo("Gradients through a chunk of text, before and during training",
                (Control("updates", "training length", options, checkpoints[-1]),),
                draw_gradient_norms, describe_gradient_norms)


DEMOS = {"char_lm_samples": samples_demo, "char_lm_gradients": gradient_norms_demo}
