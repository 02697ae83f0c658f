"""The registry of checks: what each check calls, on which inputs, and what it expects.

A `Case` fixes sizes, seed, dtype, device and options; `Spec.make_inputs(case)` builds the arguments
(random values from the case's seed, made on the CPU in float64 and then cast, so every device sees the
same numbers); `Spec.reference(**inputs)` gives the right answer. The visible self-checks use small
public cases (autograder.selfcheck), the hidden checks their own (autograder.checks.cases).

The registry: every spec module builds `Spec`s and calls `register(*specs)`; a spec carries what the
case generators need to know about its check:
- `hidden_options` / `visible_options`: the option dicts its hidden / visible cases run with;
- `loops_over_time`: the function loops over time or over a series (it also gets the long sequences);
- `dtype_free`: its answer does not depend on a dtype (one dtype only);
- `refusals`: what the sandbox refuses while it runs (autograder.sandbox.forbidden: "recurrent_kernels",
  "autograd", "clip_grad_norm"); by default the recurrent kernels in the rnn, lstm and gru notebooks;
- `cpu_seconds`: the CPU time its hidden check may use in the sandbox (None: the course's limit).
`register` wraps `make_inputs` so that a case's family of inputs (autograder.checks.families: large
weights, non-contiguous views, an ill-conditioned series) is applied to whatever the spec built.
Its contract (the rules the text states) goes to autograder.checks.contracts.CONTRACTS.

Where it runs: the sandbox calls the student's function with `Spec.call_for(inputs)` (a plain
autograder.sandbox.observe.Call: inputs by name, which go by keyword, or no arguments) and records what it
returned; the judge turns that record into the value it compares with `Spec.derive(result, inputs)` (by
default the record itself; the trained models compute their predictions there, outside the sandbox).
"""
from dataclasses import dataclass, field, replace
from typing import Callable

import torch
from torch import nn

from autograder.checks import references as ref
from autograder.checks.compare import OutputLayout
from autograder.checks.contracts import contract_for
from autograder.checks.families import DESCRIPTIONS, apply_family
from autograder.sandbox.observe import Call


@dataclass(frozen=True)
class Case:
    seed: int = 0
    dtype: torch.dtype = torch.float64
    device: str = "cpu"
    steps: int = 4
    batch: int = 2
    input_size: int = 3
    hidden_size: int = 4
    options: dict = field(default_factory=dict)
    family: str = ""  # a family of inputs (autograder.checks.families), "" for plain random inputs

    def describe(self, inputs):
        """What a student needs to reproduce the case: the inputs' shapes and options, dtype and device,
        and the family of its inputs."""
        parts = [_describe_input(name, value) for name, value in inputs.items()]
        family = f"; {DESCRIPTIONS[self.family]}" if self.family else ""
        return f"{', '.join(parts)}; {str(self.dtype).replace('torch.', '')} on {self.device}{family}"

    def with_options(self, **options):
        return replace(self, options={**self.options, **options})


def _describe_input(name, value):
    """x.shape=(6, 3, 5) for a tensor, state0 shapes=[(3, 7), (3, 7)] for a tuple of them, tau=2 else."""
    if isinstance(value, torch.Tensor):
        return f"{name}.shape={tuple(value.shape)}"
    if isinstance(value, (tuple, list)) and all(isinstance(v, torch.Tensor) for v in value):
        return f"{name} shapes=[{', '.join(str(tuple(v.shape)) for v in value)}]"
    return f"{name}={value!r}"


@dataclass(frozen=True)
class Spec:
    check_id: str
    make_inputs: Callable      # Case -> dict of named arguments, in the function's order
    reference: Callable        # called with the same named arguments
    layout: OutputLayout
    keyword_options: tuple = ()  # argument names passed by keyword (options with defaults)
    hidden_options: tuple = ({},)
    visible_options: tuple = ({},)
    loops_over_time: bool = False
    dtype_free: bool = False
    refusals: tuple | None = None  # None: the default of its notebook (see default_refusals)
    cpu_seconds: int | None = None

    def call_for(self, inputs):
        """How the sandbox calls the function on these inputs."""
        return Call(dict(inputs), tuple(k for k in inputs if k in self.keyword_options))

    def call(self, fn, inputs):
        """Call `fn` on `inputs` here, as the sandbox would (for tests and probes in this process)."""
        return self.call_for(inputs).run(fn)

    def derive(self, result, inputs):
        """The value judged, from the record of what the function returned (a snapshot); ValueError or
        TypeError with a message for the student when it cannot be judged."""
        return result

    def expected(self, inputs):
        return self.reference(**inputs)


