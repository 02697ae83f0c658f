"""The hidden inputs: sizes, seeds, dtypes and options of every hidden check.

Two size sets: a rectangular one (input_size != hidden_size, so a transposed weight fails loudly) and a
square one (so a transposed weight gives wrong values that the diagnosis can recognise).
"""
import torch

from rnn_demos.selfcheck.specs import Case

SIZES = [
    dict(seed=1701, steps=6, batch=3, input_size=5, hidden_size=7),
    dict(seed=2718, steps=5, batch=2, input_size=4, hidden_size=4),
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


def hidden_cases(check_id, device):
    cases = []
    dtypes = DTYPES[-1:] if check_id in DTYPE_FREE else DTYPES
    for sizes in SIZES:
        for dtype in dtypes:
            for options in OPTIONS.get(check_id, [{}]):
                resolved = {k: sizes["steps"] if v == "steps" else v for k, v in options.items()}
                cases.append(Case(dtype=dtype, device=device, options=resolved, **sizes))
    return cases
