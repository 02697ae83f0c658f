"""The hidden inputs: sizes, seeds, dtypes and options of every hidden check.

Every case's seed is derived from one term seed, which the instructor keeps in the course's grading
configuration (`grading.json` in the course directory, outside this package); `DEFAULT_SEED` serves the
demo and the tests. Two size sets: a rectangular one (input_size != hidden_size, so a transposed weight fails loudly) and a
square one (so a transposed weight gives wrong values that the diagnosis can recognise).
"""
import torch

from autograder.specs import Case

DEFAULT_SEED = 1701

SIZES = [
    dict(steps=6, batch=3, input_size=5, hidden_size=7),
    dict(steps=5, batch=2, input_size=4, hidden_size=4),
]
DTYPES = (torch.float32, torch.float64)

OPTIONS = {
    "sequence_models.ar_design_matrix": [{"tau": 2}, {"tau": 4}, {"tau": 0}, {"tau": "steps"}],
    "sequence_models.fit_ar": [{"tau": 2}, {"tau": 4}],
    "sequence_models.predict_ahead": [{"tau": 3, "k": 6}, {"tau": 1, "k": 3}],
    "sequence_models.transition_matrix": [{"n_states": 5}],
    "sequence_models.markov_log_likelihood": [{"n_states": 3}],
    "rnn.rnn_cell": [{"nonlinearity": "tanh"}, {"nonlinearity": "relu"}],
    "rnn.rnn_forward": [{"batch_first": False}, {"batch_first": True}],
    "rnn.clip_grad_norm": [{"max_norm": 1.5}, {"max_norm": 1000.0}],
    "lstm.lstm_forward": [{"batch_first": False}, {"batch_first": True}],
    "gru.gru_forward": [{"batch_first": False}, {"batch_first": True}],
}

# Checks whose answer does not depend on a dtype: run once per size set.
DTYPE_FREE = ("lstm.lstm_param_count", "gru.parameter_counts")


def hidden_cases(check_id, device, seed=DEFAULT_SEED):
    """The hidden cases of `check_id` on `device`; `seed` is the term seed of the grading configuration."""
    cases = []
    dtypes = DTYPES[-1:] if check_id in DTYPE_FREE else DTYPES
    for index, sizes in enumerate(SIZES):
        sizes = dict(sizes, seed=case_seed(seed, index))
        for dtype in dtypes:
            for options in OPTIONS.get(check_id, [{}]):
                resolved = {k: sizes["steps"] if v == "steps" else v for k, v in options.items()}
                cases.append(Case(dtype=dtype, device=device, options=resolved, **sizes))
    return cases


def case_seed(term_seed, index):
    """A case seed from the term seed: distinct per size set, unpredictable without the term seed."""
    return (term_seed * 1_000_003 + 7919 * (index + 1)) % (2**31 - 1)