def assignment_of(check_id):
    return check_id.split(".")[0]


def function_name(check_id):
    return check_id.split(".")[1]


KERNEL_FREE_ASSIGNMENTS = ("rnn", "lstm", "gru")


def default_refusals(check_id):
    return ("recurrent_kernels",) if assignment_of(check_id) in KERNEL_FREE_ASSIGNMENTS else ()


SPECS = {}


def register(*specs):
    """Add specs to the registry (their refusals filled in with their notebook's default)."""
    for spec in specs:
        if spec.check_id in SPECS:
            raise ValueError(f"check {spec.check_id} registered twice")
        if spec.refusals is None:
            spec = replace(spec, refusals=default_refusals(spec.check_id))
        SPECS[spec.check_id] = replace(spec, make_inputs=_with_family(spec.make_inputs, spec.check_id))


def _with_family(make_inputs, check_id):
    """make_inputs, then the case's family of inputs (autograder.checks.families) applied to them."""
    def make(case):
        inputs = make_inputs(case)
        return apply_family(case.family, inputs, contract_for(check_id).gate_names) if case.family else inputs
    return make


class Draw:
    """Random tensors for one case: drawn on the CPU in float64, then moved to the case's dtype/device."""

    def __init__(self, case):
        self.case = case
        self.generator = torch.Generator().manual_seed(case.seed)

    def normal(self, *shape, scale=1.0):
        values = torch.randn(*shape, generator=self.generator, dtype=torch.float64) * scale
        return values.to(dtype=self.case.dtype, device=self.case.device)

    def integers(self, high, *shape):
        return torch.randint(0, high, shape, generator=self.generator).to(self.case.device)

    def probabilities(self, *shape):
        return torch.softmax(self.normal(*shape, scale=1.5), dim=-1)

    def weights(self, n_blocks):
        """(weight_ih, weight_hh, bias_ih, bias_hh) with n_blocks gate blocks of rows."""
        c = self.case
        rows = n_blocks * c.hidden_size
        return (self.normal(rows, c.input_size, scale=0.6), self.normal(rows, c.hidden_size, scale=0.6),
                self.normal(rows, scale=0.5), self.normal(rows, scale=0.5))


WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
LSTM_BLOCK = {"i": 0, "f": 1, "g": 2, "o": 3}
GRU_BLOCK = {"r": 0, "z": 1, "n": 2}


def _sequence(draw, batch_first=False):
    c = draw.case
    x = draw.normal(c.steps, c.batch, c.input_size)
    return x.transpose(0, 1).contiguous() if batch_first else x


def _state(draw):
    return draw.normal(draw.case.batch, draw.case.hidden_size, scale=0.8)


def _gate_inputs(n_blocks, block, block_names):
    """Inputs of a per-gate function: x, h and the row block `block` of each weight, in PyTorch's order."""
    def make(case):
        draw = Draw(case)
        x, h = draw.normal(case.batch, case.input_size), _state(draw)
        blocks = [w.chunk(n_blocks, dim=0)[block] for w in draw.weights(n_blocks)]
        return {"x": x, "h": h, **dict(zip(block_names, blocks))}
    return make


def _gate_spec(check_id, n_blocks, gate, block, activation):
    return Spec(check_id, _gate_inputs(n_blocks, block, _gate_names(gate)),
                lambda x, h, **w: ref.gate_activation(x, h, *w.values(), activation),
                OutputLayout(gate, {gate: ("batch", "hidden")}))


def _gate_names(gate):
    """PyTorch's names for one gate's blocks, e.g. W_if, W_hf, b_if, b_hf for the forget gate."""
    return (f"W_i{gate}", f"W_h{gate}", f"b_i{gate}", f"b_h{gate}")


