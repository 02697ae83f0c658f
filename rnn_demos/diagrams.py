"""Diagrams of recurrent cells, drawn from a few primitives (layer boxes, pointwise circles, wires).

Each public function draws on the axes it is given (or on a new figure) and returns the Figure, with
alt text that says what it shows (rnn_demos.alt_text). The wiring follows PyTorch's equations (see the
chapters): LSTM gates i, f, g, o; GRU gates r, z, n with the reset gate applied after the
hidden-to-hidden product. `highlight` names the gates a page is about: they are drawn with a thick
outline and the other layers in grey.
"""
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch

from rnn_demos.alt_text import set_alt_text
from rnn_demos.style import MODEL_COLOURS, OKABE_ITO

SIGMOID_FILL = OKABE_ITO["orange"]
TANH_FILL = OKABE_ITO["sky_blue"]
LINEAR_FILL = "#DDDDDD"
POINTWISE_FILL = OKABE_ITO["yellow"]
WIRE_COLOUR = "#333333"
BACKGROUND_FILL = "#F4F4F4"
MUTED_FILL = "#E4E4E4"
LSTM_GATES = {"i": "input gate", "f": "forget gate", "g": "candidate", "o": "output gate"}
GRU_GATES = {"r": "reset gate", "z": "update gate", "n": "candidate"}
LAYER_SIZE = (0.9, 0.7)
OP_RADIUS = 0.28


# ---- primitives --------------------------------------------------------------------------------

def _new_axes(ax, width, height):
    if ax is None:
        _, ax = plt.subplots(figsize=(width, height))
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def _layer(ax, centre, text, fill, size=LAYER_SIZE, fontsize=13, emphasis=None):
    """A learned layer (affine map + activation) as a rounded box; emphasis True: thick outline,
    False: grey (another gate is highlighted), None: plain."""
    width, height = size
    x, y = centre
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.12",
                                facecolor=MUTED_FILL if emphasis is False else fill,
                                edgecolor=WIRE_COLOUR, linewidth=4.0 if emphasis else 1.2, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4)


def _pointwise(ax, centre, text, radius=OP_RADIUS, fontsize=12):
    """An elementwise operation (x, +, 1-, tanh) as a circle."""
    ax.add_patch(Circle(centre, radius, facecolor=POINTWISE_FILL, edgecolor=WIRE_COLOUR,
                        linewidth=1.2, zorder=3))
    ax.text(centre[0], centre[1], text, ha="center", va="center", fontsize=fontsize, zorder=4)


def _wire(ax, points, arrow=True, colour=WIRE_COLOUR, linewidth=1.6):
    """A polyline through `points`, with an arrow head at the last point when `arrow` is true."""
    xs, ys = zip(*points)
    ax.add_line(Line2D(xs, ys, color=colour, linewidth=linewidth, zorder=2,
                       solid_capstyle="round", solid_joinstyle="round"))
    if arrow:
        ax.add_patch(FancyArrowPatch(points[-2], points[-1], arrowstyle="-|>", mutation_scale=14,
                                     color=colour, linewidth=linewidth, zorder=2,
                                     shrinkA=0, shrinkB=0))


def _junction(ax, point, colour=WIRE_COLOUR):
    """A dot where one wire splits into two."""
    ax.plot(*point, marker="o", markersize=5, color=colour, zorder=2)


def _label(ax, point, text, ha="center", va="center", fontsize=13, colour="black"):
    ax.text(point[0], point[1], text, ha=ha, va=va, fontsize=fontsize, color=colour, zorder=5)


def _background(ax, lower_left, upper_right):
    (x0, y0), (x1, y1) = lower_left, upper_right
    ax.add_patch(FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0,rounding_size=0.4",
                                facecolor=BACKGROUND_FILL, edgecolor="#999999", linewidth=1.0, zorder=0))


def _legend(ax, entries, anchor=(0.5, -0.02)):
    handles = [Patch(facecolor=fill, edgecolor=WIRE_COLOUR, label=name) for name, fill in entries]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=anchor, ncol=len(handles),
              frameon=False, fontsize=10)


