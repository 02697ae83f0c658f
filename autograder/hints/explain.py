"""Explain a failed check from all its cases at once: where the output is wrong, and what reproduces it.

Two kinds of explanation, both from plain data (snapshots) and references computed here:

- `locate`: *where* the output is wrong, structurally: which returned values are right and which wrong,
  which time steps ("from t=3 on"), batch rows, hidden units or entries; and across cases, the one
  feature the failing cases share ("only when batch_first=True", "only with batch 1").
- `likely_mistake`: *what* reproduces it: simple transformations of the right computation (an input
  set to zero or one, two inputs swapped, a weight transposed, gate blocks permuted or one block left
  out, the sequence reversed, an option ignored, the output negated, scaled, shifted or reversed in time,
  another nonlinearity, the nonlinearity applied twice) plus the check's catalogue of known mistakes
  (autograder.hints.diagnose.MISTAKES). A transformation is named only when it reproduces the student's
  output on *every* case (where the student raised, it must raise too) and differs from the right
  answer on at least one; otherwise nothing is named.
"""
import itertools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from autograder.sandbox.snapshots import OtherSnapshot, TensorSnapshot, snapshot
from autograder.checks.compare import Tolerance, compare
from autograder.checks.families import LONG_STEPS, PATTERN_TEXT
from autograder.checks.contracts import contract_for
from autograder.checks.specs import layout_for

ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "identity": lambda t: t}


@dataclass
class CaseView:
    """One case as the explanation sees it: inputs and reference rebuilt here, the observation as data."""
    case: object
    inputs: dict
    observation: object
    expected: object            # the right answer (None when the inputs must be refused)
    expected_error: object      # the exception type the inputs must raise, or None
    tolerance: Tolerance
    passed: bool


@dataclass(frozen=True)
class Hypothesis:
    hint: str
    predict: Callable  # CaseView -> what a solution with this mistake returns (may raise)


# ----- where -----

def locate(spec, views):
    """Lines saying where the output is wrong, or [] when nothing can be located."""
    lines = []
    pattern = case_pattern(views)
    if pattern:
        lines.append(pattern)
    failing = [v for v in views if not v.passed and v.expected_error is None and not v.observation.error_type]
    if failing:
        lines += _locate_values(spec, failing[0])
    return lines


_FEATURES = (
    ("batch == 1", lambda c: c.batch == 1),
    ("batch > 1", lambda c: c.batch > 1),
    ("one time step", lambda c: c.steps == 1),
    ("steps == batch", lambda c: c.steps == c.batch),
    ("input_size == hidden_size", lambda c: c.input_size == c.hidden_size),
    ("hidden_size == 1", lambda c: c.hidden_size == 1),
    (f"a long sequence (more than 6 steps, up to {LONG_STEPS})", lambda c: c.steps > 6),
)


def _input_shapes(inputs):
    shapes = []
    for name, value in inputs.items():
        for item in (value if isinstance(value, (tuple, list)) else (value,)):
            shapes.append((name, tuple(item.shape) if isinstance(item, torch.Tensor) else repr(item)))
    return tuple(shapes)


def _call_order_features(views):
    """Features of the order of the calls (the cases run one after another in one process): every call
    after the first, and the calls whose input shapes an earlier call already had."""
    first = id(views[0].case) if views else None
    seen, repeated = {False: set(), True: set()}, {False: set(), True: set()}
    for view in views:
        for with_dtype in (False, True):
            shapes = (_input_shapes(view.inputs), view.case.dtype if with_dtype else None)
            if shapes in seen[with_dtype]:
                repeated[with_dtype].add(id(view.case))
            seen[with_dtype].add(shapes)
    return [("a call after the first one (state kept from one call to the next: a global or a cache)",
             lambda c: id(c) != first)] + [
        (f"input shapes{' and dtype' * with_dtype} that an earlier call already had (state kept from a previous "
         "call: a cache keyed by shape, or a global)", lambda c, r=repeated[with_dtype]: id(c) in r)
        for with_dtype in (False, True)]