# ----- sequence models -----

def _resolve_steps(value, steps):
    """Options may name a size relative to the series: "steps" (= T) or "steps+1"."""
    if value == "steps":
        return steps
    if value == "steps+1":
        return steps + 1
    if value == "steps-1":
        return steps - 1
    return value


def _ar_series_inputs(case):
    draw = Draw(case)
    return {"x": draw.normal(case.steps), "tau": _resolve_steps(case.options.get("tau", 3), case.steps)}


def _ar_process_inputs(case):
    """A stable AR(2) series with noise, 8*steps long, so the least-squares fit is well conditioned."""
    draw = Draw(case)
    length = 8 * case.steps
    noise = draw.normal(length).double().cpu()
    series = [0.0, 0.0]
    for t in range(length):
        series.append(0.6 * series[-1] - 0.2 * series[-2] + 0.3 + float(noise[t]))
    x = torch.tensor(series[2:], dtype=case.dtype, device=case.device)
    return {"x": x, "tau": _resolve_steps(case.options.get("tau", 3), case.steps)}


def _predict_inputs(case):
    """A history of max(steps, tau) values ("tau": "steps" makes it exactly tau long)."""
    draw = Draw(case)
    tau = _resolve_steps(case.options.get("tau", 3), case.steps)
    return {"history": draw.normal(max(case.steps, tau)), "w": draw.normal(tau, scale=0.4),
            "b": draw.normal(1)[0], "k": _resolve_steps(case.options.get("k", 5), case.steps)}


def _transition_inputs(case):
    """A chain whose edge states break counting bugs: state n-1 occurs only once, at the very end (never
    left: uniform row), state n-2 only at the start (left once, never entered), state n-3 never (uniform
    row); the others fill the middle. Length `length` (default 3 * steps); n_states >= 4. With option
    `unseen_highest` = k, the k highest states never occur and the roles above shift down by k."""
    draw = Draw(case)
    n_states = case.options.get("n_states", 4)
    length = case.options.get("length", case.steps * 3)
    seen = n_states - case.options.get("unseen_highest", 0)  # option: the highest states never occur
    middle = draw.integers(seen - 3, max(length - 2, 0))
    ends = torch.tensor([seen - 2, seen - 1], device=middle.device)
    return {"states": torch.cat([ends[:1], middle, ends[1:]]), "n_states": n_states}


def _markov_inputs(case):
    draw = Draw(case)
    n_states = case.options.get("n_states", 4)
    length = case.options.get("length", case.steps * 3)
    states, A = draw.integers(n_states, length), draw.probabilities(n_states, n_states)
    if case.options.get("impossible") and length > 1:
        # One transition that occurs gets probability 0: the log-likelihood is -inf.
        A = A.clone()
        A[states[0], states[1]] = 0.0
    return {"states": states, "A": A, "p0": draw.probabilities(n_states)}


def _latent_inputs(case):
    draw = Draw(case)
    d_h, d_x = case.hidden_size, case.input_size
    return {"h": draw.normal(case.batch, d_h), "x": draw.normal(case.batch, d_x),
            "W_hh": draw.normal(d_h, d_h, scale=0.5), "W_ih": draw.normal(d_h, d_x, scale=0.5)}


# ----- RNN -----

def _rnn_cell_inputs(case):
    draw = Draw(case)
    inputs = {"x": draw.normal(case.batch, case.input_size), "h": _state(draw),
              **dict(zip(WEIGHT_NAMES, draw.weights(1)))}
    return {**inputs, "nonlinearity": case.options.get("nonlinearity", "tanh")}


def _sequence_inputs(n_blocks, with_cell_state=False):
    def make(case):
        draw = Draw(case)
        batch_first = case.options.get("batch_first", False)
        x = _sequence(draw, batch_first)
        start = (_state(draw), _state(draw)) if with_cell_state else _state(draw)
        weights = dict(zip(WEIGHT_NAMES, draw.weights(n_blocks)))
        return {"x": x, "state0" if with_cell_state else "h0": start, **weights, "batch_first": batch_first}
    return make


