"""The hidden inputs: sizes, seeds, dtypes and options of every hidden check, chosen to break wrong code.

Every case's seed is derived from one term seed, which the instructor keeps in the course's grading
configuration (`grading.json` in the course directory, outside this package); `DEFAULT_SEED` serves the
demo and the tests.

Which options, dtypes and lengths a check gets comes from its spec (autograder.checks.specs: the
registry). The case set follows each function's contract rather than typical use:
- sizes: input != hidden (a transposed weight fails loudly) and input == hidden (it gives wrong values
  the explanation can recognise), one step with batch 1 (a squeezed batch axis, an off-by-one loop),
  steps == batch (a layout guessed from the shapes instead of read from batch_first), and a long
  sequence for the checks that loop over time;
- both float dtypes (float32 and float64), on the grading device (the long sequence in float64 only);
- every valid option value, plus every invalid one whose ValueError the text documents
  (autograder.checks.contracts), and values that reach each branch (clipping norms on both sides of max_norm and
  of sqrt(max_norm), exactly at max_norm; Markov states seen only first, only last, never, the highest
  states never; a Markov sequence long enough that a product of probabilities underflows, and an
  impossible transition, whose log-likelihood is -inf);
- families of inputs, each in every check where it applies (`family_cases`, autograder.checks.families):
  large and very large pre-activations, non-contiguous views, batch/input/hidden sizes of 1, a second call
  with the same shapes and new values (state kept between calls), an ill-conditioned series (least squares).
  The long sequence (LONG_STEPS = 200 steps) covers every check that loops over time, the backward passes included.
"""
from dataclasses import replace

import torch

from autograder.checks.contracts import contract_for
from autograder.checks.families import LONG_STEPS, holds_weights
from autograder.checks.specs import SPECS, Case, assignment_of

DEFAULT_SEED = 1701

SIZES = {
    "rectangular": dict(steps=6, batch=3, input_size=5, hidden_size=7),
    "square": dict(steps=5, batch=2, input_size=4, hidden_size=4),
    "one_step_batch_1": dict(steps=1, batch=1, input_size=3, hidden_size=5),
    "steps_equal_batch": dict(steps=4, batch=4, input_size=6, hidden_size=3),
    "long": dict(steps=LONG_STEPS, batch=2, input_size=3, hidden_size=4),
    "size_one": dict(steps=3, batch=1, input_size=1, hidden_size=1),
}
SHORT_SIZES = ("rectangular", "square", "one_step_batch_1", "steps_equal_batch")
DTYPES = (torch.float32, torch.float64)


def hidden_cases(check_id, device, seed=DEFAULT_SEED):
    """The hidden cases of `check_id` on `device`; `seed` is the term seed of the grading configuration."""
    spec = SPECS[check_id]
    cases = []
    dtypes = DTYPES[-1:] if spec.dtype_free else DTYPES
    names = SHORT_SIZES + (("long",) if spec.loops_over_time else ())
    for name in names:
        sizes = dict(SIZES[name], seed=case_seed(seed, list(SIZES).index(name)))
        for dtype in (dtypes[-1:] if name == "long" else dtypes):  # the long sequence once, in float64
            for options in spec.hidden_options:
                cases.append(Case(dtype=dtype, device=device, options=dict(options), **sizes,
                                  family="long" if name == "long" else ""))
    base = Case(dtype=torch.float64, device=device, seed=case_seed(seed, len(SIZES)), **SIZES["rectangular"])
    for options, _ in contract_for(check_id).value_errors:
        cases.append(replace(base, options={**spec.hidden_options[0], **options}))
    return cases + family_cases(check_id, device, seed)


# The notebooks whose checks get the families (a new notebook opts in once its references handle them).
FAMILY_ASSIGNMENTS = ("sequence_models", "rnn", "lstm", "gru", "char_lm")
# float64 only: with weights x25, float32 rounding of a right answer (1 - tanh(a)^2 in a hand-written
# gradient, a saturated gate in a forward pass) differs from the reference by more than the float32
# tolerance on some term seeds (seen for rnn_bptt and gru_forward); an exp that overflows shows in float64 too.
LARGE_FAMILY_DTYPES = {"large": (torch.float64,), "huge": (torch.float64,)}


