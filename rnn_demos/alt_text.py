"""Text alternatives for the course's figures: what a reader who cannot see a figure is told.

- `describe_figure(figure)` says what a matplotlib figure shows, read from the figure itself: its title,
  each axes' title, axis labels and scales, and the labels of its curves (legend entries).
- `set_alt_text(figure, text)` gives a figure a hand-written description instead (a diagram, or a plot
  whose trend matters more than its axes); `alt_text(figure)` returns whichever applies.
- `png_with_alt(png, text)` stores the text inside the PNG (an iTXt "Description" chunk) and
  `png_alt(png)` reads it back: the book build (_ext/accessible_site.py) turns it into the `alt` of the
  page's <img>, so every figure a chapter shows carries its text, whichever page draws it.
- `register_ipython_formatter()` makes IPython's PNG of every matplotlib figure carry that chunk;
  `rnn_demos.style` calls it on import, so chapters need nothing more than the course's style.
"""
import base64
import re
import struct
import weakref
import zlib

from matplotlib.figure import Figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALT_KEYWORD = b"Description"
_EXPLICIT = weakref.WeakKeyDictionary()

# TeX in labels, as words and symbols a screen reader says.
_TEX_WORDS = {
    r"\partial": "∂", r"\sigma": "σ", r"\tau": "τ", r"\rho": "ρ", r"\gamma": "γ", r"\phi": "φ",
    r"\tanh": "tanh", r"\|": "‖", r"\cdot": "·", r"\times": "×", r"\le": "≤", r"\ge": "≥",
    r"\approx": "≈", r"\lVert": "‖", r"\rVert": "‖", r"\ ": " ", r"\,": " ", r"\odot": "⊙",
    r"\operatorname": "", r"\mathrm": "", r"\text": "", r"\left": "", r"\right": "",
}


def plain_text(label):
    """A matplotlib label without its mathtext markup: '$\\|\\partial h_T\\|$' -> '‖∂ h_T‖'."""
    text = label.replace("$", "")
    for macro in sorted(_TEX_WORDS, key=len, reverse=True):
        text = text.replace(macro, _TEX_WORDS[macro])
    text = re.sub(r"([_^])\{([^{}]*[^{}\s][^{}]*)\}", lambda m: f"{m.group(1)}({m.group(2)})"
                  if len(m.group(2)) > 1 else m.group(1) + m.group(2), text)
    text = re.sub(r"\\(hat|tilde|bar)\s*\{?([A-Za-z])\}?",
                  lambda m: m.group(2) + {"hat": "\u0302", "tilde": "\u0303", "bar": "\u0304"}[m.group(1)],
                  text)
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text).replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text).strip()


def _axes_description(ax):
    parts = []
    if ax.get_title():
        parts.append(f"Panel “{plain_text(ax.get_title())}”.")
    for name, label, scale in (("Horizontal", ax.get_xlabel(), ax.get_xscale()),
                               ("Vertical", ax.get_ylabel(), ax.get_yscale())):
        if label:
            suffix = ", logarithmic scale" if scale == "log" and "log" not in label else ""
            parts.append(f"{name} axis: {plain_text(label)}{suffix}.")
    legend = ax.get_legend()
    labels = [text.get_text() for text in legend.get_texts()] if legend else []
    if labels:
        parts.append("Shown: " + "; ".join(plain_text(label) for label in labels) + ".")
    return " ".join(parts)


def describe_figure(figure):
    """What the figure shows, from its titles, axis labels and scales, and curve labels."""
    parts = []
    suptitle = getattr(figure, "_suptitle", None)
    if suptitle is not None and suptitle.get_text():
        parts.append(f"{plain_text(suptitle.get_text())}.")
    axes = [ax for ax in figure.get_axes() if ax.axison]
    kind = "Plot" if len(axes) <= 1 else f"{len(axes)} plots side by side"
    parts.extend(_axes_description(ax) for ax in axes)
    text = " ".join(part for part in parts if part)
    return f"{kind}. {text}" if text else ""


def set_alt_text(figure, text):
    """Describe `figure` by `text` (instead of the description read from its labels); returns figure."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("alt text must be a non-empty string")
    _EXPLICIT[figure] = text.strip()
    return figure


def alt_text(figure):
    """The hand-written description if one was set, else `describe_figure`."""
    return _EXPLICIT.get(figure) or describe_figure(figure)


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_alt(png, text):
    """The PNG with `text` stored as an uncompressed iTXt "Description" chunk right after its header."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    header_end = len(PNG_SIGNATURE) + 8 + struct.unpack(">I", png[8:12])[0] + 4  # IHDR: length, type, data, crc
    itxt = _chunk(b"iTXt", ALT_KEYWORD + b"\0\0\0\0\0" + text.encode("utf-8"))
    return png[:header_end] + itxt + png[header_end:]


def png_alt(png):
    """The "Description" text stored in a PNG, or None."""
    if not png.startswith(PNG_SIGNATURE):
        return None
    position = len(PNG_SIGNATURE)
    while position + 8 <= len(png):
        length = struct.unpack(">I", png[position:position + 4])[0]
        kind = png[position + 4:position + 8]
        data = png[position + 8:position + 8 + length]
        if kind == b"iTXt" and data.startswith(ALT_KEYWORD + b"\0"):
            keyword_end = len(ALT_KEYWORD) + 1
            compressed = data[keyword_end] == 1
            # Skip compression flag and method, then language tag and translated keyword (each 0-ended).
            rest = data[keyword_end + 2:]
            rest = rest[rest.index(b"\0") + 1:]
            rest = rest[rest.index(b"\0") + 1:]
            return (zlib.decompress(rest) if compressed else rest).decode("utf-8")
        if kind == b"IEND":
            break
        position += 12 + length
    return None


def register_ipython_formatter():
    """In IPython, make the PNG of every displayed matplotlib figure carry its alt text (no-op elsewhere)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        current = formatter.lookup_by_type(Figure)
    except KeyError:
        # The inline backend registers its formatter when pyplot first loads the backend, usually at the
        # first figure, which would replace ours: load it now (same backend), then wrap its formatter.
        import matplotlib
        import matplotlib.pyplot as plt

        plt.switch_backend(matplotlib.get_backend())
        try:
            current = formatter.lookup_by_type(Figure)
        except KeyError:
            return False
    if getattr(current, "adds_alt_text", False):
        return True

    def png_of_figure(figure):
        png = current(figure)  # IPython's formatter returns base64 text; others may return bytes
        text = alt_text(figure)
        if not png or not text:
            return png
        if isinstance(png, str):
            return base64.b64encode(png_with_alt(base64.b64decode(png), text)).decode("ascii")
        return png_with_alt(png, text)

    png_of_figure.adds_alt_text = True
    formatter.for_type(Figure, png_of_figure)
    return True
