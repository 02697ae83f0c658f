"""The rules each notebook's text states for a function, in one table that every check enforces.

Both the visible checks (autograder.selfcheck) and the hidden ones (autograder.checks.collect/assess) read
this table; the notebook text and this table must say the same thing (tests/test_contracts.py lists
each rule next to the check that enforces it).

Rules that hold for every check (stated in every notebook's "How to work" or in the course rules):
- RETURNS: the container and types the text asks for (a tuple where it says a pair, a Python int where
  it says int, a 0-dim tensor where it says so); compared before any value.
- DTYPE and DEVICE follow the inputs (unless `fixed_dtype` says otherwise: the Markov matrix is float64).
- NO IN-PLACE CHANGE of an input, and NO INPUT OBJECT RETURNED as (part of) the result.
- SEPARATE OUTPUTS: no two returned tensors share memory (h_n is not a view of output[-1], one tensor is
  not returned for two gradients).
Per check:
- `value_errors`: option values the text says must raise ValueError;
- `differentiable`: cells and layers stay differentiable: the gradient of a fixed weighted sum of the
  outputs with respect to every floating input, taken through the student's function where it runs,
  must match the same gradient taken through the reference;
- `activations`: the last elementwise function of each output leaf (only used to explain wrong values);
- `gate_blocks`: how many stacked gate blocks the weights hold (i,f,g,o / r,z,n), for explanations;
- `detached`: output leaves the text says are detached from the graph (`h_T.requires_grad` is False).
"""
from dataclasses import dataclass, field
from typing import Callable

import torch

CELL_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


@dataclass(frozen=True)
class Contract:
    returns: str                                  # the text's words for what is returned
    value_errors: tuple = ()                      # option dicts that must raise ValueError, with why
    differentiable: bool = False                  # a gradient must flow to every floating input
    fixed_dtype: dict = field(default_factory=dict)  # output leaf -> dtype the text fixes
    activations: dict = field(default_factory=dict)  # output leaf -> "sigmoid" | "tanh" | "relu" | option name
    gate_blocks: int = 0
    gate_names: str = ""
    # Counting checks: (input_size, hidden_size) -> {output key ("" for a single int): (gate blocks,
    # {term: its count})}, for explanations of a wrong count.
    count_terms: Callable | None = None
    least_squares: bool = False                   # it solves least squares (gets an ill-conditioned case)
    detached: tuple = ()                          # output leaves the text says are detached (no requires_grad)
    # A case on the meta device though the function may read values (an `if` on a norm, a loop over states):
    # its reference runs on meta, and a right answer that reads a value there is excused (judge.py).
    on_meta: bool = False


def parameter_terms(blocks, input_size, hidden_size):
    """The terms of a one-layer recurrent module's parameter count with `blocks` gate blocks."""
    h, i = hidden_size, input_size
    return (blocks, {f"weight_ih ({blocks}H x I)": blocks * h * i, f"weight_hh ({blocks}H x H)": blocks * h * h,
                     f"bias_ih ({blocks}H)": blocks * h, f"bias_hh ({blocks}H)": blocks * h})


def _gate(activation):
    return Contract("a tensor (batch, hidden)", differentiable=True, activations={"*": activation})


def _sequence(gate_blocks, gate_names, state):
    return Contract(f"a tuple (output, {state}) with output (T, batch, hidden), or (batch, T, hidden) when "
                    "batch_first", differentiable=True,
                    gate_blocks=gate_blocks, gate_names=gate_names)


