"""The hidden inputs: sizes, seeds, dtypes and options of every hidden check, chosen to break wrong code.

Every case's seed is derived from one term seed, which the instructor keeps in the course's grading
configuration (`grading.json` in the course directory, outside this package); `DEFAULT_SEED` serves the
demo and the tests.

The case set follows each function's contract rather than typical use:
- sizes: input != hidden (a transposed weight fails loudly) and input == hidden (it gives wrong values
  the explanation can recognise), one step with batch 1 (a squeezed batch axis, an off-by-one loop),
  steps == batch (a layout guessed from the shapes instead of read from batch_first), and a long
  sequence for the checks that loop over time;
- both float dtypes (float32 and float64), on the grading device (the long sequence in float64 only);
- every valid option value, plus every invalid one whose ValueError the text documents
  (autograder.contracts), and values that reach each branch (clipping norms on both sides of max_norm and
  of sqrt(max_norm), exactly at max_norm; Markov states seen only first, only last, never, the highest
  states never; a Markov sequence long enough that a product of probabilities underflows, and an
  impossible transition, whose log-likelihood is -inf).
"""
from dataclasses import replace

import torch

from autograder.contracts import contract_for
from autograder.specs import Case
from autograder.specs_questions import ANSWER_CHECK_IDS
from autograder.specs_training import TRAINING_CHECK_IDS

DEFAULT_SEED = 1701

SIZES = {
    "rectangular": dict(steps=6, batch=3, input_size=5, hidden_size=7),
    "square": dict(steps=5, batch=2, input_size=4, hidden_size=4),
    "one_step_batch_1": dict(steps=1, batch=1, input_size=3, hidden_size=5),
    "steps_equal_batch": dict(steps=4, batch=4, input_size=6, hidden_size=3),
    "long": dict(steps=20, batch=2, input_size=3, hidden_size=4),
}
SHORT_SIZES = ("rectangular", "square", "one_step_batch_1", "steps_equal_batch")
# Checks that loop over time or over a series also get the long sequence.
LONG_SEQUENCE_CHECKS = ("rnn.rnn_forward", "rnn.rnn_bptt", "rnn.hidden_gradient_norms", "lstm.lstm_forward",
                        "gru.gru_forward", "sequence_models.ar_design_matrix", "sequence_models.predict_ahead",
                        "sequence_models.transition_matrix", "sequence_models.markov_log_likelihood")
DTYPES = (torch.float32, torch.float64)

OPTIONS = {
    "sequence_models.ar_design_matrix": [{"tau": 1}, {"tau": 2}, {"tau": "steps-1"}],
    "sequence_models.fit_ar": [{"tau": 1}, {"tau": 3}],
    "sequence_models.predict_ahead": [{"tau": 3, "k": 6}, {"tau": 1, "k": 1}, {"tau": "steps", "k": 4}],
    "sequence_models.transition_matrix": [{"n_states": 4}, {"n_states": 7}, {"n_states": 12, "length": 120},
                                          {"n_states": 5, "length": 2}, {"n_states": 6, "unseen_highest": 2}],
    "sequence_models.markov_log_likelihood": [{"n_states": 3}, {"n_states": 5, "length": 1},
                                              {"n_states": 4, "length": 2},
                                              {"n_states": 4, "length": 1200},  # a product would underflow
                                              {"n_states": 4, "impossible": True}],  # log(0) = -inf
    "rnn.rnn_cell": [{"nonlinearity": "tanh"}, {"nonlinearity": "relu"}],
    "rnn.rnn_forward": [{"batch_first": False}, {"batch_first": True}],
    "rnn.clip_grad_norm": [
        {"total_norm": 3.0, "max_norm": 1.0},     # clipped
        {"total_norm": 0.5, "max_norm": 1.0},     # left alone
        {"total_norm": 5.0, "max_norm": 10.0},    # sqrt(max_norm) < total < max_norm: left alone
        {"total_norm": 0.4, "max_norm": 0.25},    # max_norm < total < sqrt(max_norm): clipped
        {"total_norm": 2.0, "max_norm": 2.0},     # exactly at max_norm: scaled by 2 / (2 + 1e-6)
        {"max_norm": 1000.0, "n_tensors": 1},     # one tensor, far below
    ],
    "lstm.lstm_forward": [{"batch_first": False}, {"batch_first": True}],
    "gru.gru_forward": [{"batch_first": False}, {"batch_first": True}],
}

# Checks whose answer does not depend on a dtype: run once per size set (in float64).
DTYPE_FREE = ("lstm.lstm_param_count", "gru.parameter_counts", "sequence_models.transition_matrix",
              *ANSWER_CHECK_IDS, *TRAINING_CHECK_IDS)  # answers and the trained model: no dtype in their inputs


def hidden_cases(check_id, device, seed=DEFAULT_SEED):
    """The hidden cases of `check_id` on `device`; `seed` is the term seed of the grading configuration."""
    cases = []
    dtypes = DTYPES[-1:] if check_id in DTYPE_FREE else DTYPES
    names = SHORT_SIZES + (("long",) if check_id in LONG_SEQUENCE_CHECKS else ())
    for name in names:
        sizes = dict(SIZES[name], seed=case_seed(seed, list(SIZES).index(name)))
        for dtype in (dtypes[-1:] if name == "long" else dtypes):  # the long sequence once, in float64
            for options in OPTIONS.get(check_id, [{}]):
                cases.append(Case(dtype=dtype, device=device, options=dict(options), **sizes))
    base = Case(dtype=torch.float64, device=device, seed=case_seed(seed, len(SIZES)), **SIZES["rectangular"])
    for options, _ in contract_for(check_id).value_errors:
        cases.append(replace(base, options={**OPTIONS.get(check_id, [{}])[0], **options}))
    return cases


def case_seed(term_seed, index):
    """A case seed from the term seed: distinct per size set, unpredictable without the term seed."""
    return (term_seed * 1_000_003 + 7919 * (index + 1)) % (2**31 - 1)
