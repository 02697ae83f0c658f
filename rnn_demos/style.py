"""One look for every figure: colour-blind-safe colours (Okabe and Ito, 2008) and axis helpers.

Importing this module in IPython also makes every figure a cell shows carry its alt text
(`rnn_demos.alt_text`), which the book build puts on the page's <img>.
"""
import matplotlib.pyplot as plt

from rnn_demos.alt_text import register_ipython_formatter, set_alt_text

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}

# Fixed colour per model, so RNN, LSTM and GRU look the same in every chapter.
MODEL_COLOURS = {"rnn": OKABE_ITO["vermillion"], "lstm": OKABE_ITO["blue"], "gru": OKABE_ITO["green"]}
SERIES_COLOURS = [OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky_blue", "black")]


# Figure text at least as large as the site's body text (16 px) where a figure is shown at its own width.
plt.rcParams.update({"font.size": 12, "axes.titlesize": 12, "axes.labelsize": 12, "legend.fontsize": 11,
                     "xtick.labelsize": 11, "ytick.labelsize": 11})


def new_axes(width=6.0, height=3.5, dpi=100, alt=None):
    """A figure with one axes, using the course's colour cycle; `alt` describes it for the page."""
    fig, ax = plt.subplots(figsize=(width, height), dpi=dpi)
    if alt:
        set_alt_text(fig, alt)
    ax.set_prop_cycle(color=SERIES_COLOURS)
    ax.grid(True, alpha=0.3)
    return fig, ax


register_ipython_formatter()