def _family_features(failing):
    """Features of the families of inputs (autograder.checks.families): each family, and both sizes of
    pre-activations at once."""
    features = [(PATTERN_TEXT["large"].replace("(|a| up to about 50", "(|a| from about 50 to 1e3"),
                 lambda c: c.family in ("large", "huge"))]
    for family in dict.fromkeys(v.case.family for v in failing if v.case.family):
        features.append((PATTERN_TEXT[family], lambda c, f=family: c.family == f))
    return features


def case_pattern(views):
    """'it fails only on cases with X (and passes the others)' when one feature separates them."""
    judged = [v for v in views if v.expected_error is None]
    failing = [v for v in judged if not v.passed]
    passing = [v for v in judged if v.passed]
    if not failing or not passing:
        return None
    # the family first: a meta case is float32, and on a dtype-free check 'dtype float32' would name it
    features = _family_features(failing) + [(f"dtype {str(v.case.dtype).replace('torch.', '')}",
                                             lambda c, d=v.case.dtype: c.dtype == d) for v in failing[:1]]
    for key in failing[0].case.options:
        value = failing[0].case.options[key]
        features.append((_option_text(key, value), lambda c, k=key, val=value: c.options.get(k) == val))
    features += list(_FEATURES) + _call_order_features(judged)
    pairs = [(f"{a} and {b}", lambda c, f=fa, g=fb: f(c) and g(c))
             for (a, fa), (b, fb) in itertools.combinations(features, 2)]
    for text, test in features + pairs:
        if all(test(v.case) for v in failing) and not any(test(v.case) for v in passing):
            return f"it is wrong only on the cases with {text} and right on the {len(passing)} others"
    failing_options = {_options_text(v) for v in failing}
    passing_options = {_options_text(v) for v in passing}
    if failing_options.isdisjoint(passing_options) and len(failing_options) <= 3 and all(failing_options):
        return (f"it is wrong only with {' or with '.join(sorted(failing_options))}, and right with "
                f"{' and with '.join(sorted(passing_options))}")
    return None


RELATIVE_SIZES = {"steps": "T", "steps+1": "T + 1", "steps-1": "T - 1"}


def _option_text(key, value):
    """tau='steps-1' reads as 'tau = T - 1' (the series length T); other options as key=value."""
    if value in RELATIVE_SIZES:
        return f"{key} = {RELATIVE_SIZES[value]}"
    return f"{key}={value!r}"


def _options_text(view):
    """The case's option values as the function sees them (e.g. max_norm=10.0), not how they were built."""
    shown = [k for k in view.case.options if k in view.inputs]
    return ", ".join(f"{k}={view.inputs[k]!r}" for k in shown)


def _leaves(names, observed, expected):
    """[(name, observed leaf, expected leaf)] for tensor leaves of matching structure."""
    if isinstance(names, tuple) and isinstance(observed, (tuple, list)) and len(observed) == len(names):
        return [leaf for n, o, e in zip(names, observed, expected) for leaf in _leaves(n, o, e)]
    if isinstance(names, str) and names.endswith("[]") and isinstance(observed, (tuple, list)):
        if len(observed) != len(expected):
            return []
        return [leaf for k, (o, e) in enumerate(zip(observed, expected))
                for leaf in _leaves(f"{names[:-2]}[{k}]", o, e)]
    if isinstance(expected, dict) and isinstance(observed, dict):
        return [leaf for key, e in expected.items() if key in observed
                for leaf in _leaves(f"{names}[{key!r}]", observed[key], e)]
    if isinstance(expected, torch.Tensor) and isinstance(observed, TensorSnapshot) \
            and observed.shape == tuple(expected.shape) and not expected.is_meta:
        return [(names, observed, expected)]
    return []


def wrong_mask(observed, expected, tolerance):
    got = observed.values.astype(np.float64)
    want = expected.detach().cpu().double().numpy()
    infinite = np.isinf(want)
    with np.errstate(invalid="ignore"):
        close = np.abs(got - want) <= tolerance.atol + tolerance.rtol * np.abs(np.where(infinite, 0.0, want))
    close = np.where(infinite, got == want, close)
    return ~close & ~(np.isnan(got) & np.isnan(want))