def family_cases(check_id, device, seed=DEFAULT_SEED):
    """The cases of every family of inputs that applies to the check, decided from its inputs and contract:
    - large / huge pre-activations: the inputs hold weights and the function has a nonlinearity (an
      activation or gate blocks in its contract, or a backward pass written by hand);
    - non-contiguous views: the function takes tensors (also in a tuple, list or dict); a repeated call:
      tensors or a text; sizes of 1: any function that takes arguments;
    - an ill-conditioned series: the contract says the function solves least squares;
    - the meta device: the function is tensor algebra without a branch on values (differentiable in its
      contract, or a backward pass written by hand), takes no integer tensor (indices need values), and its
      reference runs on meta inputs; or its contract says `on_meta` (clip_grad_norm: its reference runs on
      meta, and a right answer that reads a value there, min(1.0, ...) of a norm, is excused by the judge).
      Not transition_matrix (right answers read the states with .tolist(), which fails on meta with the
      message of a copy into a CPU tensor, the device mistake itself), markov_log_likelihood (its reference
      indexes p0 with a value) nor fit_ar (torch.linalg.lstsq has no meta kernel)."""
    spec, contract = SPECS[check_id], contract_for(check_id)
    if assignment_of(check_id) not in FAMILY_ASSIGNMENTS:
        return []
    first = spec.hidden_options[0]
    rectangular = Case(dtype=torch.float64, device=device, options=dict(first), **SIZES["rectangular"])
    probe = spec.make_inputs(rectangular)
    if spec.call_for(probe).no_arguments:
        return []
    tensors = [value for value in probe.values() if isinstance(value, (torch.Tensor, tuple, list, dict))]
    texts = [value for value in probe.values() if isinstance(value, str)]
    nonlinear = bool(contract.activations or contract.gate_blocks or "autograd" in spec.refusals)
    index = len(SIZES) + 1  # case seeds after those of the sizes and of the invalid options
    cases = []

    def add(family, dtypes=(torch.float64,), all_options=True, on=device, **sizes):
        nonlocal index
        index += 1
        for dtype in dtypes:
            for options in (spec.hidden_options if all_options else (first,)):
                cases.append(Case(dtype=dtype, device=on, seed=case_seed(seed, index), options=dict(options),
                                  family=family, **{**SIZES["rectangular"], **sizes}))

    if nonlinear and holds_weights(probe):
        for family, dtypes in LARGE_FAMILY_DTYPES.items():
            add(family, dtypes)
    if tensors:
        add("noncontiguous")
    if tensors or texts:
        add("repeat", all_options=False)
    add("size_one", **SIZES["size_one"])
    if contract.least_squares:
        add("ill_conditioned")
    if _runs_on_meta(check_id):
        add("meta", dtypes=(torch.float64,) if spec.dtype_free else (torch.float32,), on="meta")
    return cases


_ON_META = {}


def _runs_on_meta(check_id):
    """Whether the check gets a case on the meta device (see family_cases); decided once per check."""
    if check_id not in _ON_META:
        spec, contract = SPECS[check_id], contract_for(check_id)
        algebra = contract.differentiable or "autograd" in spec.refusals or contract.on_meta
        case = Case(device="meta", options=dict(spec.hidden_options[0]), **SIZES["rectangular"])
        try:
            inputs = spec.make_inputs(case)
            integers = any(isinstance(t, torch.Tensor) and not t.is_floating_point()
                           for value in inputs.values() for t in (value if isinstance(value, (tuple, list)) else (value,)))
            _ON_META[check_id] = algebra and (contract.on_meta or not integers) and spec.expected(inputs) is not None
        except (RuntimeError, NotImplementedError, ValueError):
            _ON_META[check_id] = False
    return _ON_META[check_id]


def case_seed(term_seed, index):
    """A case seed from the term seed: distinct per size set, unpredictable without the term seed."""
    return (term_seed * 1_000_003 + 7919 * (index + 1)) % (2**31 - 1)


VISIBLE_FAMILY_SEED = 0  # public: the visible checks show these cases' inputs to whoever runs them


def visible_family_cases(check_id):
    """For the visible checks: one case of each family that applies (the first option, the first dtype),
    and the long sequence for a check that loops over time, all from a public seed."""
    spec = SPECS[check_id]
    first_of_family = {}
    for case in family_cases(check_id, "cpu", VISIBLE_FAMILY_SEED):
        # one case per family; on meta, one per option (a branch may make its tensors without device=)
        first_of_family.setdefault((case.family, str(case.options) if case.family == "meta" else ""), case)
    cases = list(first_of_family.values())
    if spec.loops_over_time:
        seed = case_seed(VISIBLE_FAMILY_SEED, list(SIZES).index("long"))
        cases += [Case(dtype=torch.float64, seed=seed, options=dict(options), family="long", **SIZES["long"])
                  for options in spec.visible_options if "steps" in options.values() or options is spec.visible_options[0]]
    return cases
