"""Evidence, independent of the autograder, that every held-out entry really is wrong.

The oracle is the notebooks' own solutions (the answer cells of solutions/<a>/<a>.ipynb, executed here).
A probe is one set of inputs: the checks' inputs (autograder.checks.specs builds them from a Case) over sizes
and options chosen to reach the edges of each contract (batch of 1, one step, steps == batch,
input == hidden, every option value the texts mention and invalid ones, norms on both sides of each
clipping threshold), plus a few hand-made inputs (a state seen only at the end of a chain, a chain of
one state, a long chain in float32, an impossible transition, k = 0). An entry differs from the oracle
on a probe when it raises where the oracle does not (or not the ValueError the oracle raises), returns
another type, container, shape, dtype or values, hands back an input object, changes an input in
place, or, for cells and layers, gives other gradients (or none).
"""
import json
from functools import lru_cache
from pathlib import Path

import torch

from autograder.checks.specs import SPECS, Case

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
SIZES = (
    dict(steps=4, batch=2, input_size=3, hidden_size=4),   # input != hidden
    dict(steps=3, batch=3, input_size=4, hidden_size=4),   # steps == batch, input == hidden
    dict(steps=1, batch=1, input_size=2, hidden_size=3),   # one step, batch of 1
    dict(steps=5, batch=1, input_size=5, hidden_size=7),   # batch of 1, input + 2 == hidden
)
DTYPES = (torch.float64, torch.float32)
TOLERANCE = {torch.float64: dict(rtol=1e-9, atol=1e-11), torch.float32: dict(rtol=1e-4, atol=1e-5)}
SEQUENCE_OPTIONS = [{"batch_first": False}, {"batch_first": True}]
OPTIONS = {
    "sequence_models.ar_design_matrix": lambda steps: [{"tau": tau} for tau in (0, 1, 2, steps - 1, steps, steps + 1)],
    "sequence_models.fit_ar": lambda steps: [{"tau": 1}, {"tau": 3}],
    "sequence_models.predict_ahead": lambda steps: [{"tau": 2, "k": 4}, {"tau": 1, "k": 3}, {"tau": 3, "k": 6}],
    "sequence_models.transition_matrix": lambda steps: [{"n_states": 4}, {"n_states": 6}],
    "sequence_models.markov_log_likelihood": lambda steps: [{"n_states": 3}],
    "rnn.rnn_cell": lambda steps: [{"nonlinearity": name} for name in ("tanh", "relu", "sigmoid", "TANH", "Relu")],
    "rnn.rnn_forward": lambda steps: SEQUENCE_OPTIONS,
    "rnn.clip_grad_norm": lambda steps: [{"max_norm": m} for m in (0.5, 2.0, 10.0, 50.0, 1000.0)],
    "lstm.lstm_forward": lambda steps: SEQUENCE_OPTIONS,
    "gru.gru_forward": lambda steps: SEQUENCE_OPTIONS,
}
NOT_DIFFERENTIABLE = ("lstm.lstm_param_count", "gru.parameter_counts",  # and the backward passes by hand:
                      "lstm.lstm_step_backward", "lstm.lstm_bptt", "gru.gru_step_backward")
DIFFERENTIABLE_ELSEWHERE = ("sequence_models.latent_update", "rnn.rnn_cell", "rnn.rnn_forward")


@lru_cache(maxsize=None)
def notebook_solutions(assignment):
    """{function name: function} from the answer cells (cells defining functions) of a solution notebook."""
    notebook = json.loads((SOLUTIONS / assignment / f"{assignment}.ipynb").read_text())
    namespace = {"torch": torch}
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and source.lstrip().startswith("def "):
            exec(compile(source, f"{assignment}.ipynb", "exec"), namespace)
    return namespace