def _locate_values(spec, view):
    layout = layout_for(spec, view.inputs)
    leaves = _leaves(layout.names, view.observation.result, view.expected)
    if not leaves:
        return []
    masks = [(name, wrong_mask(obs, exp, view.tolerance)) for name, obs, exp in leaves]
    lines = []
    right = [name for name, mask in masks if not mask.any()]
    wrong = [(name, mask) for name, mask in masks if mask.any()]
    if len(masks) > 1:
        right_text = f"right: {', '.join(f'`{n}`' for n in right)}; " if right else ""
        lines.append(f"{right_text}wrong: {', '.join(f'`{n}`' for n, _ in wrong)}")
    contract = contract_for(spec.check_id)
    described = []
    for name, mask in wrong:
        axes = layout.axes.get(name.split("[")[0])
        where = _where_in(mask, axes, contract)
        blocks = _gate_blocks_text(name, mask, contract)
        if blocks:
            where = f"{blocks}; {where}" if where else blocks
        if where:
            described.append((not blocks, f"in `{name}`: {where}"))
    # The gate blocks of the weights say the most: those first.
    return lines + [line for _, line in sorted(described, key=lambda item: item[0])[:4]]


def _gate_blocks_text(name, mask, contract):
    """'gate blocks f, o wrong (i, g right)' for a weight or bias (gradient) of stacked gate blocks."""
    leaf = name.split("[")[-1].strip("']") if "[" in name else name
    stacked = any(word in leaf for word in ("weight", "bias"))
    n = contract.gate_blocks
    if not stacked or n < 2 or mask.ndim == 0 or mask.shape[0] % n:
        return None
    rows = mask.reshape(n, -1).any(axis=1)
    names = contract.gate_names
    wrong = [names[k] for k in range(n) if rows[k]]
    right = [names[k] for k in range(n) if not rows[k]]
    if not right:
        return f"every gate block ({', '.join(names)}) has wrong rows"
    return f"rows of gate block{'s' * (len(wrong) > 1)} {', '.join(wrong)} wrong ({', '.join(right)} right)"


def _where_in(mask, axes, contract):
    """'time steps t >= 2; every batch row; hidden units [0, 3]; 12 of 30 entries right'."""
    if mask.ndim == 0:
        return None
    parts = []
    names = axes if axes and len(axes) == mask.ndim else tuple(f"axis {k}" for k in range(mask.ndim))
    for axis, name in enumerate(names):
        size = mask.shape[axis]
        other = tuple(k for k in range(mask.ndim) if k != axis)
        bad = np.flatnonzero(mask.any(axis=other) if other else mask)
        if size <= 1 or len(bad) == size:
            continue
        parts.append(_index_set_text(name, bad, size, contract))
    right = int((~mask).sum())
    parts.append(f"{right} of {mask.size} entries right" if right else "every entry wrong")
    return "; ".join(parts)


def _index_set_text(name, bad, size, contract):
    label = {"time": "time steps t", "batch": "batch rows", "hidden": "hidden units", "t": "entries t",
             "step": "predictions"}.get(name, f"{name} indices")
    if len(bad) == 1:
        return f"only {label} [{int(bad[0])}] is wrong (of {size})"
    if len(bad) and list(bad) == list(range(bad[0], size)) and bad[0] > 0:
        return f"{label} from {bad[0]} on are wrong (earlier ones right)"
    if len(bad) and list(bad) == list(range(0, bad[-1] + 1)):
        from_end = size - 1 - int(bad[-1])
        return (f"{label} up to {bad[-1]} are wrong (later ones right: the last {from_end} of {size}, "
                "counting from the end)")
    return f"only {label} {[int(b) for b in bad]} are wrong (of {size})"


# ----- what -----