def _bptt_inputs(case):
    draw = Draw(case)
    return {"x": _sequence(draw), "h0": _state(draw), **dict(zip(WEIGHT_NAMES, draw.weights(1))),
            "grad_h_T": draw.normal(case.batch, case.hidden_size)}


def _gradient_norm_inputs(case):
    draw = Draw(case)
    x = draw.normal(case.steps, case.input_size)
    h0 = draw.normal(case.hidden_size, scale=0.8)
    return {"x": x, "h0": h0, **dict(zip(WEIGHT_NAMES, draw.weights(1)))}


def _clip_inputs(case):
    """Gradients of three shapes (or `n_tensors` of them); option `total_norm` rescales them to that total
    2-norm, so that a case sits exactly where a clipping rule branches (below, between sqrt(max_norm) and
    max_norm, above)."""
    draw = Draw(case)
    shapes = [(case.hidden_size, case.input_size), (case.hidden_size, case.hidden_size), (case.hidden_size,)]
    grads = [draw.normal(*shape) for shape in shapes[:case.options.get("n_tensors", 3)]]
    if "total_norm" in case.options:
        total = torch.sqrt(sum((g.double() ** 2).sum() for g in grads))
        grads = [(g.double() * (case.options["total_norm"] / total)).to(case.dtype) for g in grads]
    return {"grads": grads, "max_norm": case.options.get("max_norm", 1.0)}


# ----- LSTM / GRU -----

def _cell_update_inputs(case):
    draw = Draw(case)
    shape = (case.batch, case.hidden_size)
    return {"c": draw.normal(*shape), "f": torch.sigmoid(draw.normal(*shape)),
            "i": torch.sigmoid(draw.normal(*shape)), "g": torch.tanh(draw.normal(*shape))}


def _output_gate_inputs(case):
    inputs = _gate_inputs(4, LSTM_BLOCK["o"], _gate_names("o"))(case)
    c_next = Draw(replace(case, seed=case.seed + 1000)).normal(case.batch, case.hidden_size, scale=1.5)
    return {"x": inputs.pop("x"), "h": inputs.pop("h"), "c_next": c_next, **inputs}


