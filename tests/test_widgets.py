"""The demo widgets as a browser without a kernel sees them: the embedded widget state.

The static widget is checked through `ipywidgets.embed.embed_data`, the same state myst-nb writes into
the built page: following its jslink models from the controls to the stacks must show a different
frame for every control value. The live widget is checked by moving its controls in Python.
"""
import base64

import numpy as np
import pytest
import torch
from ipywidgets import embed
from torch import nn

from rnn_demos import gradients, widgets

DEMO_NAMES = sorted(widgets.DEMOS)


def embedded_state(box):
    """{model_id: {"model_name": ..., "state": ..., "buffers": ...}} for every widget alive."""
    return embed.embed_data(views=[box])["manager_state"]["state"]


def model_id(reference):
    return reference.removeprefix("IPY_MODEL_")


class EmbeddedDemo:
    """One static demo as found in the embedded state: its controls, its links, its stack tree."""

    def __init__(self, box):
        self.state = embedded_state(box)
        children = [model_id(child) for child in self.state[box.model_id]["state"]["children"]]
        self.controls = [c for c in children if self.state[c]["model_name"] in ("SelectionSliderModel",
                                                                                 "DropdownModel")]
        self.root = children[-1]
        self.links = [link["state"] for link in self.state.values() if link["model_name"] == "LinkModel"]

    def shown_frame(self, indices):
        """The frame a browser shows when control k is at indices[k], following the jslinks."""
        selected = {}
        for link in self.links:
            source, source_trait = link["source"]
            target, target_trait = link["target"]
            if model_id(source) in self.controls:
                assert (source_trait, target_trait) == ("index", "selected_index")
                selected[model_id(target)] = indices[self.controls.index(model_id(source))]
        node = self.root
        while self.state[node]["model_name"] == "StackModel":
            assert node in selected, f"stack {node} is linked to no control"
            node = model_id(self.state[node]["state"]["children"][selected[node]])
        assert self.state[node]["model_name"] == "ImageModel"
        (buffer,) = self.state[node]["buffers"]
        return base64.b64decode(buffer["data"])

    def default_indices(self):
        return [self.state[c]["state"]["index"] for c in self.controls]


@pytest.fixture(scope="module")
def static_demos():
    return {name: (widgets.DEMOS[name](), widgets.static_widget(widgets.DEMOS[name]())) for name in DEMO_NAMES}


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_every_control_value_shows_another_frame(static_demos, name):
    demo, box = static_demos[name]
    embedded = EmbeddedDemo(box)
    assert len(embedded.controls) == len(demo.controls)
    start = embedded.default_indices()
    shown = embedded.shown_frame(start)
    assert shown == widgets.render_frame(demo)  # the default frame is the one drawn at the defaults
    for position, control in enumerate(demo.controls):
        for index in range(len(control.options)):
            if index == start[position]:
                continue
            moved = list(start)
            moved[position] = index
            assert embedded.shown_frame(moved) != shown, f"{name}: moving {control.name} to {index} shows the same frame"


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_all_frames_are_distinct_pngs(static_demos, name):
    demo, box = static_demos[name]
    embedded = EmbeddedDemo(box)
    sizes = [len(c.options) for c in demo.controls]
    frames = {embedded.shown_frame(list(indices)) for indices in np.ndindex(*sizes)}
    assert len(frames) == widgets.frame_count(demo)
    assert all(frame.startswith(b"\x89PNG\r\n\x1a\n") for frame in frames)


def test_static_demo_carries_its_css_class(static_demos):
    _, box = static_demos["rnn"]
    assert widgets.DEMO_CLASS in box._dom_classes and f"{widgets.DEMO_CLASS}-static" in box._dom_classes


@pytest.mark.parametrize("name", ["rnn", "clipping", "lstm"])
def test_live_widget_redraws_on_every_control(name):
    demo = widgets.DEMOS[name]()
    box = widgets.live_widget(demo)
    knobs = [child for child in box.children if hasattr(child, "index")]
    image = box.children[-1]
    assert image.value == widgets.render_frame(demo, compact=False)
    for knob, control in zip(knobs, demo.controls):
        before = image.value
        knob.index = (knob.index + 1) % len(control.options)
        assert image.value != before, f"moving {control.name} did not redraw"
        values = {c.name: c.values[k.index] for c, k in zip(demo.controls, knobs)}
        assert image.value == widgets.render_frame(demo, compact=False, **values)


def test_display_mode_follows_the_environment(monkeypatch):
    monkeypatch.setenv("RNN_DEMOS_MODE", "static")
    assert widgets.display_mode() == "static"
    assert f"{widgets.DEMO_CLASS}-static" in widgets.show(widgets.latent_state_demo())._dom_classes
    monkeypatch.setenv("RNN_DEMOS_MODE", "Live")
    assert widgets.display_mode() == "live"
    monkeypatch.setenv("RNN_DEMOS_MODE", "kernel")
    with pytest.raises(ValueError, match="RNN_DEMOS_MODE must be one of"):
        widgets.display_mode()
    monkeypatch.delenv("RNN_DEMOS_MODE")
    assert widgets.display_mode() == "live"  # pytest is not a book build
    with pytest.raises(ValueError, match="mode must be one of"):
        widgets.show(widgets.latent_state_demo(), mode="fast")


@pytest.mark.parametrize("command, is_build", [
    (["/work/.venv/bin/python", "/work/.venv/bin/jupyter-book", "build", "."], True),
    (["jb", "build", "."], True),
    (["python3", "-m", "sphinx", "-b", "html", "src", "out"], True),
    (["/usr/bin/python3", "/home/me/jupyter-book-notes/.venv/bin/jupyter-lab"], False),
    (["python", "-m", "ipykernel_launcher", "-f", "kernel.json"], False),
    (["python", "-m"], False),
])
def test_build_commands_are_recognised(command, is_build):
    assert widgets.is_build_command(command) is is_build


def test_controls_reject_a_default_they_do_not_offer():
    with pytest.raises(ValueError, match="control 'x': default 3 is not one of"):
        widgets.Control("x", "x", (("1", 1), ("2", 2)), 3)
    with pytest.raises(ValueError, match="kind must be 'slider' or 'dropdown'"):
        widgets.Control("x", "x", (("1", 1),), 1, kind="knob")


def test_show_cell_gradients_with_an_lstm_cell(capsys):
    torch.manual_seed(0)
    cell = nn.LSTMCell(3, 4)
    norms = widgets.show_cell_gradients(lambda x, state: cell(x, state), 3, 4, steps=10, cell_state=True)
    assert norms.shape == (11,) and norms[0] == pytest.approx(1.0)
    expected = gradients.cell_gradient_norms(lambda x, state: cell(x, state), 3, 4, steps=10, cell_state=True)
    np.testing.assert_allclose(norms, expected)
    assert "Image" in capsys.readouterr().out  # outside IPython, display() prints the object's repr