def likely_mistake(spec, views, catalogue=()):
    """The hint of the first hypothesis that reproduces the student's output on every case, or None."""
    judged = [v for v in views if v.expected_error is None and v.case.device != "meta"]  # meta: no values
    if not any(not v.passed for v in judged):
        return None
    if any(v.observation.modified_inputs or v.observation.returned_inputs or v.observation.forbidden
           for v in judged):
        return None
    # Small cases first (failing before passing among equals): most hypotheses are rejected by the first
    # one, right or wrong, and a long sequence's references cost the most.
    ordered = sorted(judged, key=lambda v: (v.case.steps * v.case.batch, v.passed))
    if all(v.observation.error_type for v in ordered if not v.passed) and not any(
            not v.observation.error_type for v in ordered):
        return None  # nothing returned anywhere: exception hints say more
    for hypothesis in list(catalogue) + _all_hypotheses(spec, views):
        if _reproduces(spec, hypothesis, ordered):
            return hypothesis.hint
    return precision_hint(spec, judged)


def _all_hypotheses(spec, views):
    """Hypotheses built from the first case and from the first square one (input_size == hidden_size),
    where inputs of different shapes elsewhere become swappable; each hint once."""
    square = [v for v in views if v.case.input_size == v.case.hidden_size]
    found = {}
    for view in [views[0]] + square[:1]:
        for hypothesis in hypotheses(spec, view):
            found.setdefault(hypothesis.hint, hypothesis)
    return list(found.values())


FLOAT32_PRECISION = Tolerance(rtol=1e-5, atol=1e-6)


def precision_hint(spec, views):
    """'float32 rounding' when every wrong case is float64 and right to float32 precision."""
    judged = [v for v in views if v.expected_error is None]
    failing = [v for v in judged if not v.passed]
    if not failing or any(v.case.dtype != torch.float64 or v.observation.error_type for v in failing):
        return None
    for view in failing:
        layout = layout_for(spec, view.inputs)
        leaves = _leaves(layout.names, view.observation.result, view.expected)
        if not leaves or compare(view.observation.result, view.expected, layout, FLOAT32_PRECISION,
                                 fixed_dtype=contract_for(spec.check_id).fixed_dtype) is not None:
            return None
        # Computed in float32 and cast back: every value is a float32 number (a float64 slip is not).
        for _, observed, _ in leaves:
            values = observed.values.astype(np.float64)
            if not np.array_equal(values, values.astype(np.float32).astype(np.float64)):
                return None
    return ("the float64 results are right only to float32 precision: part of the computation runs in "
            "float32 (a tensor made without dtype=..., or .float()) before the result is cast back")


def _reproduces(spec, hypothesis, views):
    differs = False
    for view in views:
        if view.observation.error_type and view.case.family == "noncontiguous":
            continue  # a raise on non-contiguous views is about memory layout (said apart), not the formula
        try:
            predicted = hypothesis.predict(view)
        except Exception:  # this mistake cannot run here: it explains the case only if the student raised
            if view.observation.error_type:
                continue
            return False
        if view.observation.error_type:
            return False
        if predicted is None:
            return False
        layout = layout_for(spec, view.inputs)
        tolerance = view.tolerance
        if compare(view.observation.result, predicted, layout, tolerance) is not None:
            return False
        differs = differs or compare(snapshot(predicted), view.expected, layout, tolerance) is not None
    return differs


