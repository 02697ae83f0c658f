"""Families of hidden inputs that break code written for typical inputs (issue 14), applied to a case's inputs.

A case (autograder.checks.specs.Case) names at most one family; `apply_family` turns the inputs its spec
built into the family's inputs, with the same names and shapes:
- "large" / "huge": every weight and bias (and a cell state that enters tanh as it is) scaled (by 25 / 1000), so pre-activations reach about +-50 /
  +-1e3 and the gates saturate: an exp-based sigmoid or tanh overflows, a clamped pre-activation shows,
  a `where`-based sigmoid has NaN gradients;
- "noncontiguous": every tensor (also inside a tuple, list or dict) a non-contiguous view with the same
  values (matrices stored transposed, vectors with stride 2): `.view`, `as_strided` or `data_ptr` arithmetic on an input fails;
- "ill_conditioned": a nearly constant series, so the lags of an AR design are almost collinear:
  normal equations with an explicit inverse lose the digits that lstsq keeps;
- "long": the long sequence (LONG_STEPS steps) with a memory that lasts: an orthogonal recurrent weight and
  small inputs for a one-block RNN, the forget (LSTM) or update (GRU) gate biased open; with random weights the
  first steps' influence on the last state fades below any tolerance within 30 steps, and a loop or a BPTT
  truncated there would pass. 200 steps, not 64: loops and BPTT cut at 64 steps passed a sequence of 64
  (5 of 7 such mistakes in a blind set);
- "meta": the inputs on the `meta` device (shapes and dtypes, no values), on any grading host: a tensor
  made without `device=` lands on the CPU and fails, as it would on a GPU. Only shapes, dtypes and devices
  are judged there.
Size families (batch, input and hidden sizes of 1; long sequences) and repeated calls (same shapes, new
values) need no transform: autograder.checks.cases picks their sizes and seeds. Which family applies to
which check follows from its inputs and its contract (autograder.checks.cases.family_cases).
"""
import torch

LARGE_SCALES = {"large": 25.0, "huge": 1000.0}
LONG_STEPS = 200
GRADIENT_FAMILIES = tuple(LARGE_SCALES)  # the visible checks compare gradients there too (NaN from a `where`)
WEIGHT_PREFIXES = ("weight_", "bias_", "W_", "b_")
PRE_ACTIVATIONS = ("c_next",)  # inputs that enter an activation as they are (tanh(c_next))
ILL_CONDITIONED_NOISE = 1e-5  # relative to the series' level: cond(design) ~ 1e5, normal equations ~ 1e10

DESCRIPTIONS = {
    "large": "weights and biases x25: pre-activations up to about +-50, saturated gates",
    "huge": "weights and biases x1000: pre-activations beyond +-1e3, saturated gates",
    "noncontiguous": "inputs are non-contiguous views: matrices stored transposed, vectors strided",
    "size_one": "batch, input and hidden sizes of 1",
    "repeat": "a second call with the same shapes as an earlier case and new values",
    "ill_conditioned": "an ill-conditioned design: a nearly constant series, lags almost collinear",
    "meta": "inputs on the meta device (no values): new tensors must be made on the inputs' device",
    "long": f"a long sequence ({LONG_STEPS} steps) whose first steps still matter at the end (forget/update gates open, an "
            "orthogonal recurrent weight)",
}

# What a feature of the failing cases says in a message (autograder.hints.explain.case_pattern).
PATTERN_TEXT = {
    "large": "large pre-activations (|a| up to about 50: saturated gates)",
    "huge": "very large pre-activations (|a| beyond 1e3: saturated gates)",
    "noncontiguous": "non-contiguous inputs (transposed or strided views: .view/as_strided on an input)",
    "size_one": "sizes of 1 (batch, input and hidden size 1: a squeeze() drops them)",
    "repeat": "a second call with the same shapes and new values (state kept from a previous call: a cache "
              "or a global)",
    "ill_conditioned": "an ill-conditioned design (normal equations or an explicit inverse lose the digits; "
                       "use torch.linalg.lstsq)",
    "meta": "inputs on another device than the CPU (the meta device: a tensor made without device=x.device "
            "stays on the CPU)",
    "long": f"a long sequence ({LONG_STEPS} steps) whose first steps still matter at the end (a loop or BPTT cut short, "
            "or early steps dropped)",
}
# The long case keeps its first steps alive at the end. Measured: a change of 0.1 in h0 (or the LSTM's
# initial state) moves the last output of every long check by at least 6e-6 over 40 term seeds (before these
# settings, by 4e-12 on some seeds: no check could tell a loop cut short).
# - One block (the tanh RNN, char_lm's model): inputs, biases and h0 times LONG_INPUT_SCALE, and W_hh an
#   orthogonal matrix times LONG_RADIUS, so the state stays small, where tanh is near linear (every step with
#   |a| ~ 0.5 multiplies what h0 left by tanh'(a) ~ 0.8, and 200 such steps by 1e-20).
# - Gated cells: the forget / update gate held open at every step (its weights scaled down, bias + 4:
#   sigmoid(4) = 0.98), and the LSTM's input gate held nearly shut (- 4), so C_t stays small and tanh(C_t) does
#   not saturate.
GATE_SHIFTS = {"f": 4.0, "z": 4.0, "i": -4.0}
LONG_INPUT_SCALE = 0.01
LONG_RADIUS = 0.98


