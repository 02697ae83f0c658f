"""The course's gradient demos: for each, its controls and the figure drawn for one setting of them.

Each `*_demo()` returns a `rnn_demos.widgets.Demo`; `rnn_demos.widgets.show(demo)` presents it (live in a
kernel, precomputed frames on the static site). The numbers come from `rnn_demos.gradients`,
`rnn_demos.clipping` and `rnn_demos.sequence_models`; `show_cell_gradients` runs a student's own cell.
"""
from functools import lru_cache

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator

from rnn_demos import clipping, gradients, sequence_models
from rnn_demos.alt_text import alt_text, png_with_alt
from rnn_demos.data import noisy_periodic_signal
from rnn_demos.style import MODEL_COLOURS, OKABE_ITO, SERIES_COLOURS
from rnn_demos.widgets import Control, Demo, figure_png

NORM_LIMITS = (1e-30, 1e12)  # room for the tanh RNN's curve below the gated cells' (LSTM and GRU demos)
NORM_LABEL = r"$\|\partial h_T / \partial h_t\|$ (spectral norm)"
DISTANCE_LABEL = "distance $T - t$ (time steps)"
LEGEND_POINTS = 11  # at the frames' 96 dpi, about 15 px: close to the body text, and the legends still fit


def _figure(width=6.4, height=3.4, columns=1):
    # Fixed margins: a layout engine would double the drawing time of every frame.
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(left=0.14 / columns, right=0.98, bottom=0.16, top=0.88, wspace=0.35)
    axes = figure.subplots(1, columns, squeeze=False)[0]
    for ax in axes:
        ax.set_prop_cycle(color=SERIES_COLOURS)
        ax.grid(True, alpha=0.3)
    return figure, axes


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(value, _position=None):
    """Tick label 10⁻³ in plain Unicode: mathtext tick labels took half the drawing time of a frame."""
    return "10" + str(round(np.log10(value))).translate(SUPERSCRIPTS)


def _log_y(ax, low, high):
    ax.set_yscale("log")
    ax.set_ylim(low, high)
    ax.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
    ax.yaxis.set_minor_locator(NullLocator())  # 8 minor ticks per decade cost more to draw than the data


def _norm_axes(ax, max_distance):
    _log_y(ax, *NORM_LIMITS)
    ax.set_xlim(0, max_distance)
    ax.axhline(1.0, color=OKABE_ITO["black"], linewidth=0.8, linestyle=":")
    ax.set_xlabel(DISTANCE_LABEL)
    ax.set_ylabel(NORM_LABEL)


def _plot_norms(ax, norms, **style):
    """Norms against distance; zeros and underflow are drawn at the bottom of the axis."""
    ax.plot(np.arange(len(norms)), np.clip(norms, NORM_LIMITS[0], NORM_LIMITS[1] * 10), **style)


def _slider(name, label, values, default, fmt="{}"):
    """A slider whose option labels are the values with their unit (fmt), as the readout shows them."""
    return Control(name, label, tuple((fmt.format(v), v) for v in values), default)


def number(value):
    """A gradient norm as a reader says it: 0.036, 12.5, or 3.6 × 10^-23 outside 0.01 to 1000."""
    if value == 0:
        return "0"
    if 0.01 <= abs(value) < 1000:
        return f"{value:.3g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa} × 10^{int(exponent)}"


def trend(final_norm):
    """What a gradient norm far back says: vanishes, explodes, or neither."""
    if final_norm < 1e-2:
        return "vanishes"
    if final_norm > 1e2:
        return "explodes"
    return "neither vanishes nor explodes"


# The same curves feed the figure and its summary: compute each once.
rnn_norms = lru_cache(maxsize=256)(gradients.rnn_gradient_norms)
lstm_norms = lru_cache(maxsize=256)(gradients.lstm_gradient_norms)
gru_norms = lru_cache(maxsize=256)(gradients.gru_gradient_norms)


# sequence models

AR_HORIZON = 16


