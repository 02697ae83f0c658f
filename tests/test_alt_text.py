"""Alt text of the course's figures: read from a figure, stored in its PNG, and attached by a real kernel."""
import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from rnn_demos.alt_text import (alt_text, describe_figure, plain_text, png_alt, png_with_alt,  # noqa: E402
                                set_alt_text)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=40)
    return buffer.getvalue()


def test_description_names_title_axes_scales_and_curves():
    figure, ax = plt.subplots()
    ax.plot([1, 2], [1, 10], label=r"$\|\partial h_T / \partial h_t\|$")
    ax.plot([1, 2], [2, 3], label="baseline")
    ax.set_yscale("log")
    ax.set_xlabel("steps back, $T - t$")
    ax.set_ylabel("norm")
    ax.set_title(r"$\tanh$ RNN")
    ax.legend()
    text = describe_figure(figure)
    assert text == ("Plot. Panel “tanh RNN”. Horizontal axis: steps back, T - t. Vertical axis: norm, "
                    "logarithmic scale. Shown: ‖∂ h_T / ∂ h_t‖; baseline.")


def test_plain_text_reads_tex_as_symbols():
    assert plain_text(r"$a^{k-1}$ and $x_{t+1}$, $\hat x_t$, $\sigma(2)$") == "a^(k-1) and x_(t+1), x̂_t, σ(2)"


def test_hand_written_text_wins_and_must_not_be_empty():
    figure, ax = plt.subplots()
    ax.set_xlabel("x")
    assert alt_text(figure).startswith("Plot.")
    set_alt_text(figure, "A sine wave.")
    assert alt_text(figure) == "A sine wave."
    with pytest.raises(ValueError):
        set_alt_text(figure, "  ")


def test_text_survives_in_the_png_which_stays_a_valid_image():
    figure, ax = plt.subplots()
    original = _png(figure)
    assert png_alt(original) is None
    marked = png_with_alt(original, "Diagram: ‖∂h‖ falls ≈ 10^-3")
    assert png_alt(marked) == "Diagram: ‖∂h‖ falls ≈ 10^-3"
    with Image.open(io.BytesIO(marked)) as image:
        image.load()  # raises on a corrupt chunk (bad CRC or length)
        assert image.size == Image.open(io.BytesIO(original)).size
        assert image.info.get("Description") == "Diagram: ‖∂h‖ falls ≈ 10^-3"
    with pytest.raises(ValueError):
        png_with_alt(b"GIF89a", "x")


def test_a_kernel_that_imports_the_course_style_puts_the_text_in_every_figure(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nfrom rnn_demos.style import new_axes\n"
                                  "fig, ax = new_axes()\nax.set_xlabel('time step')\nplt.show()"),
        nbformat.v4.new_code_cell("fig, ax = new_axes(alt='A hand-written description.')\nplt.show()"),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nax.set_ylabel('loss')"),  # shown at the end of the cell
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    texts = []
    for cell in notebook.cells:
        (png,) = [o["data"]["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})]
        texts.append(png_alt(base64.b64decode(png)))
    assert texts == ["Plot. Horizontal axis: time step.", "A hand-written description.", "Plot. Vertical axis: loss."]
