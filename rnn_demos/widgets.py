"""The gradient demos as widgets: live in a Jupyter kernel, precomputed frames on the static site.

A `Demo` is a title, a few `Control`s (each a short list of values), a `draw(**values)` function
that returns a matplotlib figure and a `describe(**values)` function that says in one or two sentences
what that figure shows (the trend, with its numbers). Every frame is an <img> whose alt text describes
the figure (`rnn_demos.alt_text`) followed by that summary, so a reader who cannot see the figure hears
what changed. Two thin presenters show it:

- `live_widget`: the controls redraw the figure in the kernel whenever they move;
- `static_widget`: every combination of control values is drawn once, as a PNG, into nested
  `ipywidgets.Stack`s whose `selected_index` is `jslink`-ed to the controls, so that the page keeps
  working in a browser with no kernel (the widget state is saved in the notebook and the built HTML).
  On the site, _ext/static/demo_access.js names the sliders, reads their values with units and makes the
  stack of frames a live region.

`show(demo)` picks one from the environment variable RNN_DEMOS_MODE=live|static, live when unset; the
book build sets it to static (_ext/static_demos.py). The course's demos are defined in `rnn_demos.demos`.
"""
import base64
import html
import io
import itertools
import os
from dataclasses import dataclass
from typing import Callable

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from PIL import Image as PILImage

from rnn_demos.alt_text import alt_text

FRAME_DPI = 96  # 12-point figure text is 16 px, the size of the body text
PALETTE_COLOURS = 32
DEMO_CLASS = "rnn-gradient-demo"
FRAMES_CLASS = "rnn-demo-frames"
SUMMARY_CLASS = "rnn-demo-summary"
MODES = ("live", "static")


@dataclass(frozen=True)
class Control:
    """One knob: `name` is the keyword passed to draw, `options` the (label, value) pairs it offers."""

    name: str
    label: str
    options: tuple
    default: object
    kind: str = "slider"

    def __post_init__(self):
        if self.kind not in ("slider", "dropdown"):
            raise ValueError(f"control {self.name!r}: kind must be 'slider' or 'dropdown', got {self.kind!r}")
        if self.default not in self.values:
            raise ValueError(f"control {self.name!r}: default {self.default!r} is not one of {self.values}")

    @property
    def values(self):
        return [value for _, value in self.options]


@dataclass(frozen=True)
class Demo:
    title: str
    controls: tuple
    draw: Callable[..., Figure]
    describe: Callable[..., str]

    def defaults(self):
        return {control.name: control.default for control in self.controls}


# ----- presenters -----

def render_frame(demo, compact=True, **values):
    """The demo's figure for these control values, as PNG bytes (see `figure_png` for `compact`)."""
    return figure_png(demo.draw(**{**demo.defaults(), **values}), compact=compact)


def render_view(demo, compact=True, **values):
    """(png, alt, summary) for these control values: the figure, its alt text and the demo's summary."""
    values = {**demo.defaults(), **values}
    figure = demo.draw(**values)
    return figure_png(figure, compact=compact), alt_text(figure), demo.describe(**values)


def frame_html(png, alt, summary):
    """One frame: the figure at its own pixel width (never wider than the page) and its summary below."""
    width = int.from_bytes(png[16:20], "big")  # from the PNG header (IHDR)
    source = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (f'<img src="{source}" alt="{html.escape(alt)}" width="{width}" '
            f'style="max-width: 100%; height: auto">'
            f'<p class="{SUMMARY_CLASS}">{html.escape(summary)}</p>')


def figure_png(figure, dpi=FRAME_DPI, compact=True):
    """PNG bytes; compact ones have a 32-colour palette, about a quarter of the size, for the static pages.

    The live widget skips that step: its frames are never stored, and the palette costs time per update.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    if not compact:
        return buffer.getvalue()
    palette = PILImage.open(buffer).convert("RGB").quantize(colors=PALETTE_COLOURS,
                                                            method=PILImage.Quantize.FASTOCTREE)
    output = io.BytesIO()
    palette.save(output, format="png", optimize=True)
    return output.getvalue()


def make_control(control):
    options = [(label, index) for index, (label, _) in enumerate(control.options)]
    common = dict(options=options, value=control.values.index(control.default), description=control.label,
                  style={"description_width": "initial"})
    if control.kind == "dropdown":
        return widgets.Dropdown(**common)
    return widgets.SelectionSlider(continuous_update=True, layout={"width": "100%", "max_width": "460px"},
                                   **common)


def _frame(view):
    return widgets.HTML(frame_html(*view))


def _nested_stack(demo, knobs, chosen):
    """A Stack per control level; the innermost children are the frames for every combination."""
    depth = len(chosen)
    if depth == len(demo.controls):
        return _frame(render_view(demo, **chosen))
    control, knob = demo.controls[depth], knobs[depth]
    stack = widgets.Stack(children=[_nested_stack(demo, knobs, {**chosen, control.name: value})
                                    for value in control.values],
                          selected_index=knob.index)
    widgets.jslink((knob, "index"), (stack, "selected_index"))
    return stack


def static_widget(demo):
    """Every frame precomputed; the controls only choose which one is visible (no kernel needed)."""
    knobs = [make_control(control) for control in demo.controls]
    frames = _nested_stack(demo, knobs, {})
    frames.add_class(FRAMES_CLASS)
    return _demo_box(demo, knobs, frames, "static")


def live_widget(demo):
    """The controls redraw the figure in the kernel: one `render_frame` per change."""
    knobs = [make_control(control) for control in demo.controls]
    frame = _frame(render_view(demo, compact=False))
    frame.add_class(FRAMES_CLASS)

    def redraw(_change=None):
        values = {control.name: control.values[knob.index] for control, knob in zip(demo.controls, knobs)}
        frame.value = frame_html(*render_view(demo, compact=False, **values))

    for knob in knobs:
        knob.observe(redraw, names="index")
    return _demo_box(demo, knobs, frame, "live")


def _demo_box(demo, knobs, view, mode):
    box = widgets.VBox([widgets.HTML(f"<b>{demo.title}</b>"), *knobs, view])
    box.add_class(DEMO_CLASS)
    box.add_class(f"{DEMO_CLASS}-{mode}")
    return box


def display_mode():
    """"live" or "static": RNN_DEMOS_MODE if set (the book build sets static), else live."""
    mode = os.environ.get("RNN_DEMOS_MODE", "live").strip().lower()
    if mode not in MODES:
        raise ValueError(f"RNN_DEMOS_MODE must be one of {MODES}, got {mode!r}")
    return mode


def show(demo, mode=None):
    """The demo as a widget, live or static (see `display_mode`)."""
    mode = mode or display_mode()
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return static_widget(demo) if mode == "static" else live_widget(demo)


def frame_count(demo):
    return int(np.prod([len(control.options) for control in demo.controls]))


def all_values(demo):
    """Every combination of control values, as keyword dicts."""
    names = [control.name for control in demo.controls]
    return [dict(zip(names, combo)) for combo in itertools.product(*(c.values for c in demo.controls))]