CONTRACTS = {
    "sequence_models.ar_design_matrix": Contract(
        "a tuple (X, y): X (T - tau, tau), y (T - tau,)",
        value_errors=(({"tau": 0}, "tau < 1"), ({"tau": -1}, "tau < 1"), ({"tau": "steps"}, "tau >= T"),
                      ({"tau": "steps+1"}, "tau >= T")),
        differentiable=True),
    "sequence_models.fit_ar": Contract("a tuple (w, b): w (tau,), b a 0-dim tensor", least_squares=True),
    "sequence_models.predict_ahead": Contract("a tensor (k,)", differentiable=True),
    "sequence_models.transition_matrix": Contract("a float64 tensor (n_states, n_states) on the device of states",
                                                  fixed_dtype={"A": torch.float64}),
    "sequence_models.markov_log_likelihood": Contract("a 0-dim tensor", differentiable=True),
    "sequence_models.latent_update": Contract("a tensor (batch, d_h)", differentiable=True),
    "rnn.rnn_cell": Contract("a tensor (batch, hidden)",
                             value_errors=(({"nonlinearity": "sigmoid"}, "nonlinearity not 'tanh' or 'relu'"),
                                           ({"nonlinearity": "Tanh"}, "nonlinearity not 'tanh' or 'relu'")),
                             differentiable=True,
                             activations={"*": "nonlinearity"}, gate_blocks=1, gate_names="h"),
    "rnn.rnn_forward": _sequence(1, "h", "h_n"),
    "rnn.rnn_bptt": Contract("a tuple of 5 tensors (grad_weight_ih, grad_weight_hh, grad_bias_ih, grad_bias_hh, "
                             "grad_h0)", gate_blocks=1, gate_names="h"),
    "rnn.hidden_gradient_norms": Contract("a tensor (T + 1,)"),
    "rnn.clip_grad_norm": Contract("a tuple (clipped: a list of new tensors, total_norm: a 0-dim tensor); inputs "
                                   "unchanged", on_meta=True),
    "lstm.forget_gate": _gate("sigmoid"),
    "lstm.input_gate": _gate("sigmoid"),
    "lstm.candidate": _gate("tanh"),
    "lstm.cell_update": Contract("a tensor (batch, hidden)", differentiable=True),
    "lstm.output_gate_and_hidden": Contract("a tuple (o, h_next)", differentiable=True,
                                            activations={"o": "sigmoid"}),
    "lstm.lstm_cell": Contract("a tuple (h_next, c_next)", differentiable=True,
                               gate_blocks=4, gate_names="ifgo"),
    "lstm.lstm_forward": _sequence(4, "ifgo", "(h_n, c_n)"),
    "lstm.lstm_param_count": Contract("a Python int",
                                      count_terms=lambda input_size, hidden_size: {
                                          "": parameter_terms(4, input_size, hidden_size)}),
    "gru.reset_gate": _gate("sigmoid"),
    "gru.update_gate": _gate("sigmoid"),
    "gru.gru_candidate": Contract("a tensor (batch, hidden)", differentiable=True,
                                  activations={"*": "tanh"}),
    "gru.gru_hidden_update": Contract("a tensor (batch, hidden)", differentiable=True),
    "gru.gru_cell": Contract("a tensor (batch, hidden)", differentiable=True,
                             gate_blocks=3, gate_names="rzn"),
    "gru.gru_forward": _sequence(3, "rzn", "h_n"),
    "lstm.lstm_step_backward": Contract('a dict of gradients keyed "x", "h", "c", "weight_ih", "weight_hh", '
                                        '"bias_ih", "bias_hh"', gate_blocks=4, gate_names="ifgo"),
    "lstm.lstm_bptt": Contract('a dict of gradients keyed "weight_ih", "weight_hh", "bias_ih", "bias_hh", "h0", '
                               '"c0"', gate_blocks=4, gate_names="ifgo"),
    "gru.gru_step_backward": Contract('a dict of gradients keyed "x", "h", "weight_ih", "weight_hh", "bias_ih", '
                                      '"bias_hh"', gate_blocks=3, gate_names="rzn"),
    "gru.parameter_counts": Contract('a dict {"rnn", "gru", "lstm"} of Python ints',
                                     count_terms=lambda input_size, hidden_size: {
                                         key: parameter_terms(blocks, input_size, hidden_size)
                                         for key, blocks in (("rnn", 1), ("gru", 3), ("lstm", 4))}),
}

DEFAULT_CONTRACT = Contract("what the text asks for")

# The rules every check enforces, with the words of the notebooks that state them (for the rule table).
COMMON_RULES = {
    "returns": "the return container and types the text states",
    "dtype": "keep the input's dtype in what you return",
    "device": "keep the input's device in what you return",
    "no_in_place": "leave the inputs unchanged",
    "new_objects": "return new tensors, not the inputs",
    "separate_outputs": "return outputs that do not share memory with each other",
}


def contract_for(check_id):
    """The contract of a check; a check nobody described yet gets only the common rules."""
    return CONTRACTS.get(check_id, DEFAULT_CONTRACT)


def rules_of(check_id):
    """Every rule a check enforces: the common ones, then ValueErrors and differentiability."""
    contract = contract_for(check_id)
    rules = dict(COMMON_RULES)
    for options, why in contract.value_errors:
        rules[f"value_error {options}"] = f"raise ValueError when {why}"
    if contract.differentiable:
        rules["differentiable"] = "the result stays differentiable in every floating input"
    return rules