def _output_gate_reference(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = ref.gate_activation(x, h, W_io, W_ho, b_io, b_ho, torch.sigmoid)
    return o, o * torch.tanh(c_next)


def _lstm_cell_inputs(case):
    draw = Draw(case)
    x = draw.normal(case.batch, case.input_size)
    state = (_state(draw), _state(draw))
    return {"x": x, "state": state, **dict(zip(WEIGHT_NAMES, draw.weights(4)))}


def _gru_cell_inputs(case):
    draw = Draw(case)
    return {"x": draw.normal(case.batch, case.input_size), "h": _state(draw),
            **dict(zip(WEIGHT_NAMES, draw.weights(3)))}


def _gru_candidate_inputs(case):
    draw = Draw(case)
    x, h = draw.normal(case.batch, case.input_size), _state(draw)
    weights = draw.weights(3)
    r = ref.gru_gates(x, h, *weights)["r"]
    blocks = [w.chunk(3, dim=0)[GRU_BLOCK["n"]] for w in weights]
    return {"x": x, "h": h, "r": r, **dict(zip(_gate_names("n"), blocks))}


def _gru_update_inputs(case):
    draw = Draw(case)
    shape = (case.batch, case.hidden_size)
    return {"h": draw.normal(*shape, scale=0.8), "z": torch.sigmoid(draw.normal(*shape)),
            "n": torch.tanh(draw.normal(*shape))}


def _sizes_inputs(case):
    return {"input_size": case.input_size, "hidden_size": case.hidden_size}


BH = ("batch", "hidden")
SEQ_AXES = {False: ("time", "batch", "hidden"), True: ("batch", "time", "hidden")}


def _sequence_layout(names):
    return OutputLayout(names, {"output": ("time", "batch", "hidden"), "h_n": BH, "c_n": BH})


BATCH_FIRST_OPTIONS = ({"batch_first": False}, {"batch_first": True})

register(
    Spec("sequence_models.ar_design_matrix", _ar_series_inputs, ref.ar_design_matrix,
         OutputLayout(("X", "y"), {"X": ("row", "lag"), "y": ("row",)}),
         hidden_options=({"tau": 1}, {"tau": 2}, {"tau": "steps-1"}),
         visible_options=({"tau": 3}, {"tau": 1}, {"tau": 0}, {"tau": 4}), loops_over_time=True),
    Spec("sequence_models.fit_ar", _ar_process_inputs, ref.fit_ar, OutputLayout(("w", "b"), {"w": ("lag",)}),
         hidden_options=({"tau": 1}, {"tau": 3})),
    Spec("sequence_models.predict_ahead", _predict_inputs, ref.predict_ahead,
         OutputLayout("predictions", {"predictions": ("step",)}),
         hidden_options=({"tau": 3, "k": 6}, {"tau": 1, "k": 1}, {"tau": "steps", "k": 4},
                         {"tau": 2, "k": "steps"}),  # with the long sequence, a horizon of 64
         visible_options=({"tau": 3, "k": 4}, {"tau": 2, "k": "steps"}), loops_over_time=True),
    Spec("sequence_models.transition_matrix", _transition_inputs, ref.transition_matrix,
         OutputLayout("A", {"A": ("from_state", "to_state")}),
         hidden_options=({"n_states": 4}, {"n_states": 7}, {"n_states": 12, "length": 120},
                         {"n_states": 5, "length": 2}, {"n_states": 6, "unseen_highest": 2}),
         visible_options=({}, {"n_states": 7, "length": 40}, {"n_states": 6, "unseen_highest": 2}),
         loops_over_time=True, dtype_free=True),
    Spec("sequence_models.markov_log_likelihood", _markov_inputs, ref.markov_log_likelihood,
         OutputLayout("log_likelihood"),
         hidden_options=({"n_states": 3}, {"n_states": 5, "length": 1}, {"n_states": 4, "length": 2},
                         {"n_states": 4, "length": 1200},  # a product of probabilities would underflow
                         {"n_states": 4, "impossible": True}),  # log(0) = -inf
         visible_options=({}, {"length": 1}, {"impossible": True}, {"length": 1200}), loops_over_time=True),
    Spec("sequence_models.latent_update", _latent_inputs, ref.latent_update,
         OutputLayout("h_next", {"h_next": BH})),
    Spec("rnn.rnn_cell", _rnn_cell_inputs, ref.rnn_cell, OutputLayout("h_next", {"h_next": BH}),
         keyword_options=("nonlinearity",),
         hidden_options=({"nonlinearity": "tanh"}, {"nonlinearity": "relu"}),
         visible_options=({"nonlinearity": "tanh"}, {"nonlinearity": "relu"})),
    Spec("rnn.rnn_forward", _sequence_inputs(1), ref.rnn_forward, _sequence_layout(("output", "h_n")),
         keyword_options=("batch_first",), hidden_options=BATCH_FIRST_OPTIONS, visible_options=BATCH_FIRST_OPTIONS,
         loops_over_time=True),
    Spec("rnn.rnn_bptt", _bptt_inputs, ref.rnn_bptt,
         OutputLayout(("grad_weight_ih", "grad_weight_hh", "grad_bias_ih", "grad_bias_hh", "grad_h0"),
                      {"grad_h0": BH}), loops_over_time=True, refusals=("recurrent_kernels", "autograd")),
    Spec("rnn.hidden_gradient_norms", _gradient_norm_inputs, ref.hidden_gradient_norms,
         OutputLayout("norms", {"norms": ("t",)}), loops_over_time=True,
         refusals=("recurrent_kernels", "autograd")),
    Spec("rnn.clip_grad_norm", _clip_inputs, ref.clip_grad_norm, OutputLayout(("clipped[]", "total_norm")),
         hidden_options=(
             {"total_norm": 3.0, "max_norm": 1.0},     # clipped
             {"total_norm": 0.5, "max_norm": 1.0},     # left alone
             {"total_norm": 5.0, "max_norm": 10.0},    # sqrt(max_norm) < total < max_norm: left alone
             {"total_norm": 0.4, "max_norm": 0.25},    # max_norm < total < sqrt(max_norm): clipped
             {"total_norm": 2.0, "max_norm": 2.0},     # exactly at max_norm: scaled by 2 / (2 + 1e-6)
             {"max_norm": 1000.0, "n_tensors": 1},     # one tensor, far below
         ),
         visible_options=({"max_norm": 1.0}, {"max_norm": 100.0}, {"total_norm": 5.0, "max_norm": 10.0},
                          {"total_norm": 0.4, "max_norm": 0.25}, {"total_norm": 2.0, "max_norm": 2.0}),
         refusals=("recurrent_kernels", "clip_grad_norm")),
    _gate_spec("lstm.forget_gate", 4, "f", LSTM_BLOCK["f"], torch.sigmoid),
    _gate_spec("lstm.input_gate", 4, "i", LSTM_BLOCK["i"], torch.sigmoid),
    _gate_spec("lstm.candidate", 4, "g", LSTM_BLOCK["g"], torch.tanh),
    Spec("lstm.cell_update", _cell_update_inputs, ref.cell_update, OutputLayout("c_next", {"c_next": BH})),
    Spec("lstm.output_gate_and_hidden", _output_gate_inputs, _output_gate_reference,
         OutputLayout(("o", "h_next"), {"o": BH, "h_next": BH})),
    Spec("lstm.lstm_cell", _lstm_cell_inputs, ref.lstm_cell, OutputLayout(("h_next", "c_next"),
                                                                          {"h_next": BH, "c_next": BH})),
    Spec("lstm.lstm_forward", _sequence_inputs(4, with_cell_state=True), ref.lstm_forward,
         _sequence_layout(("output", ("h_n", "c_n"))), keyword_options=("batch_first",),
         hidden_options=BATCH_FIRST_OPTIONS, visible_options=BATCH_FIRST_OPTIONS, loops_over_time=True),
    Spec("lstm.lstm_param_count", _sizes_inputs, lambda **s: ref.parameter_count(nn.LSTM, **s),
         OutputLayout("count"), dtype_free=True),
    _gate_spec("gru.reset_gate", 3, "r", GRU_BLOCK["r"], torch.sigmoid),
    _gate_spec("gru.update_gate", 3, "z", GRU_BLOCK["z"], torch.sigmoid),
    Spec("gru.gru_candidate", _gru_candidate_inputs, ref.gru_candidate, OutputLayout("n", {"n": BH})),
    Spec("gru.gru_hidden_update", _gru_update_inputs, ref.gru_hidden_update,
         OutputLayout("h_next", {"h_next": BH})),
    Spec("gru.gru_cell", _gru_cell_inputs, ref.gru_cell, OutputLayout("h_next", {"h_next": BH})),
    Spec("gru.gru_forward", _sequence_inputs(3), ref.gru_forward, _sequence_layout(("output", "h_n")),
         keyword_options=("batch_first",), hidden_options=BATCH_FIRST_OPTIONS, visible_options=BATCH_FIRST_OPTIONS,
         loops_over_time=True),
    Spec("gru.parameter_counts", _sizes_inputs,
         lambda **s: {name: ref.parameter_count(cls, **s)
                      for name, cls in (("rnn", nn.RNN), ("gru", nn.GRU), ("lstm", nn.LSTM))},
         OutputLayout("counts"), dtype_free=True),
)


def sequence_axes(inputs):
    """Axis names of a sequence output, which depend on batch_first."""
    return SEQ_AXES[bool(inputs.get("batch_first", False))]


def layout_for(spec, inputs):
    """The spec's layout, with the sequence axes adjusted to batch_first."""
    if "output" not in spec.layout.axes:
        return spec.layout
    return replace(spec.layout, axes={**spec.layout.axes, "output": sequence_axes(inputs)})


# The parts that ask for more than transcription: backward passes by hand, answers to questions, a trained
# model. Each module builds on the helpers above and adds its specs to SPECS when imported.
import autograder.checks.specs_backward  # noqa: E402,F401
import autograder.checks.specs_questions  # noqa: E402,F401
import autograder.checks.specs_training  # noqa: E402,F401
import autograder.checks.specs_char_lm  # noqa: E402,F401
