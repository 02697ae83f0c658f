"""The demo widgets as a browser without a kernel sees them: the embedded widget state.

The static widget is checked through `ipywidgets.embed.embed_data`, the same state myst-nb writes into
the built page: following its jslink models from the controls to the stacks must show a different
frame for every control value. The live widget is checked by moving its controls in Python.
"""
import base64
import html
import re

import numpy as np
import pytest
import torch
from ipywidgets import embed
from torch import nn

from rnn_demos import char_lm_demos, demos, gradients, widgets

ALL_DEMOS = {**demos.DEMOS, **char_lm_demos.DEMOS}
DEMO_NAMES = sorted(ALL_DEMOS)


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

    def shown_view(self, indices):
        """(png, alt, summary) of the frame a browser shows when control k is at indices[k], following
        the jslinks from the controls to the stacks."""
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
        assert self.state[node]["model_name"] == "HTMLModel"
        return frame_parts(self.state[node]["state"]["value"])

    def shown_frame(self, indices):
        return self.shown_view(indices)[0]

    def default_indices(self):
        return [self.state[c]["state"]["index"] for c in self.controls]


FRAME = re.compile(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]*)"[^>]*>'
                   rf'<p class="{widgets.SUMMARY_CLASS}">([^<]*)</p>')


def frame_parts(value):
    """(png bytes, alt text, summary) of one frame's HTML."""
    match = FRAME.fullmatch(value)
    assert match, f"unexpected frame HTML: {value[:120]}..."
    return base64.b64decode(match.group(1)), html.unescape(match.group(2)), html.unescape(match.group(3))


@pytest.fixture(scope="module")
def static_demos():
    return {name: (ALL_DEMOS[name](), widgets.static_widget(ALL_DEMOS[name]())) for name in DEMO_NAMES}


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
            assert embedded.shown_frame(moved) != shown, \
                f"{name}: moving {control.name} to {index} shows the same frame"


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_every_frame_says_what_it_shows(static_demos, name):
    demo, box = static_demos[name]
    embedded = EmbeddedDemo(box)
    sizes = [len(c.options) for c in demo.controls]
    summaries = set()
    for indices in np.ndindex(*sizes):
        values = {c.name: c.values[i] for c, i in zip(demo.controls, indices)}
        _, alt, summary = embedded.shown_view(list(indices))
        assert alt.startswith(("Plot", "2 plots")) and "axis" in alt, alt
        assert summary == demo.describe(**values)
        summaries.add(summary)
    assert len(summaries) == widgets.frame_count(demo), f"{name}: two settings share a summary"
    assert f"{widgets.FRAMES_CLASS}" in box.children[-1]._dom_classes


def test_summaries_quote_the_numbers_of_the_curves():
    norms = demos.rnn_norms("tanh", 0.5, steps=50)
    assert demos.number(norms[-1]) in demos.describe_rnn_gradients("tanh", 0.5, 50)
    assert "vanishes" in demos.describe_rnn_gradients("tanh", 0.5, 50)
    assert "explodes" in demos.describe_rnn_gradients("relu", 4.0, 50)
    assert demos.number(0.0381) == "0.0381" and demos.number(3.6e-23) == "3.6 × 10^-23"


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
    demo = ALL_DEMOS[name]()
    box = widgets.live_widget(demo)
    knobs = [child for child in box.children if hasattr(child, "index")]
    frame = box.children[-1]
    assert frame_parts(frame.value)[0] == widgets.render_frame(demo, compact=False)
    for knob, control in zip(knobs, demo.controls):
        before = frame.value
        knob.index = (knob.index + 1) % len(control.options)
        assert frame.value != before, f"moving {control.name} did not redraw"
        values = {c.name: c.values[k.index] for c, k in zip(demo.controls, knobs)}
        png, alt, summary = frame_parts(frame.value)
        assert png == widgets.render_frame(demo, compact=False, **values)
        assert summary == demo.describe(**values) and alt


def test_display_mode_follows_the_environment(monkeypatch):
    monkeypatch.setenv("RNN_DEMOS_MODE", "static")
    assert widgets.display_mode() == "static"
    assert f"{widgets.DEMO_CLASS}-static" in widgets.show(demos.latent_state_demo())._dom_classes
    monkeypatch.setenv("RNN_DEMOS_MODE", "Live")
    assert widgets.display_mode() == "live"
    monkeypatch.setenv("RNN_DEMOS_MODE", "kernel")
    with pytest.raises(ValueError, match="RNN_DEMOS_MODE must be one of"):
        widgets.display_mode()
    monkeypatch.delenv("RNN_DEMOS_MODE")
    assert widgets.display_mode() == "live"
    with pytest.raises(ValueError, match="mode must be one of"):
        widgets.show(demos.latent_state_demo(), mode="fast")