def oracle(check_id):
    """The notebook's solution; the repository's correct solution while a notebook does not have the part yet."""
    assignment, name = check_id.split(".")
    solutions = notebook_solutions(assignment)
    if name in solutions:
        return solutions[name]
    import reference_solutions
    import reference_solutions_new_parts
    return {**reference_solutions.BY_CHECK_ID, **reference_solutions_new_parts.BY_CHECK_ID}[check_id]


def _hand_made_probes(check_id):
    """Inputs the checks' input builders may not produce: edges of the sequence-model contracts."""
    draw = torch.Generator().manual_seed(7)

    def probabilities(*shape, dtype=torch.float64):
        return torch.softmax(torch.randn(*shape, generator=draw, dtype=torch.float64) * 1.5, dim=-1).to(dtype)

    if check_id == "sequence_models.transition_matrix":
        return [{"states": torch.tensor([0, 1, 0, 2, 1, 0, 3]), "n_states": 5},  # 3 only at the end, 4 never
                {"states": torch.tensor([2, 0, 1, 0, 1]), "n_states": 4},        # 2 only at the start
                {"states": torch.tensor([1]), "n_states": 3}]                    # one state: no transition
    if check_id == "sequence_models.markov_log_likelihood":
        impossible = probabilities(3, 3)
        impossible[0] = torch.tensor([0.0, 0.5, 0.5], dtype=torch.float64)  # 0 -> 0 never happens
        return [{"states": torch.tensor([2]), "A": probabilities(3, 3), "p0": probabilities(3)},
                {"states": torch.tensor([1, 0, 0, 2]), "A": impossible, "p0": probabilities(3)},
                {"states": torch.randint(0, 3, (400,), generator=draw), "A": probabilities(3, 3, dtype=torch.float32),
                 "p0": probabilities(3, dtype=torch.float32)}]
    if check_id == "sequence_models.predict_ahead":
        return [{"history": torch.randn(5, generator=draw, dtype=torch.float64),
                 "w": torch.randn(2, generator=draw, dtype=torch.float64), "b": torch.tensor(0.3, dtype=torch.float64),
                 "k": 0}]
    return []


def probes(check_id, device="cpu"):
    """Every probe of a check: (description, inputs, dtype); the hand-made ones only on the CPU."""
    spec = SPECS[check_id]
    found = []
    for dtype in DTYPES:
        for sizes in SIZES:
            options = OPTIONS.get(check_id, lambda steps: [{}])(sizes["steps"])
            for index, option in enumerate(options):
                case = Case(seed=101 + index, dtype=dtype, device=device, **sizes, options=option)
                found.append((f"{sizes}, {option}, {dtype} on {device}", spec.make_inputs(case), dtype))
    if device == "cpu":
        found += [(f"hand-made #{i}", inputs, torch.float64) for i, inputs in enumerate(_hand_made_probes(check_id))]
    return found


def _clone(value):
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, (tuple, list)):
        return type(value)(_clone(v) for v in value)
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    return value


def _objects(value):
    """Ids of the tensors and containers inside a value (what a function must not hand back)."""
    if isinstance(value, torch.Tensor):
        return {id(value)}
    if isinstance(value, (tuple, list)):
        return {id(value)}.union(*(_objects(v) for v in value))
    if isinstance(value, dict):
        return set().union(*(_objects(v) for v in value.values()))
    return set()


def _same(a, b):
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, (tuple, list)):
        return all(_same(x, y) for x, y in zip(a, b))
    return a == b