def _highlighted(highlight, gates):
    """The set of gate letters to highlight (empty: none), checked against the cell's gates."""
    chosen = set(highlight or ())
    unknown = chosen - set(gates)
    if unknown:
        raise ValueError(f"highlight must name gates among {sorted(gates)}, got {sorted(unknown)}")
    return chosen


def _emphasis(gate, chosen):
    return None if not chosen else gate in chosen


def _highlight_sentence(chosen, gates):
    if not chosen:
        return ""
    names = [gates[g] for g in gates if g in chosen]
    return f" Highlighted: the {' and the '.join(names)}; the other layers are grey."


def _gate_feed(ax, bus_y, gate_centre):
    """A wire from the input bus up into the bottom of a gate's box."""
    x, y = gate_centre
    _junction(ax, (x, bus_y))
    _wire(ax, [(x, bus_y), (x, y - LAYER_SIZE[1] / 2)])


# ---- diagrams ----------------------------------------------------------------------------------

def draw_unrolled_rnn(ax=None, steps=4):
    """The RNN folded (one cell with a loop) and unrolled over `steps` time steps, sharing weights."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    spacing = 2.2
    ax = _new_axes(ax, width=2.6 + 1.9 * steps, height=3.6)
    cell_size = (1.0, 0.8)
    recurrent_colour = MODEL_COLOURS["rnn"]

    # Folded form: one cell whose output feeds back into itself.
    folded = (0.0, 0.0)
    _layer(ax, folded, r"$\tanh$", TANH_FILL, size=cell_size)
    _wire(ax, [(0, -1.5), (0, -0.4)])
    _wire(ax, [(0, 0.4), (0, 1.5)])
    _label(ax, (0, -1.8), r"$x_t$")
    _label(ax, (0, 1.8), r"$h_t$")
    _junction(ax, (0, 0.95), colour=recurrent_colour)
    _wire(ax, [(0, 0.95), (0.9, 0.95), (0.9, 0.0), (0.5, 0.0)], colour=recurrent_colour)
    _label(ax, (1.0, 0.5), r"$W_{hh}$", ha="left", fontsize=11, colour=recurrent_colour)
    _label(ax, (2.1, 0.0), "=", fontsize=22)

    # Unrolled form: the same cell (same W_ih, W_hh, biases) at every step.
    first_x = 4.3
    _label(ax, (first_x - 1.45, 0.0), r"$h_0$")
    previous_right = first_x - 1.15
    for step in range(1, steps + 1):
        x = first_x + (step - 1) * spacing
        _layer(ax, (x, 0.0), r"$\tanh$", TANH_FILL, size=cell_size)
        _wire(ax, [(previous_right, 0.0), (x - 0.5, 0.0)], colour=recurrent_colour)
        _label(ax, ((previous_right + x - 0.5) / 2, 0.28), r"$W_{hh}$", fontsize=11, colour=recurrent_colour)
        _wire(ax, [(x, -1.5), (x, -0.4)])
        _label(ax, (x + 0.32, -0.95), r"$W_{ih}$", fontsize=11)
        _label(ax, (x, -1.8), f"$x_{{{step}}}$")
        _wire(ax, [(x, 0.4), (x, 1.5)])
        _label(ax, (x, 1.8), f"$h_{{{step}}}$")
        previous_right = x + 0.5
    _wire(ax, [(previous_right, 0.0), (previous_right + 0.7, 0.0)], colour=recurrent_colour)
    _label(ax, (previous_right + 0.75, 0.0), r"$\cdots$", ha="left")
    _label(ax, (first_x + (steps - 1) * spacing / 2, -2.45),
           r"every step: $h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh})$"
           ", the same weights", fontsize=11)

    ax.set_xlim(-1.2, previous_right + 1.5)
    ax.set_ylim(-2.8, 2.2)
    return set_alt_text(ax.figure, (
        f"Diagram of a recurrent network, folded and unrolled. Left: one tanh cell reads x_t and outputs "
        f"h_t, which loops back into the cell through W_hh. Right, after an equals sign: the same cell "
        f"copied {steps} times in a row, from h_0; each copy reads its input x_1 to x_{steps} through W_ih and "
        f"passes its state to the next through W_hh, with the same weights at every step."))


def draw_lstm_cell(ax=None, highlight=None):
    """An LSTM cell: cell state along the top, gates f, i, g, o fed by [h_{t-1}, x_t] along the bottom.

    `highlight`: gate letters among "i", "f", "g", "o" to emphasise (e.g. "f", or "ig")."""
    chosen = _highlighted(highlight, LSTM_GATES)
    ax = _new_axes(ax, width=8.0, height=6.0)
    top, bus = 6.0, 0.8
    cell_colour = MODEL_COLOURS["lstm"]
    _background(ax, (0.4, 0.2), (9.4, 6.8))

    forget, input_, candidate, output = (2.2, 2.4), (3.6, 2.4), (5.2, 2.4), (6.8, 2.4)
    forget_op, add_op, input_op = (2.2, top), (4.4, top), (4.4, 4.2)
    squash_op, output_op = (8.2, 4.4), (8.2, output[1])

    # Cell state: C_{t-1} -> x f_t -> + i_t*g_t -> C_t.
    _label(ax, (-0.15, top), r"$C_{t-1}$", ha="right")
    _wire(ax, [(-0.1, top), (forget_op[0] - OP_RADIUS, top)], arrow=False, colour=cell_colour, linewidth=2.6)
    _wire(ax, [(forget_op[0] + OP_RADIUS, top), (add_op[0] - OP_RADIUS, top)], arrow=False,
          colour=cell_colour, linewidth=2.6)
    _wire(ax, [(add_op[0] + OP_RADIUS, top), (10.0, top)], colour=cell_colour, linewidth=2.6)
    _label(ax, (10.1, top), r"$C_t$", ha="left")
    _pointwise(ax, forget_op, r"$\times$")
    _pointwise(ax, add_op, r"$+$")

    # Input bus: h_{t-1} from the left, x_t from below, feeding all four gates.
    _label(ax, (-0.15, bus), r"$h_{t-1}$", ha="right")
    _wire(ax, [(-0.1, bus), (output[0], bus)], arrow=False)
    _wire(ax, [(1.0, -0.6), (1.0, bus)], arrow=False)
    _junction(ax, (1.0, bus))
    _label(ax, (1.0, -0.9), r"$x_t$")

    for gate, centre, symbol, fill in (("f", forget, r"$\sigma$", SIGMOID_FILL),
                                       ("i", input_, r"$\sigma$", SIGMOID_FILL),
                                       ("g", candidate, r"$\tanh$", TANH_FILL),
                                       ("o", output, r"$\sigma$", SIGMOID_FILL)):
        _layer(ax, centre, symbol, fill, emphasis=_emphasis(gate, chosen))
        _gate_feed(ax, bus, centre)
    gate_top = forget[1] + LAYER_SIZE[1] / 2

    _wire(ax, [(forget[0], gate_top), (forget_op[0], top - OP_RADIUS)])
    _label(ax, (forget[0] - 0.12, 3.6), r"$f_t$", ha="right")

    _wire(ax, [(input_[0], gate_top), (input_[0], input_op[1]), (input_op[0] - OP_RADIUS, input_op[1])])
    _label(ax, (input_[0] - 0.12, 3.5), r"$i_t$", ha="right")
    _wire(ax, [(candidate[0], gate_top), (candidate[0], input_op[1]), (input_op[0] + OP_RADIUS, input_op[1])])
    _label(ax, (candidate[0] + 0.12, 3.5), r"$g_t\ (\tilde{C}_t)$", ha="left")
    _pointwise(ax, input_op, r"$\times$")
    _wire(ax, [(input_op[0], input_op[1] + OP_RADIUS), (add_op[0], top - OP_RADIUS)])

    # Output: h_t = o_t * tanh(C_t).
    _junction(ax, (squash_op[0], top))
    _wire(ax, [(squash_op[0], top), (squash_op[0], squash_op[1] + 0.4)])
    _pointwise(ax, squash_op, r"$\tanh$", radius=0.4, fontsize=11)
    _wire(ax, [(squash_op[0], squash_op[1] - 0.4), (output_op[0], output_op[1] + OP_RADIUS)])
    _wire(ax, [(output[0] + LAYER_SIZE[0] / 2, output[1]), (output_op[0] - OP_RADIUS, output_op[1])])
    _label(ax, (7.5, output[1] + 0.32), r"$o_t$")
    _pointwise(ax, output_op, r"$\times$")
    _wire(ax, [(output_op[0], output_op[1] - OP_RADIUS), (output_op[0], bus), (10.0, bus)])
    _label(ax, (10.1, bus), r"$h_t$", ha="left")

    _legend(ax, [(r"$\sigma$ layer (gate)", SIGMOID_FILL), (r"$\tanh$ layer", TANH_FILL),
                 ("pointwise operation", POINTWISE_FILL)])
    ax.set_xlim(-1.3, 10.9)
    ax.set_ylim(-1.2, 7.0)
    return set_alt_text(ax.figure, (
        "Diagram of an LSTM cell. The cell state runs along the top from C_(t-1) to C_t: it is multiplied "
        "by the forget gate f_t, then the product of the input gate i_t and the candidate g_t is added. "
        "Along the bottom, h_(t-1) and x_t feed four layers: three sigmoid gates (f, i, o) and one tanh "
        "layer (g). On the right, C_t goes through tanh and is multiplied by the output gate o_t to give "
        "h_t." + _highlight_sentence(chosen, LSTM_GATES)))


def draw_gru_cell(ax=None, highlight=None):
    """A GRU cell: hidden state along the top, gates r, z and the candidate n fed from the bottom.

    `highlight`: gate letters among "r", "z", "n" to emphasise."""
    chosen = _highlighted(highlight, GRU_GATES)
    ax = _new_axes(ax, width=8.4, height=6.0)
    top, bus = 6.0, 0.8
    hidden_colour = MODEL_COLOURS["gru"]
    _background(ax, (0.3, 0.2), (10.4, 6.8))

    update, reset = (2.2, 2.4), (3.6, 2.4)
    hidden_linear = (6.0, 2.4)
    reset_op = (6.0, 3.8)
    candidate = (7.7, 3.8)
    keep_op, add_op = (8.2, top), (9.7, top)
    complement_op, blend_op = (8.95, 5.0), (9.7, 5.0)
    linear_size = (2.1, 0.7)

    # Hidden state along the top: h_t = z_t * h_{t-1} + (1 - z_t) * n_t.
    _label(ax, (-0.15, top), r"$h_{t-1}$", ha="right")
    _wire(ax, [(-0.1, top), (keep_op[0] - OP_RADIUS, top)], arrow=False, colour=hidden_colour, linewidth=2.6)
    _wire(ax, [(keep_op[0] + OP_RADIUS, top), (add_op[0] - OP_RADIUS, top)], arrow=False,
          colour=hidden_colour, linewidth=2.6)
    _wire(ax, [(add_op[0] + OP_RADIUS, top), (11.0, top)], colour=hidden_colour, linewidth=2.6)
    _label(ax, (11.1, top), r"$h_t$", ha="left")
    _pointwise(ax, keep_op, r"$\times$")
    _pointwise(ax, add_op, r"$+$")

    # Input bus: h_{t-1} dropped from the top line, x_t from below.
    _junction(ax, (0.8, top))
    _wire(ax, [(0.8, top), (0.8, bus), (hidden_linear[0], bus)], arrow=False)
    _wire(ax, [(1.3, -0.6), (1.3, bus)], arrow=False)
    _junction(ax, (1.3, bus))
    _label(ax, (1.3, -0.9), r"$x_t$")

    _layer(ax, update, r"$\sigma$", SIGMOID_FILL, emphasis=_emphasis("z", chosen))
    _gate_feed(ax, bus, update)
    _layer(ax, reset, r"$\sigma$", SIGMOID_FILL, emphasis=_emphasis("r", chosen))
    _gate_feed(ax, bus, reset)
    _layer(ax, hidden_linear, r"$W_{hn}h_{t-1} + b_{hn}$", LINEAR_FILL, size=linear_size, fontsize=11)
    _gate_feed(ax, bus, hidden_linear)
    gate_top = update[1] + LAYER_SIZE[1] / 2

    # Reset gate scales the hidden-to-hidden product (PyTorch's order), then the candidate tanh.
    _wire(ax, [(reset[0], gate_top), (reset[0], reset_op[1]), (reset_op[0] - OP_RADIUS, reset_op[1])])
    _label(ax, (reset[0] + 0.12, 3.55), r"$r_t$", ha="left")
    _wire(ax, [(hidden_linear[0], hidden_linear[1] + linear_size[1] / 2), (reset_op[0], reset_op[1] - OP_RADIUS)])
    _pointwise(ax, reset_op, r"$\times$")
    _wire(ax, [(reset_op[0] + OP_RADIUS, reset_op[1]), (candidate[0] - LAYER_SIZE[0] / 2, candidate[1])])
    _layer(ax, candidate, r"$\tanh$", TANH_FILL, emphasis=_emphasis("n", chosen))
    _wire(ax, [(candidate[0], -0.6), (candidate[0], candidate[1] - LAYER_SIZE[1] / 2)])
    _label(ax, (candidate[0], -0.9), r"$x_t$")
    _label(ax, (candidate[0] + 0.1, 1.5), r"$W_{in}x_t + b_{in}$", ha="left", fontsize=10)

    # Candidate n_t goes up into (1 - z_t) * n_t.
    _wire(ax, [(candidate[0] + LAYER_SIZE[0] / 2, candidate[1]), (blend_op[0], candidate[1]),
               (blend_op[0], blend_op[1] - OP_RADIUS)])
    _label(ax, (blend_op[0] + 0.1, 4.3), r"$\tilde{n}_t$", ha="left")

    # Update gate: z_t keeps the old state, 1 - z_t admits the candidate.
    _wire(ax, [(update[0], gate_top), (update[0], complement_op[1]), (keep_op[0], complement_op[1]),
               (keep_op[0], keep_op[1] - OP_RADIUS)])
    _label(ax, (update[0] - 0.12, 3.6), r"$z_t$", ha="right")
    _junction(ax, (keep_op[0], complement_op[1]))
    _wire(ax, [(keep_op[0], complement_op[1]), (complement_op[0] - OP_RADIUS, complement_op[1])])
    _pointwise(ax, complement_op, r"$1-$", fontsize=10)
    _wire(ax, [(complement_op[0] + OP_RADIUS, complement_op[1]), (blend_op[0] - OP_RADIUS, blend_op[1])])
    _pointwise(ax, blend_op, r"$\times$")
    _wire(ax, [(blend_op[0], blend_op[1] + OP_RADIUS), (add_op[0], top - OP_RADIUS)])

    _legend(ax, [(r"$\sigma$ layer (gate)", SIGMOID_FILL), (r"$\tanh$ layer", TANH_FILL),
                 ("linear map", LINEAR_FILL), ("pointwise operation", POINTWISE_FILL)])
    ax.set_xlim(-1.3, 11.9)
    ax.set_ylim(-1.2, 7.0)
    return set_alt_text(ax.figure, (
        "Diagram of a GRU cell. The hidden state runs along the top from h_(t-1) to h_t: it is multiplied "
        "by the update gate z_t, and (1 - z_t) times the candidate n_t is added. Below, h_(t-1) and x_t "
        "feed two sigmoid gates, the update gate z and the reset gate r; the reset gate multiplies the "
        "product W_hn h_(t-1) + b_hn, which is added to W_in x_t + b_in and goes through tanh to give "
        "the candidate n_t." + _highlight_sentence(chosen, GRU_GATES)))