def hypotheses(spec, view):
    """Generic transformations of the right computation, built from the check's inputs and contract."""
    contract = contract_for(spec.check_id)
    inputs = view.inputs
    found = []
    floats = [(name, value) for name, value in _floating(inputs)]

    def with_inputs(change):
        return lambda v: spec.expected(change(_copy(v.inputs)))

    # Options: ignored or read the other way.
    for option, other in (("batch_first", None), ("nonlinearity", "tanh")):
        if option in inputs:
            found += _option_hypotheses(spec, option, other)
    # An input left out as a term (= 0) or as a factor (= 1).
    for name, value in floats:
        found.append(Hypothesis(f"the term with `{name}` is missing: your result equals the right formula with "
                                f"`{name}` = 0", with_inputs(_setter(name, torch.zeros_like))))
    for name, value in floats:
        found.append(Hypothesis(f"`{name}` enters with the wrong sign: your result equals the right formula with "
                                f"-`{name}`", with_inputs(_setter(name, lambda t: -t))))
    for name, value in inputs.items():
        if isinstance(value, (tuple, list)) and len(value) > 1:
            found.append(Hypothesis(f"`{name}` is not used: your result equals the right formula with every "
                                    f"tensor of `{name}` set to zero", with_inputs(_zero_all(name))))
    for name, value in floats:
        if value.dim() >= 1:
            found.append(Hypothesis(f"`{name}` is left out as a factor: your result equals the right formula "
                                    f"with `{name}` = 1", with_inputs(_setter(name, torch.ones_like))))
    # Two inputs of the same shape swapped; a square matrix transposed.
    for (a, va), (b, vb) in itertools.combinations(floats, 2):
        if va.shape == vb.shape:
            found.append(Hypothesis(f"`{a}` and `{b}` are swapped (each is used where the other belongs)",
                                    with_inputs(_swapper(a, b))))
    for name, value in floats:
        if value.dim() == 2:
            found.append(Hypothesis(
                f"`{name}` is used transposed: PyTorch stores a weight as (out_features, in_features), so the "
                f"product is x @ {name}.T", with_inputs(_setter(name, lambda t: t.T.contiguous()))))
    # Stacked gate blocks: read in another order, or one block's bias or weight left out.
    if contract.gate_blocks >= 2 and all(name in inputs for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
        found += _block_hypotheses(spec, contract)
    # A sequence processed from its end.
    if "x" in inputs and inputs["x"].dim() == 3:
        found.append(Hypothesis("the sequence is processed in reverse order (from its last step to its first)",
                                with_inputs(_time_reverser)))
        for shift, text in ((1, "x[t-1] (it wraps around to the last step at t=0)"), (-1, "x[t+1]")):
            found.append(Hypothesis(f"step t reads the input of another step, {text}: an index off by one",
                                    with_inputs(_time_roller(shift))))
    found += _output_hypotheses(spec, contract, view)
    if contract.count_terms:
        found += _count_hypotheses(contract)
    # Every bias (1-D input) with the wrong sign at once.
    biases = [name for name, value in floats if value.dim() == 1]
    if len(biases) > 1:
        def negate_all(inputs):
            for name in biases:
                _put(inputs, name, -_get(inputs, name))
            return inputs
        found.append(Hypothesis(f"the biases {', '.join(f'`{b}`' for b in biases)} enter with the wrong sign",
                                with_inputs(negate_all)))
    return found


def _count_hypotheses(contract):
    """A count with terms left out or counted twice, or with another number of gate blocks."""
    def replaced(key, count):
        def predict(v):
            value = count(v.inputs["input_size"], v.inputs["hidden_size"])
            return {**v.expected, key: value} if key else value
        return predict

    def terms_of(key):
        return lambda i, h: contract.count_terms(i, h)[key]

    found = []
    for key, (blocks, terms) in contract.count_terms(1, 1).items():
        where = f"`{key}`: " if key else ""
        names = list(terms)
        for size in (1, 2):
            for left_out in itertools.combinations(names, size):
                found.append(Hypothesis(
                    f"{where}the count leaves out {' and '.join(left_out)}",
                    replaced(key, lambda i, h, k=key, out=left_out: sum(
                        v for n, v in terms_of(k)(i, h)[1].items() if n not in out))))
        for twice in names:
            found.append(Hypothesis(f"{where}{twice} is counted twice", replaced(
                key, lambda i, h, k=key, t=twice: sum(terms_of(k)(i, h)[1].values()) + terms_of(k)(i, h)[1][t])))
        for other in range(1, 5):
            if other != blocks:
                found.append(Hypothesis(f"{where}counted with {other} gate block(s); it has {blocks}", replaced(
                    key, lambda i, h, k=key, b=other: sum(terms_of(k)(i, h)[1].values()) * b // terms_of(k)(i, h)[0])))
    return found


def _floating(inputs):
    for name, value in inputs.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            yield name, value
        elif isinstance(value, (tuple, list)):
            for k, item in enumerate(value):
                if isinstance(item, torch.Tensor) and item.is_floating_point():
                    yield f"{name}[{k}]", item


def _copy(inputs):
    return {k: (list(v) if isinstance(v, (tuple, list)) else v) for k, v in inputs.items()}


def _get(inputs, name):
    if name.endswith("]"):
        base, index = name[:-1].split("[")
        return inputs[base][int(index)]
    return inputs[name]


def _put(inputs, name, value):
    if name.endswith("]"):
        base, index = name[:-1].split("[")
        inputs[base][int(index)] = value
    else:
        inputs[name] = value
    return inputs


def _setter(name, transform):
    return lambda inputs: _put(inputs, name, transform(_get(inputs, name)))


def _zero_all(name):
    def change(inputs):
        inputs[name] = [torch.zeros_like(t) for t in inputs[name]]
        return inputs
    return change


def _swapper(a, b):
    def swap(inputs):
        va, vb = _get(inputs, a), _get(inputs, b)
        return _put(_put(inputs, a, vb), b, va)
    return swap


def _time_reverser(inputs):
    axis = 1 if inputs.get("batch_first") else 0
    inputs["x"] = inputs["x"].flip(axis)
    return inputs


def _time_roller(shift):
    def change(inputs):
        inputs["x"] = inputs["x"].roll(shift, dims=1 if inputs.get("batch_first") else 0)
        return inputs
    return change


def _option_hypotheses(spec, option, fixed):
    def run(v, value):
        return spec.expected({**v.inputs, option: value})
    if option == "batch_first":
        def guessed(when_first):
            def predict(v):
                flip = v.case.steps == v.case.batch and bool(v.inputs["batch_first"]) == when_first
                return run(v, not v.inputs["batch_first"]) if flip else v.expected
            return predict
        text = ("the layout is guessed from the shapes instead of read from `batch_first`: with steps == batch "
                "the guess is wrong (it reads a {} input as {})")
        def reshaped(inputs_too, output_too=True):
            def predict(v):
                if not v.inputs["batch_first"]:
                    return v.expected
                x = v.inputs["x"]
                batch, steps = x.shape[0], x.shape[1]
                time_first = x.reshape(steps, batch, -1) if inputs_too else x.transpose(0, 1)
                output, state = spec.expected({**v.inputs, "x": time_first, "batch_first": False})
                return (output.reshape(batch, steps, -1) if output_too else output.transpose(0, 1)), state
            return predict
        view_text = ("with batch_first=True the layout is changed with reshape/view, which keeps the memory order "
                     "and mixes time and batch; use transpose(0, 1) ({})")
        return [Hypothesis(view_text.format("for the input and the output"), reshaped(True)),
                Hypothesis(view_text.format("for the output"), reshaped(False)),
                Hypothesis(view_text.format("for the input"), reshaped(True, output_too=False)),
                Hypothesis("`batch_first` is ignored: the sequence is always read as (time, batch, input)",
                           lambda v: run(v, False) if not v.inputs["batch_first"] else _reinterpreted(spec, v)),
                Hypothesis(text.format("batch-first", "time-first"), guessed(True)),
                Hypothesis(text.format("time-first", "batch-first"), guessed(False))]
    return [Hypothesis(f"the `{option}` argument is ignored: {fixed} is used whatever it says",
                       lambda v: run(v, fixed))]


def _reinterpreted(spec, view):
    """What time-first code returns on a batch-first input (it reads batch as time), when shapes allow."""
    inputs = view.inputs
    x = inputs["x"]
    if x.shape[0] != x.shape[1]:
        raise ValueError("shapes do not allow reading batch as time")
    return spec.expected({**inputs, "batch_first": False})


def _block_hypotheses(spec, contract):
    n, names = contract.gate_blocks, contract.gate_names
    weights = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    found = []

    def permuted(order):
        def change(inputs):
            for name in weights:
                blocks = inputs[name].chunk(n, dim=0)
                inputs[name] = torch.cat([blocks[k] for k in order], dim=0)
            return inputs
        return lambda v: spec.expected(change(_copy(v.inputs)))

    for order in itertools.permutations(range(n)):
        if order != tuple(range(n)):
            found.append(Hypothesis(f"gate order: your code reads the row blocks as ({','.join(names[k] for k in order)}); "
                                    f"PyTorch's order is {', '.join(names)}", permuted(order)))

    def block_zeroed(name, k):
        def change(inputs):
            blocks = list(inputs[name].chunk(n, dim=0))
            blocks[k] = torch.zeros_like(blocks[k])
            inputs[name] = torch.cat(blocks, dim=0)
            return inputs
        return lambda v: spec.expected(change(_copy(v.inputs)))

    for k in range(n):
        for name in weights:
            rows = f"rows {k}H:{k + 1}H" if k else "rows 0:H"
            found.append(Hypothesis(f"gate {names[k]}: its part of `{name}` ({rows}) is left out", block_zeroed(name, k)))
    return found


def _output_hypotheses(spec, contract, view):
    """Transformations of the right output: sign, constant factor, activation, shift or reversal in time."""
    layout = layout_for(spec, view.inputs)
    leaf_names = _leaf_paths(layout.names, view.expected)
    found = []
    for (path_a, a), (path_b, b) in itertools.combinations(leaf_names, 2):
        if tuple(_at(view.expected, path_a).shape) == tuple(_at(view.expected, path_b).shape):
            found.append(Hypothesis(f"`{a}` and `{b}` are returned in each other's place (the order is wrong)",
                                    _leaves_swapped(path_a, path_b)))
    for path, name in leaf_names:
        axes = layout.axes.get(name.split("[")[0]) or ()
        leaf = _at(view.expected, path)
        if not isinstance(leaf, torch.Tensor) or not leaf.is_floating_point():
            continue
        found.append(Hypothesis(f"`{name}` has the wrong sign (your result is exactly minus the right one)",
                                _leaf_transform(path, lambda t, v: -t)))
        if leaf.numel() > 1:  # any wrong single number is a multiple of the right one: no hint in that
            found.append(Hypothesis(f"`{name}` is off by a constant factor", _scaled(path)))
        activation = contract.activations.get(name, contract.activations.get("*"))
        if activation == "nonlinearity":
            activation = view.inputs.get("nonlinearity")
        if activation in ("sigmoid", "tanh"):
            for other in ("sigmoid", "tanh", "relu", "identity"):
                if other != activation:
                    text = (f"the {activation} of `{name}` is missing" if other == "identity"
                            else f"`{name}` uses {other} where the formula has {activation}")
                    found.append(Hypothesis(text, _leaf_transform(path, _reactivate(activation, other))))
            if activation == "sigmoid":
                found.append(Hypothesis(f"`{name}` is 1 minus the right value: the gate's complement 1 - sigmoid(a) "
                                        "(the same number as sigmoid(-a), a negated pre-activation)",
                                        _leaf_transform(path, lambda t, v: 1 - t)))
            found.append(Hypothesis(f"{activation} is applied twice to `{name}`",
                                    _leaf_transform(path, lambda t, v, a=activation: ACTIVATIONS[a](t))))
        if leaf.dim() == 2 and leaf.shape[0] == leaf.shape[1] and "time" not in axes:
            found.append(Hypothesis(f"`{name}` is transposed", _leaf_transform(path, lambda t, v: t.T)))
        if "time" in axes and "batch" in axes:
            found.append(Hypothesis(f"`{name}` has its time and batch axes swapped (stacked along the wrong "
                                    "dimension, or a transpose missing or one too many)",
                                    _leaf_transform(path, lambda t, v, a=axes: t.transpose(a.index("time"),
                                                                                          a.index("batch")))))
        time_axis = axes.index("time") if "time" in axes else (0 if leaf.dim() == 1 and leaf.shape[0] > 1 else None)
        if time_axis is not None:
            what = "time step" if "time" in axes else "entry"
            found.append(Hypothesis(f"`{name}` is in reverse order: {what} k holds what belongs at the other end",
                                    _leaf_transform(path, lambda t, v, a=time_axis: t.flip(a))))
            found.append(Hypothesis(f"`{name}` is shifted by one {what}: {what} t holds the value of {what} t-1 "
                                    f"(recorded before the update instead of after)", _shifted(path, time_axis, 1)))
            found.append(Hypothesis(f"`{name}` is shifted by one {what}: {what} t holds the value of {what} t+1",
                                    _shifted(path, time_axis, -1)))
    return found


def _leaf_paths(names, expected, path=()):
    if isinstance(names, tuple) and isinstance(expected, (tuple, list)):
        return [leaf for k, (n, e) in enumerate(zip(names, expected)) for leaf in _leaf_paths(n, e, path + (k,))]
    if isinstance(names, str) and not names.endswith("[]") and isinstance(expected, torch.Tensor):
        return [(path, names)]
    return []


def _at(value, path):
    for k in path:
        value = value[k]
    return value


def _replace_at(value, path, new):
    if not path:
        return new
    items = list(value)
    items[path[0]] = _replace_at(items[path[0]], path[1:], new)
    return tuple(items) if isinstance(value, tuple) else items


def _leaves_swapped(path_a, path_b):
    def predict(v):
        a, b = _at(v.expected, path_a), _at(v.expected, path_b)
        return _replace_at(_replace_at(v.expected, path_a, b), path_b, a)
    return predict


def _leaf_transform(path, transform):
    return lambda v: _replace_at(v.expected, path, transform(_at(v.expected, path), v))


def _scaled(path):
    """c * right, with c fitted on the case (the same c must then fit every case)."""
    factors = []

    def predict(v):
        want = _at(v.expected, path).double()
        got = torch.from_numpy(np.asarray(_at(v.observation.result, path).values, dtype=np.float64)).to(want.device)
        if got.shape != want.shape or float((want * want).sum()) == 0.0:
            raise ValueError("no factor to fit")
        c = float((got * want).sum() / (want * want).sum())
        if not factors:
            factors.append(c)
        if c == 0.0 or not math.isclose(c, factors[0], rel_tol=1e-5) or math.isclose(c, 1.0, rel_tol=1e-9):
            raise ValueError("not one constant factor")
        # The case's own fit: a factor fitted in float32 is off by more than a float64 tolerance.
        return _replace_at(v.expected, path, (_at(v.expected, path) * c))
    return predict


def _reactivate(activation, other):
    def transform(t, v):
        y = t.double()
        if activation == "sigmoid":
            pre = torch.logit(y.clamp(1e-15, 1 - 1e-15))
        else:
            pre = torch.atanh(y.clamp(-1 + 1e-15, 1 - 1e-15))
        return ACTIVATIONS[other](pre).to(t.dtype)
    return transform


def _shifted(path, axis, by):
    def predict(v):
        want = _at(v.expected, path)
        got = _at(v.observation.result, path)
        size = want.shape[axis]
        if size < 2 or not isinstance(got, TensorSnapshot) or got.shape != tuple(want.shape):
            raise ValueError("nothing to shift")
        # Keep the student's own entries where the shift leaves nothing to compare (t=0 or t=T-1).
        result = torch.from_numpy(np.array(got.values)).to(dtype=want.dtype, device=want.device)
        if by == 1:
            result.narrow(axis, 1, size - 1).copy_(want.narrow(axis, 0, size - 1))
        else:
            result.narrow(axis, 0, size - 1).copy_(want.narrow(axis, 1, size - 1))
        return _replace_at(v.expected, path, result)
    return predict


def exception_views_hint(views):
    """When the student raised on some valid cases only: the feature those cases share, if one does."""
    judged = [v for v in views if v.expected_error is None]
    raised = [v for v in judged if v.observation.error_type]
    if not raised or len(raised) == len(judged):
        return None
    fake = [CaseView(v.case, v.inputs, v.observation, v.expected, None, v.tolerance, not v.observation.error_type)
            for v in judged]
    pattern = case_pattern(fake)
    return pattern.replace("it is wrong", "it raises") if pattern else None


__all__ = ["CaseView", "Hypothesis", "locate", "likely_mistake", "hypotheses", "exception_views_hint",
           "OtherSnapshot"]