def difference(got, want, tolerance, path="result"):
    """Why `got` differs from the oracle's `want` (type, container, keys, shape, dtype, values), or None."""
    if isinstance(want, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"{path} is a {type(got).__name__}, not a tensor"
        if got.shape != want.shape or got.dtype != want.dtype or got.device != want.device:
            return (f"{path} is {tuple(got.shape)} {got.dtype} on {got.device}, "
                    f"not {tuple(want.shape)} {want.dtype} on {want.device}")
        if not torch.allclose(got.detach(), want.detach(), **tolerance):
            return f"{path} has other values"
        return None
    if type(got) is not type(want):
        return f"{path} is a {type(got).__name__}, not a {type(want).__name__}"
    if isinstance(want, (tuple, list)):
        if len(got) != len(want):
            return f"{path} holds {len(got)} values, not {len(want)}"
        return next((d for i, (g, w) in enumerate(zip(got, want))
                     if (d := difference(g, w, tolerance, f"{path}[{i}]"))), None)
    if isinstance(want, dict):
        if set(got) != set(want):
            return f"{path} has keys {sorted(got)}, not {sorted(want)}"
        return next((d for k in want if (d := difference(got[k], want[k], tolerance, f"{path}[{k!r}]"))), None)
    return None if got == want else f"{path} is {got!r}, not {want!r}"


def _differentiable(check_id):
    return check_id in DIFFERENTIABLE_ELSEWHERE or (check_id.split(".")[0] in ("lstm", "gru")
                                                     and check_id not in NOT_DIFFERENTIABLE)


def _with_grad(value):
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.detach().clone().requires_grad_(True)
    if isinstance(value, (tuple, list)):
        return type(value)(_with_grad(v) for v in value)
    return value


def _leaves(value):
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _leaves(v)]
    return []


def _gradients(fn, spec, inputs):
    """Gradients of a fixed weighted sum of the outputs w.r.t. every float input (None where unused), or a
    reason why there are none."""
    given = {name: _with_grad(value) for name, value in inputs.items()}
    with torch.enable_grad():
        outputs = _leaves(spec.call(fn, given))
        weights = torch.Generator().manual_seed(3)
        loss = sum((out * torch.randn(out.shape, generator=weights, dtype=out.dtype)).sum() for out in outputs)
        if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
            return "no gradient flows to the inputs"
        leaves = [leaf for leaf in _leaves(list(given.values())) if leaf.requires_grad]
        return list(torch.autograd.grad(loss, leaves, allow_unused=True))


def _gradient_difference(check_id, fn, inputs, tolerance):
    spec = SPECS[check_id]
    want = _gradients(oracle(check_id), spec, inputs)
    try:
        got = _gradients(fn, spec, inputs)
    except Exception as error:  # e.g. an in-place change of an input that requires grad
        return f"raises {type(error).__name__} when gradients are taken: {error}"
    if isinstance(got, str):
        return got
    for index, (g, w) in enumerate(zip(got, want)):
        if (g is None) != (w is None) or (g is not None and not torch.allclose(g, w, **tolerance)):
            return f"the gradient w.r.t. float input #{index} differs"
    return None


def probe_difference(check_id, fn, inputs, dtype):
    """Why `fn` is wrong on these inputs, by the oracle, or None (also None when the oracle itself cannot
    answer them with a value or a ValueError)."""
    spec, tolerance = SPECS[check_id], TOLERANCE[dtype]
    try:
        want, want_error = spec.call(oracle(check_id), _clone(inputs)), None
    except ValueError:
        want, want_error = None, ValueError
    except Exception:
        return None
    given = _clone(inputs)
    try:
        got = spec.call(fn, given)
    except Exception as error:
        if want_error is not None and isinstance(error, ValueError):
            return None
        return f"raises {type(error).__name__}: {error}"
    if want_error is not None:
        return "returns instead of raising ValueError"
    if _objects(got) & _objects(given):
        return "hands back an input object"
    changed = [name for name in inputs if not _same(inputs[name], given[name])]
    if changed:
        return f"changes {changed} in place"
    found = difference(got, want, tolerance)
    if found is None and _differentiable(check_id) and dtype == torch.float64:
        found = _gradient_difference(check_id, fn, inputs, tolerance)
    return found


def first_difference(check_id, fn, device="cpu"):
    """(probe description, why) for the first probe on which `fn` differs from the oracle, or None."""
    for description, inputs, dtype in probes(check_id, device):
        why = probe_difference(check_id, fn, inputs, dtype)
        if why:
            return description, why
    return None