def is_weight(name):
    return name.startswith(WEIGHT_PREFIXES)


def holds_weights(inputs):
    """Whether the inputs hold weights, by name, also inside a dict input (char_lm's `parameters`)."""
    return any(is_weight(name) or (isinstance(value, dict) and holds_weights(value))
               for name, value in inputs.items())


def apply_family(family, inputs, gate_names=""):
    """The inputs of `family`, from the inputs the spec built (a new dict; the given one is not changed);
    `gate_names`: the stacked gate blocks of the weights ("ifgo", "rzn"; "" or "h" for one block)."""
    if family == "long":
        return lasting_memory(inputs, gate_names)
    if family in LARGE_SCALES:
        return _scaled_weights(inputs, LARGE_SCALES[family])
    if family == "noncontiguous":
        return {name: _map_tensors(value, non_contiguous) for name, value in inputs.items()}
    if family == "ill_conditioned":
        x = inputs["x"]
        level = 3.0 + ILL_CONDITIONED_NOISE * x.double()
        return {**inputs, "x": level.to(dtype=x.dtype, device=x.device)}
    return dict(inputs)


def _scaled_weights(inputs, scale):
    """Weights, biases and pre-activations times `scale`, also inside a dict input (of the same type)."""
    return type(inputs)({name: _scaled_weights(value, scale) if isinstance(value, dict)
                         else value * scale if (is_weight(name) or name in PRE_ACTIVATIONS) and _floating(value)
                         else value for name, value in inputs.items()})


def lasting_memory(inputs, gate_names):
    """Recurrent weights under which the first steps still reach the last state (see "long" above); the
    weights may also sit in a dict input (char_lm's `parameters`, with a one-hot input)."""
    if "weight_hh" not in inputs or "weight_ih" not in inputs:
        return type(inputs)({name: lasting_memory(value, gate_names) if isinstance(value, dict) else value
                             for name, value in inputs.items()})
    weight_hh = inputs["weight_hh"]
    hidden = weight_hh.shape[1]
    changed = type(inputs)(inputs)
    if weight_hh.shape[0] == hidden:  # one block: h' = tanh(x W_ih^T + h W_hh^T + b), kept near linear
        orthogonal, _ = torch.linalg.qr(weight_hh.detach().double().cpu())
        changed["weight_hh"] = (LONG_RADIUS * orthogonal).to(dtype=weight_hh.dtype, device=weight_hh.device)
        for name in ("weight_ih", "bias_ih", "bias_hh", "h0"):  # a large h0 would saturate the first steps
            if name in inputs:
                changed[name] = inputs[name] * LONG_INPUT_SCALE
        return changed
    for gate, shift in GATE_SHIFTS.items():
        if gate in gate_names:
            rows = slice(gate_names.index(gate) * hidden, (gate_names.index(gate) + 1) * hidden)
            for name in ("weight_ih", "weight_hh", "bias_ih"):  # the same gate value at every step, whatever x and h
                changed[name] = changed[name].clone()
                changed[name][rows] *= LONG_INPUT_SCALE
            changed["bias_ih"][rows] += shift
    return changed


def non_contiguous(tensor):
    """The same values in a non-contiguous layout: dimensions stored in reverse order (a matrix stored
    transposed), a vector with stride 2; 0-dim tensors and tensors of one element stay as they are."""
    if tensor.dim() == 0 or tensor.numel() <= 1:
        return tensor
    if tensor.dim() == 1:
        spread = torch.zeros(2 * tensor.shape[0], dtype=tensor.dtype, device=tensor.device)
        spread[::2] = tensor
        return spread[::2]
    reverse = tuple(range(tensor.dim() - 1, -1, -1))
    return tensor.permute(reverse).contiguous().permute(reverse)


def _floating(value):
    return isinstance(value, torch.Tensor) and value.is_floating_point()


def _map_tensors(value, transform):
    if isinstance(value, torch.Tensor):
        return transform(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_map_tensors(v, transform) for v in value)
    if isinstance(value, dict):
        return type(value)({k: _map_tensors(v, transform) for k, v in value.items()})
    return value
