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
  impossible transition, whose log-likelihood is -inf).
"""
from dataclasses import replace

import torch

from autograder.checks.contracts import contract_for
from autograder.checks.specs import SPECS, Case

DEFAULT_SEED = 1701

SIZES = {
    "rectangular": dict(steps=6, batch=3, input_size=5, hidden_size=7),
    "square": dict(steps=5, batch=2, input_size=4, hidden_size=4),
    "one_step_batch_1": dict(steps=1, batch=1, input_size=3, hidden_size=5),
    "steps_equal_batch": dict(steps=4, batch=4, input_size=6, hidden_size=3),
    "long": dict(steps=20, batch=2, input_size=3, hidden_size=4),
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
                cases.append(Case(dtype=dtype, device=device, options=dict(options), **sizes))
    base = Case(dtype=torch.float64, device=device, seed=case_seed(seed, len(SIZES)), **SIZES["rectangular"])
    for options, _ in contract_for(check_id).value_errors:
        cases.append(replace(base, options={**spec.hidden_options[0], **options}))
    return cases


def case_seed(term_seed, index):
    """A case seed from the term seed: distinct per size set, unpredictable without the term seed."""
    return (term_seed * 1_000_003 + 7919 * (index + 1)) % (2**31 - 1)
