"""The cell diagrams draw every label they promise, fit in their figure, and render to PNG."""
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnn_demos import diagrams  # noqa: E402

EXPECTED_LABELS = {
    "draw_unrolled_rnn": [r"$x_t$", r"$h_t$", r"$h_0$", r"$x_{1}$", r"$h_{4}$", r"$W_{hh}$", r"$W_{ih}$", r"$\tanh$"],
    "draw_lstm_cell": [r"$x_t$", r"$h_{t-1}$", r"$C_{t-1}$", r"$h_t$", r"$C_t$", r"$f_t$", r"$i_t$",
                       r"$g_t\ (\tilde{C}_t)$", r"$o_t$", r"$\sigma$", r"$\tanh$", r"$\times$", r"$+$"],
    "draw_gru_cell": [r"$x_t$", r"$h_{t-1}$", r"$h_t$", r"$r_t$", r"$z_t$", r"$\tilde{n}_t$", r"$\sigma$",
                      r"$\tanh$", r"$\times$", r"$+$", r"$1-$"],
}


def _texts(fig):
    """Every Text artist's string on the figure's axes, legends included."""
    strings = []
    for ax in fig.axes:
        strings += [t.get_text() for t in ax.texts]
        if ax.get_legend() is not None:
            strings += [t.get_text() for t in ax.get_legend().get_texts()]
    return strings


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("name", sorted(EXPECTED_LABELS))
def test_diagram_has_its_labels(name):
    fig = getattr(diagrams, name)()
    missing = [label for label in EXPECTED_LABELS[name] if label not in _texts(fig)]
    assert not missing, f"{name} lacks labels {missing}"


@pytest.mark.parametrize("name", sorted(EXPECTED_LABELS))
def test_diagram_renders_to_a_non_blank_png(name):
    fig = getattr(diagrams, name)()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    buffer.seek(0)
    pixels = mpimg.imread(buffer)
    width, height = fig.get_size_inches() * 60
    assert pixels.shape[:2] == (round(height), round(width))
    # Drawn content: a fair share of pixels differ from the white background.
    not_white = np.any(pixels[..., :3] < 0.95, axis=-1).mean()
    assert 0.03 < not_white < 0.6


@pytest.mark.parametrize("name", sorted(EXPECTED_LABELS))
def test_every_label_lies_inside_the_figure(name):
    fig = getattr(diagrams, name)()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    figure_box = fig.bbox
    for ax in fig.axes:
        legend_texts = ax.get_legend().get_texts() if ax.get_legend() is not None else []
        for text in list(ax.texts) + list(legend_texts):
            box = text.get_window_extent(renderer)
            inside = (box.x0 >= figure_box.x0 - 1 and box.x1 <= figure_box.x1 + 1
                      and box.y0 >= figure_box.y0 - 1 and box.y1 <= figure_box.y1 + 1)
            assert inside, f"{name}: label {text.get_text()!r} is cut off by the figure edge"


@pytest.mark.parametrize("name", sorted(EXPECTED_LABELS))
def test_diagram_draws_on_the_given_axes(name):
    fig, ax = plt.subplots()
    returned = getattr(diagrams, name)(ax=ax)
    assert returned is fig
    assert len(ax.texts) > 0 and len(ax.patches) > 0


@pytest.mark.parametrize("steps", [1, 3, 7])
def test_unrolled_rnn_labels_every_step(steps):
    labels = _texts(diagrams.draw_unrolled_rnn(steps=steps))
    for step in range(1, steps + 1):
        assert f"$x_{{{step}}}$" in labels and f"$h_{{{step}}}$" in labels
    assert f"$x_{{{steps + 1}}}$" not in labels
    assert labels.count(r"$W_{hh}$") == steps + 1  # one per unrolled step, plus the folded loop


@pytest.mark.parametrize("steps", [0, -2, 2.5, "4", True])
def test_unrolled_rnn_rejects_a_bad_step_count(steps):
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        diagrams.draw_unrolled_rnn(steps=steps)


def _box_styles(fig):
    """(face colour, line width) of every rounded layer box, in drawing order."""
    from matplotlib.colors import to_hex
    from matplotlib.patches import FancyBboxPatch

    return [(to_hex(p.get_facecolor()), p.get_linewidth()) for p in fig.axes[0].patches
            if isinstance(p, FancyBboxPatch) and p.get_linewidth() != 1.0]  # the background has width 1.0


@pytest.mark.parametrize("name, gates, highlight", [("draw_lstm_cell", "figo", "f"), ("draw_lstm_cell", "figo", "ig"),
                                                    ("draw_gru_cell", "rzn", "z"), ("draw_gru_cell", "rzn", "r")])
def test_highlight_outlines_the_named_gates_and_greys_the_others(name, gates, highlight):
    plain = _box_styles(getattr(diagrams, name)())
    marked = _box_styles(getattr(diagrams, name)(highlight=highlight))
    thick = [style for style in marked if style[1] > 3]
    grey = [style for style in marked if style[0] == diagrams.MUTED_FILL.lower()]
    assert len(thick) == len(highlight)
    assert len(grey) == len(gates) - len(highlight)
    assert all(width < 3 for _, width in plain) and not any(fill == diagrams.MUTED_FILL.lower() for fill, _ in plain)


@pytest.mark.parametrize("name, highlight", [("draw_lstm_cell", "z"), ("draw_gru_cell", "f")])
def test_highlight_rejects_a_gate_the_cell_does_not_have(name, highlight):
    with pytest.raises(ValueError, match="highlight must name gates"):
        getattr(diagrams, name)(highlight=highlight)


@pytest.mark.parametrize("name", sorted(EXPECTED_LABELS))
def test_diagram_carries_alt_text_naming_its_parts(name):
    from rnn_demos.alt_text import alt_text

    text = alt_text(getattr(diagrams, name)())
    assert text.startswith("Diagram of") and "h_t" in text
    if name == "draw_lstm_cell":
        assert "Highlighted: the forget gate" in alt_text(diagrams.draw_lstm_cell(highlight="f"))