def _ar_influence(tau):
    """d xhat_t / d x_(t-k) for k = 1..AR_HORIZON of an AR(tau) fitted to the demo's signal."""
    series = noisy_periodic_signal(1000, seed=0)
    weights, _ = sequence_models.fit_autoregressive(series, tau)  # w_1 .. w_tau, oldest first
    return gradients.ar_influence(weights[::-1], AR_HORIZON)  # by lag: lag k is weighed by w_(tau+1-k)


def draw_ar_window(tau):
    influence = _ar_influence(tau)
    figure, (ax,) = _figure()
    lags = np.arange(1, AR_HORIZON + 1)
    ax.bar(lags, np.abs(influence), color=OKABE_ITO["blue"], label=r"$|\partial \hat x_t / \partial x_{t-k}|$")
    ax.axvspan(tau + 0.5, AR_HORIZON + 0.5, color=OKABE_ITO["orange"], alpha=0.15,
               label="outside the window: exactly 0")
    name = "first-order Markov model" if tau == 1 else f"AR({tau})"
    ax.set_title(f"{name} fitted to a noisy periodic signal")
    ax.set_xlim(0.5, AR_HORIZON + 0.5)
    ax.set_ylim(0, 2.2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("lag $k$ (time steps back)")
    ax.set_ylabel("influence on the prediction")
    ax.legend(loc="upper right", fontsize=LEGEND_POINTS)
    return figure


def describe_ar_window(tau):
    influence = np.abs(_ar_influence(tau))
    strongest = int(np.argmax(influence)) + 1
    return (f"Window τ = {tau}: the prediction depends on the last {tau} values only, most on lag {strongest} "
            f"(influence {influence[strongest - 1]:.2f}); lags {tau + 1} to {AR_HORIZON} have influence 0.")


def ar_window_demo():
    return Demo("How far back does an autoregressive model look?",
                (_slider("tau", "window τ", (1, 2, 3, 4, 6, 8, 12), 4, fmt="{} steps"),), draw_ar_window,
                describe_ar_window)


LATENT_HORIZON = 60
LATENT_LIMITS = (1e-20, 1e8)  # wide enough for a = 0.5 over 60 lags (0.5^59, about 1.7 × 10^-18)


def draw_latent_influence(recurrent_weight):
    figure, (ax,) = _figure()
    influence = np.abs(gradients.latent_influence(recurrent_weight, LATENT_HORIZON))
    lags = np.arange(1, LATENT_HORIZON + 1)
    ax.plot(lags, influence, color=OKABE_ITO["vermillion"], marker=".",
            label=f"latent state, a = {recurrent_weight}")
    ax.plot(lags, np.where(lags <= 4, 1.0, LATENT_LIMITS[0]), color=OKABE_ITO["blue"], drawstyle="steps-mid",
            linestyle="--", label="AR(4): nothing beyond the window")
    _log_y(ax, *LATENT_LIMITS)
    ax.set_xlim(0, LATENT_HORIZON)
    ax.set_xlabel("lag $k$ (time steps back)")
    ax.set_ylabel(r"$|\partial \hat x_{t+1} / \partial x_{t+1-k}|$")
    if abs(recurrent_weight) == 1:
        regime = "stays put"
    else:
        regime = "vanishes" if abs(recurrent_weight) < 1 else "explodes"
    ax.set_title(f"influence $= a^{{k-1}}$: {regime}")
    ax.legend(loc="upper left", fontsize=LEGEND_POINTS)
    return figure


def describe_latent_influence(recurrent_weight):
    influence = np.abs(gradients.latent_influence(recurrent_weight, LATENT_HORIZON))
    if abs(recurrent_weight) == 1:
        verdict = "it stays at 1: an input from long ago counts as much as the last one"
    else:
        verdict = f"it {'shrinks' if abs(recurrent_weight) < 1 else 'grows'} geometrically with the lag"
    return (f"Recurrent weight a = {recurrent_weight}: the influence of the input {LATENT_HORIZON} steps back "
            f"is a^{LATENT_HORIZON - 1} = {number(influence[-1])}; {verdict}. The AR(4) model ignores "
            "everything beyond lag 4.")


def latent_state_demo():
    return Demo("A latent state remembers through its recurrent weight",
                (_slider("recurrent_weight", "recurrent weight a",
                         (0.5, 0.7, 0.9, 0.95, 1.0, 1.05, 1.1, 1.3), 0.9),),
                draw_latent_influence, describe_latent_influence)


# RNN

def draw_rnn_gradients(activation, spectral_radius, steps):
    figure, (ax,) = _figure()
    norms = rnn_norms(activation, spectral_radius, steps=steps)
    _plot_norms(ax, norms, color=MODEL_COLOURS["rnn"], label=f"{activation}, spectral radius {spectral_radius}")
    _norm_axes(ax, 100)
    ax.set_title(f"vanilla RNN ({activation}), {steps} steps")
    ax.legend(loc="upper right", fontsize=LEGEND_POINTS)
    return figure


def describe_rnn_gradients(activation, spectral_radius, steps):
    norms = rnn_norms(activation, spectral_radius, steps=steps)
    return (f"{activation}, spectral radius {spectral_radius}, {steps} steps: the gradient norm is "
            f"{number(norms[min(10, steps)])} 10 steps back and {number(norms[-1])} {steps} steps back; "
            f"it {trend(norms[-1])}.")


def rnn_demo():
    return Demo("Gradient through time in a vanilla RNN", (
        Control("activation", "activation", (("tanh", "tanh"), ("sigmoid", "sigmoid"), ("ReLU", "relu")),
                "tanh", kind="dropdown"),
        _slider("spectral_radius", "spectral radius of W_hh", (0.5, 0.9, 1.0, 1.5, 2.0, 4.0, 8.0, 12.0), 1.0),
        _slider("steps", "sequence length T", (20, 50, 100), 50, fmt="{} steps"),
    ), draw_rnn_gradients, describe_rnn_gradients)


CLIP_ITERATIONS = 20


def draw_clipping(learning_rate, max_norm):
    figure, (surface, progress) = _figure(width=7.0, height=3.2, columns=2)  # 672 px at 96 dpi: fits the 1280 px page unscaled
    grid = np.linspace(-2.5, 4.5, 1401)
    loss, _ = clipping.cliff_loss_and_gradient(grid)
    surface.plot(grid, loss, color=OKABE_ITO["black"], linewidth=1)
    path = clipping.descend(clipping.CLIFF_FACE, learning_rate, CLIP_ITERATIONS, max_norm=max_norm)
    path_loss, _ = clipping.cliff_loss_and_gradient(path)
    shown = np.clip(path, grid[0], grid[-1])
    colour = OKABE_ITO["blue"] if max_norm else OKABE_ITO["vermillion"]
    surface.plot(shown, path_loss, marker="o", markersize=3, color=colour, linewidth=0.8)
    outside = np.abs(path) > np.abs(shown) + 1e-9
    if outside.any():
        first = int(np.argmax(outside))
        surface.annotate(f"thrown to w = {path[first]:.0f}", (shown[first], path_loss[first]),
                         xytext=(0.05, 0.6), textcoords="axes fraction", fontsize=LEGEND_POINTS,
                         arrowprops={"arrowstyle": "->", "color": colour})
    surface.set_xlabel("recurrent weight $w$")
    surface.set_ylabel(r"loss $(h_T + 1)^2$")
    surface.set_xlim(grid[0], grid[-1])
    progress.plot(path_loss, color=colour, marker="o", markersize=3)
    _log_y(progress, 1e-4, 10)
    progress.set_xlabel("iteration")
    progress.set_ylabel("loss (log scale)")
    clip_text = f"clipped to norm {max_norm}" if max_norm else "no clipping"
    figure.suptitle(f"learning rate {learning_rate}, {clip_text}", fontsize=12)
    return figure


def describe_clipping(learning_rate, max_norm):
    path = clipping.descend(clipping.CLIFF_FACE, learning_rate, CLIP_ITERATIONS, max_norm=max_norm)
    path_loss, _ = clipping.cliff_loss_and_gradient(path)
    clip_text = f"clipping at norm {max_norm}" if max_norm else "no clipping"
    return (f"Learning rate {learning_rate}, {clip_text}: the first step moves w from {path[0]:.2f} to "
            f"{path[1]:.2f}; the loss goes from {number(path_loss[0])} to {number(path_loss[-1])} "
            f"after {CLIP_ITERATIONS} iterations.")


def clipping_demo():
    return Demo("Gradient descent next to a cliff, with and without clipping", (
        _slider("learning_rate", "learning rate", (0.1, 0.25, 0.5, 1.0), 0.25),
        Control("max_norm", "clip gradient norm at",
                (("no clipping", None), ("4", 4.0), ("1", 1.0), ("0.25", 0.25)),
                None, kind="dropdown"),
    ), draw_clipping, describe_clipping)


# LSTM and GRU

GATE_BIASES = (-3.0, -1.0, 0.0, 1.0, 2.0, 3.0, 5.0)
GATED_RECURRENT_SCALES = (0.5, 1.0, 2.0, 4.0)


def _plot_rnn_reference(ax, recurrent_scale, steps):
    """The tanh RNN's curve at the same recurrent scale, dotted, for the gated cells to be read against."""
    _plot_norms(ax, rnn_norms("tanh", recurrent_scale, steps=steps),
                color=MODEL_COLOURS["rnn"], linestyle=":", label="tanh RNN, same recurrent scale")


def draw_lstm_gradients(forget_bias, recurrent_scale, steps=60):
    figure, (ax,) = _figure()
    h_norms, c_norms = lstm_norms(forget_bias, recurrent_scale, steps=steps)
    _plot_rnn_reference(ax, recurrent_scale, steps)
    _plot_norms(ax, h_norms, color=MODEL_COLOURS["lstm"], label=r"LSTM $\|\partial h_T/\partial h_t\|$")
    _plot_norms(ax, c_norms, color=MODEL_COLOURS["lstm"], linestyle="--",
                label=r"LSTM $\|\partial C_T/\partial C_t\|$ (cell state)")
    _norm_axes(ax, steps)
    forget = 1 / (1 + np.exp(-forget_bias))
    ax.set_title(f"forget-gate bias {forget_bias} (f ≈ {forget:.2f} with zero input)")
    ax.legend(loc="lower left", fontsize=LEGEND_POINTS)
    return figure


def describe_lstm_gradients(forget_bias, recurrent_scale, steps=60):
    h_norms, c_norms = lstm_norms(forget_bias, recurrent_scale, steps=steps)
    rnn = rnn_norms("tanh", recurrent_scale, steps=steps)
    return (f"Forget-gate bias {forget_bias}, recurrent scale {recurrent_scale}: {steps} steps back the "
            f"cell-state gradient is {number(c_norms[-1])} (it {trend(c_norms[-1])}), the hidden-state "
            f"gradient {number(h_norms[-1])}, the tanh RNN's {number(rnn[-1])}.")


def lstm_demo():
    return Demo("The LSTM cell state carries the gradient when the forget gate stays open", (
        _slider("forget_bias", "forget-gate bias", GATE_BIASES, 1.0),
        _slider("recurrent_scale", "recurrent weight scale", GATED_RECURRENT_SCALES, 1.0),
    ), draw_lstm_gradients, describe_lstm_gradients)


def draw_gru_gradients(update_bias, recurrent_scale, steps=60):
    figure, (ax,) = _figure()
    _plot_rnn_reference(ax, recurrent_scale, steps)
    _plot_norms(ax, gru_norms(update_bias, recurrent_scale, steps=steps),
                color=MODEL_COLOURS["gru"], label="GRU")
    _norm_axes(ax, steps)
    keep = 1 / (1 + np.exp(-update_bias))
    ax.set_title(f"update-gate bias {update_bias} (z ≈ {keep:.2f}: share of h kept)")
    ax.legend(loc="lower left", fontsize=LEGEND_POINTS)
    return figure


def describe_gru_gradients(update_bias, recurrent_scale, steps=60):
    norms = gru_norms(update_bias, recurrent_scale, steps=steps)
    rnn = rnn_norms("tanh", recurrent_scale, steps=steps)
    return (f"Update-gate bias {update_bias}, recurrent scale {recurrent_scale}: {steps} steps back the GRU's "
            f"gradient is {number(norms[-1])} (it {trend(norms[-1])}), the tanh RNN's {number(rnn[-1])}.")


def gru_demo():
    return Demo("The GRU update gate decides how much gradient passes", (
        _slider("update_bias", "update-gate bias", GATE_BIASES, 1.0),
        _slider("recurrent_scale", "recurrent weight scale", GATED_RECURRENT_SCALES, 1.0),
    ), draw_gru_gradients, describe_gru_gradients)


def draw_comparison(recurrent_scale, steps):
    figure, (ax,) = _figure()
    h_norms, c_norms = lstm_norms(2.0, recurrent_scale, steps=steps)
    _plot_norms(ax, rnn_norms("tanh", recurrent_scale, steps=steps),
                color=MODEL_COLOURS["rnn"], label="RNN (tanh)")
    _plot_norms(ax, h_norms, color=MODEL_COLOURS["lstm"], label="LSTM, forget bias 2")
    _plot_norms(ax, gru_norms(2.0, recurrent_scale, steps=steps),
                color=MODEL_COLOURS["gru"], label="GRU, update bias 2")
    _norm_axes(ax, 100)
    ax.set_title(f"same recurrent scale {recurrent_scale}, {steps} steps")
    ax.legend(loc="lower left", fontsize=LEGEND_POINTS)
    return figure


def describe_comparison(recurrent_scale, steps):
    rnn = rnn_norms("tanh", recurrent_scale, steps=steps)
    lstm, _ = lstm_norms(2.0, recurrent_scale, steps=steps)
    gru = gru_norms(2.0, recurrent_scale, steps=steps)
    return (f"Recurrent scale {recurrent_scale}, {steps} steps back: RNN {number(rnn[-1])}, "
            f"LSTM {number(lstm[-1])}, GRU {number(gru[-1])}.")


def comparison_demo():
    return Demo("RNN, LSTM and GRU side by side", (
        _slider("recurrent_scale", "recurrent weight scale", (0.5, 1.0, 2.0, 3.0, 4.0), 1.0),
        _slider("steps", "sequence length T", (20, 50, 100), 50, fmt="{} steps"),
    ), draw_comparison, describe_comparison)


DEMOS = {
    "ar_window": ar_window_demo, "latent_state": latent_state_demo, "rnn": rnn_demo, "clipping": clipping_demo,
    "lstm": lstm_demo, "gru": gru_demo, "comparison": comparison_demo,
}


# ----- a student's own cell -----

def show_cell_gradients(step, input_size, hidden_size, steps=50, seed=0, cell_state=False):
    """Plot ||d h_T / d h_t|| against T - t for the student's `step(x_t, state) -> state`; return the norms.

    `state` is h of shape (1, hidden_size), or the pair (h, c) when cell_state=True (an LSTM).
    """
    from IPython.display import Image, display

    norms = gradients.cell_gradient_norms(step, input_size, hidden_size, steps=steps, seed=seed,
                                          cell_state=cell_state)
    figure, (ax,) = _figure()
    _plot_norms(ax, norms, color=OKABE_ITO["purple"], marker=".", label="your cell")
    _norm_axes(ax, steps)
    ax.set_title(f"your cell: hidden size {hidden_size}, {steps} steps from a zero state")
    ax.legend(loc="lower left", fontsize=LEGEND_POINTS)
    display(Image(png_with_alt(figure_png(figure, dpi=90), alt_text(figure))))
    return norms