def test_controls_reject_a_default_they_do_not_offer():
    with pytest.raises(ValueError, match="control 'x': default 3 is not one of"):
        widgets.Control("x", "x", (("1", 1), ("2", 2)), 3)
    with pytest.raises(ValueError, match="kind must be 'slider' or 'dropdown'"):
        widgets.Control("x", "x", (("1", 1),), 1, kind="knob")


def test_show_cell_gradients_with_an_lstm_cell(capsys):
    torch.manual_seed(0)
    cell = nn.LSTMCell(3, 4)
    norms = demos.show_cell_gradients(lambda x, state: cell(x, state), 3, 4, steps=10, cell_state=True)
    assert norms.shape == (11,) and norms[0] == pytest.approx(1.0)
    expected = gradients.cell_gradient_norms(lambda x, state: cell(x, state), 3, 4, steps=10, cell_state=True)
    np.testing.assert_allclose(norms, expected)
    assert "Image" in capsys.readouterr().out  # outside IPython, display() prints the object's repr


# ----- live in a running Jupyter (JupyterLab 4 and Notebook 7), driven by headless Chromium -----

@pytest.fixture
def jupyter_server(tmp_path):
    """A Jupyter server (JupyterLab and Notebook 7 front ends) on 127.0.0.1, serving a one-cell notebook."""
    import os
    import secrets
    import socket
    import subprocess
    import sys
    import time

    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("from rnn_demos.demos import rnn_demo\nfrom rnn_demos.widgets import show\nshow(rnn_demo())")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "demo.ipynb")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    environment = {key: value for key, value in os.environ.items() if key != "RNN_DEMOS_MODE"}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "the Jupyter server exited at start-up"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the Jupyter server did not start within 60 s"
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", token
    finally:
        server.terminate()
        server.wait(timeout=20)


def run_first_cell_until(page, selector, attempts=4):
    """Shift+Enter in the first cell until `selector` appears (the kernel may still be starting)."""
    for _ in range(attempts):
        page.locator(".jp-Cell .jp-InputArea-editor").first.click()
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_selector(selector, timeout=20_000)
            return
        except Exception:  # playwright's TimeoutError: run the cell again
            pass
    pytest.fail(f"{selector} never appeared after running the cell {attempts} times")


def click_slider_until_it_moves(page, slider, handle, x, y, attempts=3):
    """Click the slider's track at (x, y); click again if the handle did not move (on a loaded machine the
    first click can land before the slider listens)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    position = handle.get_attribute("aria-valuenow")
    for _ in range(attempts):
        slider.click(position={"x": x, "y": y})  # scrolls into view
        try:
            page.wait_for_function("([selector, old]) => document.querySelector(selector)"
                                   ".getAttribute('aria-valuenow') !== old",
                                   arg=[f".{widgets.DEMO_CLASS} .noUi-handle", position], timeout=5_000)
            return
        except PlaywrightTimeout:
            pass
    pytest.fail(f"{attempts} clicks on the slider's track did not move it from {position}")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("front_end", ["lab/tree", "notebooks"])
def test_live_demo_redraws_in_a_running_notebook(browser, jupyter_server, front_end):
    import statistics
    import time

    base_url, token = jupyter_server
    context = browser.new_context()
    page = context.new_page()
    console_errors, external = [], []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.on("request", lambda request: external.append(request.url)
            if not request.url.startswith((base_url, "data:", "blob:")) else None)
    try:
        page.goto(f"{base_url}/{front_end}/demo.ipynb?token={token}")
        run_first_cell_until(page, f".{widgets.DEMO_CLASS}-live img")
        image = page.locator(f".{widgets.DEMO_CLASS} img")
        slider = page.locator(f".{widgets.DEMO_CLASS} .noUi-target").first
        handle = page.locator(f".{widgets.DEMO_CLASS} .noUi-handle").first
        dropdown = page.locator(f".{widgets.DEMO_CLASS} select").first
        round_trips = []
        # Mouse clicks on the slider's track (Notebook 7 keeps arrow keys for its own shortcuts) and the dropdown.
        moves = [("slider", 0.95), ("dropdown", 1), ("slider", 0.05), ("dropdown", 2), ("slider", 0.5)]
        for control, target in moves:
            before = image.get_attribute("src")
            start = time.perf_counter()
            if control == "slider":
                box = slider.bounding_box()
                click_slider_until_it_moves(page, slider, handle, target * box["width"], box["height"] / 2)
            else:
                dropdown.select_option(index=target)
            page.wait_for_function("([selector, old]) => document.querySelector(selector).src !== old",
                                   arg=[f".{widgets.DEMO_CLASS} img", before], timeout=20_000)
            round_trips.append(1000 * (time.perf_counter() - start))
        print(f"{front_end}: control move to new figure, median {statistics.median(round_trips):.0f} ms "
              f"over {len(round_trips)} moves")
        assert console_errors == [] and external == []
    finally:
        context.close()
