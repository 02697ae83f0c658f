"""One look for every figure: colour-blind-safe colours (Okabe and Ito, 2008) and axis helpers."""
import matplotlib.pyplot as plt

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


def new_axes(width=6.0, height=3.5, dpi=100):
    """A figure with one axes, using the course's colour cycle."""
    fig, ax = plt.subplots(figsize=(width, height), dpi=dpi)
    ax.set_prop_cycle(color=SERIES_COLOURS)
    ax.grid(True, alpha=0.3)
    return fig, ax
