"""Name the likely mistake behind a failed check, and say where the output is wrong.

For each check a catalogue of known mistakes: a hint and a function that computes what a solution with
that mistake would return on the same inputs. They are tried first, then the generic transformations
of autograder.hints.explain; a hint is given only when it reproduces the student's output on every case
(an exception included: the mistaken computation must raise where the student's did). From an exception's
text only what its shapes prove is said (a product that fits with one factor transposed), and a scalar
answer gets no hint: it is right or wrong.
"""
import itertools
import re
from dataclasses import dataclass
from typing import Callable

import torch

from autograder.hints import mistaken_kernels as wk
from autograder.checks.compare import compare
from autograder.checks.families import is_weight
from autograder.checks.contracts import contract_for
from autograder.hints.explain import (CaseView, Hypothesis, case_pattern, exception_views_hint, likely_mistake,
                                      locate)
from autograder.checks.specs import layout_for

LSTM_GATE_NAMES, GRU_GATE_NAMES = "ifgo", "rzn"
TRANSPOSED_WEIGHTS = ("transposed weights: PyTorch stores a weight as (out_features, in_features), so the product "
                      "is x @ weight.T")


@dataclass(frozen=True)
class Mistake:
    hint: str
    outputs: Callable  # named inputs -> what the mistaken solution returns


def diagnose(spec, views):
    """(where, hint) for a failed check, from all its cases (autograder.hints.explain.CaseView).

    `where`: lines saying where the output is wrong; `hint`: the likely mistake, named only when one
    explanation reproduces the student's output on every case (None otherwise).
    """
    judged = [v for v in views if v.expected_error is None and not v.observation.forbidden]
    failing = [v for v in judged if not v.passed]
    if not failing or hasattr(spec, "judge_result"):  # answers and trained models: right or wrong only
        return [], None
    catalogue = [Hypothesis(m.hint, _catalogue_prediction(m)) for m in MISTAKES.get(spec.check_id, ())]
    first = failing[0]
    if first.observation.error_type:
        pattern = case_pattern(views) or exception_views_hint(views)
        hint = likely_mistake(spec, judged, catalogue) or _product_shapes_hint(first.observation.error_message,
                                                                                first.inputs)
        return ([pattern] if pattern else []), hint
    return locate(spec, judged), likely_mistake(spec, judged, catalogue)


def case_view(spec, case, inputs, observation, outcome, tolerance):
    """A CaseView whose `passed` says whether the returned values are right (the contract's other rules
    are judged elsewhere); invalid inputs pass when they raise the documented exception."""
    expected, expected_error = outcome
    if expected_error is not None:
        passed = observation.error_type == expected_error.__name__
    else:
        passed = observation.error_type is None and compare(
            observation.result, expected, layout_for(spec, inputs), tolerance,
            fixed_dtype=contract_for(spec.check_id).fixed_dtype) is None
    return CaseView(case, inputs, observation, expected, expected_error, tolerance, passed)


def _catalogue_prediction(mistake):
    return lambda view: mistake.outputs(**view.inputs)


def _product_shapes_hint(message, inputs):
    """For 'mat1 and mat2 shapes cannot be multiplied (a x b and c x d)' where b == d and a weight input
    has the shape (c, d): that weight is a product's second factor and fits only transposed, which is what
    the shapes say (no guess about the cause)."""
    found = re.search(r"cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)", message)
    if not found:
        return None
    _, inner, rows, last = (int(g) for g in found.groups())
    weight_shapes = {tuple(value.shape) for name, value in inputs.items()
                     if is_weight(name) and isinstance(value, torch.Tensor)}
    if inner != last or (rows, last) not in weight_shapes:
        return None
    return (f"a product of shapes ({found.group(1)}, {inner}) and ({found.group(3)}, {last}) fits only with "
            "the second factor transposed: PyTorch stores a weight as (out_features, in_features), so the "
            "product is x @ weight.T (transposed weights?)")


# ----- hypotheses -----

def _weights(inputs):
    return tuple(inputs[name] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def _gate_mistakes(right_activation):
    wrong_activation, act_names = ((torch.tanh, ("sigmoid", "tanh")) if right_activation is torch.sigmoid
                                   else (torch.sigmoid, ("tanh", "sigmoid")))

    def make(**mistake):
        def outputs(x, h, **w):
            return wk.gate(x, h, *w.values(), **{"activation": right_activation, **mistake})
        return outputs

    return [
        Mistake(f"{act_names[1]} used where the gate needs {act_names[0]}", make(activation=wrong_activation)),
        Mistake("the input bias b_i* is missing (PyTorch adds both biases)", make(drop_b_x=True)),
        Mistake("the hidden bias b_h* is missing (PyTorch adds both biases)", make(drop_b_h=True)),
        Mistake(TRANSPOSED_WEIGHTS, make(transposed=True)),
        Mistake("the input weight multiplies h and the hidden weight multiplies x", make(swap_weights=True)),
    ]


def _permutation_name(order, names):
    return ",".join(names[k] for k in order)


def _lstm_cell_mistakes(sequence=False):
    def make(**mistake):
        step = lambda x_t, state, w: wk.lstm_step(x_t, state, w, **mistake)
        if sequence:
            return lambda x, state0, batch_first=False, **w: _lstm_sequence(step, x, state0, batch_first, w)
        return lambda x, state, **w: step(x, state, _weights(w))

    found = [Mistake(f"gate order: your code reads the row blocks as ({_permutation_name(order, LSTM_GATE_NAMES)});"
                     " PyTorch's order is i, f, g, o", make(order=order))
             for order in itertools.permutations(range(4)) if order != (0, 1, 2, 3)]
    sig, tanh = torch.sigmoid, torch.tanh
    right = (sig, sig, tanh, sig)
    for k, name in enumerate(LSTM_GATE_NAMES):
        for other, other_name in ((sig, "sigmoid"), (tanh, "tanh"), (lambda t: t, "no activation")):
            if other is not right[k]:
                swapped = tuple(other if j == k else act for j, act in enumerate(right))
                found.append(Mistake(f"gate {name} uses {other_name} where it needs "
                                     f"{'tanh' if right[k] is tanh else 'sigmoid'}", make(activations=swapped)))
    return found + [
        Mistake("sigmoid and tanh swapped: g uses tanh, the gates i, f, o use sigmoid",
                make(activations=(tanh, tanh, sig, tanh))),
        Mistake("the candidate g uses sigmoid instead of tanh", make(activations=(sig, sig, sig, sig))),
        Mistake("h_next = o * c_next: the output needs tanh(c_next)", make(output_tanh=False)),
        Mistake("bias_ih is missing (PyTorch adds both biases)", make(drop_b_x=True)),
        Mistake("bias_hh is missing (PyTorch adds both biases)", make(drop_b_h=True)),
        Mistake("forget and input gates swapped in the cell update: c' = f*c + i*g", make(swap_f_i=True)),
    ]


def _lstm_sequence(step, x, state0, batch_first, w, **unroll_mistake):
    output, (h_n, c_n) = wk.unroll(lambda x_t, s: step(x_t, s, _weights(w)), x, tuple(state0), batch_first,
                                   **unroll_mistake)
    return output, (h_n, c_n)


def _gru_cell_mistakes(sequence=False):
    def make(**mistake):
        step = lambda x_t, h, w: wk.gru_step(x_t, h, w, **mistake)
        if sequence:
            return lambda x, h0, batch_first=False, **w: wk.unroll(lambda x_t, h: step(x_t, h, _weights(w)),
                                                                   x, h0, batch_first)
        return lambda x, h, **w: step(x, h, _weights(w))

    found = [Mistake(f"gate order: your code reads the row blocks as ({_permutation_name(order, GRU_GATE_NAMES)});"
                     " PyTorch's order is r, z, n", make(order=order))
             for order in itertools.permutations(range(3)) if order != (0, 1, 2)]
    for k, name in enumerate("rz"):
        for other, other_name in ((torch.tanh, "tanh"), (lambda t: t, "no activation")):
            acts = tuple(other if j == k else torch.sigmoid for j in range(2))
            found.append(Mistake(f"gate {name} uses {other_name} where it needs sigmoid", make(gate_activations=acts)))
    found.append(Mistake("the candidate n has no tanh", make(candidate_activation=lambda t: t)))
    return found + _gru_candidate_hints(make, "weight_hh[2H:]", "bias_hh[2H:]", "bias_ih[2H:]") + [
        Mistake("z and 1-z swapped: PyTorch uses h' = (1-z)*n + z*h", make(swap_z=True)),
        Mistake("bias_ih is missing (PyTorch adds both biases)", make(drop_b_x=True)),
        Mistake("bias_hh is missing (PyTorch adds both biases)", make(drop_b_h=True)),
    ]


def _gru_candidate_hints(make, w_hn="W_hn", b_hn="b_hn", b_in="b_in"):
    """The candidate's mistakes, with the names of its weights as the function takes them."""
    return [
        Mistake(f"reset applied before the product, (r * h) @ {w_hn}.T (Cho et al./d2l); PyTorch applies it "
                f"after: r * (h @ {w_hn}.T + {b_hn})", make(reset_before_product=True)),
        Mistake(f"{b_hn} folded into {b_in}: in PyTorch {b_hn} sits inside the reset, r * (h @ {w_hn}.T + {b_hn})",
                make(b_hn_outside_reset=True)),
        Mistake("the reset gate r is not used in the candidate", make(no_reset=True)),
        Mistake("the candidate n uses sigmoid instead of tanh", make(candidate_activation=torch.sigmoid)),
    ]


def _gru_candidate_mistakes():
    def make(**mistake):
        activation = mistake.pop("candidate_activation", torch.tanh)
        return lambda x, h, r, W_in, W_hn, b_in, b_hn: activation(
            wk.gru_candidate_preactivation(x, h, r, W_in, W_hn, b_in, b_hn, **mistake))
    return _gru_candidate_hints(make) + [
        Mistake(TRANSPOSED_WEIGHTS,
                lambda x, h, r, W_in, W_hn, b_in, b_hn: torch.tanh(x @ W_in + b_in + r * (h @ W_hn + b_hn))),
    ]


def _rnn_cell_mistakes():
    def make(force_activation=None, **mistake):
        def outputs(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
            activation = force_activation or {"tanh": torch.tanh, "relu": torch.relu}[nonlinearity]
            return wk.rnn_step(x, h, (weight_ih, weight_hh, bias_ih, bias_hh), activation=activation, **mistake)
        return outputs
    return [
        Mistake("the nonlinearity argument is ignored: tanh is used even for nonlinearity='relu'",
                make(force_activation=torch.tanh)),
        Mistake("sigmoid used where the RNN cell uses tanh (or relu)", make(force_activation=torch.sigmoid)),
        Mistake("bias_ih is missing (PyTorch adds both biases)", make(drop_b_x=True)),
        Mistake("bias_hh is missing (PyTorch adds both biases)", make(drop_b_h=True)),
        Mistake(TRANSPOSED_WEIGHTS, make(transposed=True)),
        Mistake("weight_ih multiplies h and weight_hh multiplies x", make(swap_weights=True)),
    ]


def _sequence_mistakes(step_of, names_out):
    """Mistakes in the loop over time, common to rnn_forward, lstm_forward and gru_forward."""
    def make(**unroll_mistake):
        def outputs(x, start, batch_first=False, **w):
            state0 = tuple(start) if isinstance(start, (tuple, list)) else start
            return wk.unroll(lambda x_t, s: step_of(x_t, s, _weights(w)), x, state0, batch_first, **unroll_mistake)
        return lambda x, **named: outputs(x, named.pop(names_out), **named)

    def kept_time_first(**named):
        output, state = make()(**named)
        return (output.transpose(0, 1) if named.get("batch_first") else output), state

    return [
        Mistake("the output records the state before each step (h_0..h_{T-1}); it should hold h_1..h_T",
                make(emit_previous=True)),
        Mistake("the state is not carried from step to step: every step starts again from the initial state "
                "(assign the new state to the loop's state variable)", make(state_not_carried=True)),
        Mistake("with batch_first=True the output must be (batch, time, hidden): transpose it back",
                kept_time_first),
    ]


def _rnn_forward_mistakes():
    step = lambda x_t, h, w: wk.rnn_step(x_t, h, w)
    cell = [Mistake(m.hint, _lift_rnn(m.outputs)) for m in _rnn_cell_mistakes()[1:]]
    return _sequence_mistakes(step, "h0") + cell


def _lift_rnn(cell_outputs):
    def outputs(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
        step = lambda x_t, h: cell_outputs(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        return wk.unroll(step, x, h0, batch_first)
    return outputs


def _bptt_mistakes():
    def make(**mistake):
        return lambda x, h0, grad_h_T, **w: wk.rnn_bptt(x, h0, _weights(w), grad_h_T, **mistake)
    return [
        Mistake("BPTT without the recursive term: the gradient must flow back through every step "
                "(dh_{t-1} = (dh_t * (1 - h_t^2)) @ weight_hh)", make(recursion="last_step_only")),
        Mistake("BPTT without the recursive term: each step gets grad_h_T instead of the gradient carried "
                "back from the later steps", make(recursion="not_propagated")),
        Mistake("the tanh derivative (1 - h_t^2) is missing", make(tanh_derivative=False)),
        Mistake("grad_weight_hh uses h_t; the product at step t multiplies h_{t-1}", make(weight_uses_current=True)),
    ]


def _norm_mistakes():
    def make(**mistake):
        return lambda x, h0, **w: wk.step_jacobian_norms(x, h0, _weights(w), **mistake)
    return [
        Mistake("entries in reverse order: entry t must be the norm of d h_T / d h_t (entry T is sqrt(hidden))",
                make(reverse=True)),
        Mistake("the tanh derivative diag(1 - h^2) is missing from the step Jacobians", make(derivative=False)),
        Mistake("the step Jacobian is diag(1 - h_t^2) weight_hh, not its transpose", make(transposed=True)),
        Mistake("the step Jacobian d h_t / d h_{t-1} uses h_t (the new state), not h_{t-1}", make(shifted=True)),
        Mistake("spectral norm used; the check asks for the Frobenius norm", make(norm=2)),
    ]


def _clip_mistakes():
    def rescale(grads, coefficient):
        return [g * coefficient for g in grads]

    def total(grads):
        return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))

    def no_eps(grads, max_norm):
        norm = total(grads)
        return rescale(grads, torch.clamp(max_norm / norm, max=1.0)), norm

    def always(grads, max_norm):
        norm = total(grads)
        return rescale(grads, max_norm / (norm + 1e-6)), norm

    def per_element(grads, max_norm):
        return [g.clamp(-max_norm, max_norm) for g in grads], total(grads)

    def per_tensor(grads, max_norm):
        clipped = [g * torch.clamp(max_norm / (torch.linalg.vector_norm(g) + 1e-6), max=1.0) for g in grads]
        return clipped, total(grads)

    def norm_after(grads, max_norm):
        norm = total(grads)
        clipped = rescale(grads, torch.clamp(max_norm / (norm + 1e-6), max=1.0))
        return clipped, total(clipped)

    def squared_threshold(grads, max_norm):
        norm = total(grads)
        scale = max_norm / (norm + 1e-6) if norm ** 2 > max_norm else torch.ones_like(norm)
        return rescale(grads, scale), norm

    return [
        Mistake("clipping per element (clamp) instead of rescaling by the total norm", per_element),
        Mistake("the squared norm is compared with max_norm: clip when total_norm > max_norm, and total_norm "
                "is the square root of the sum of squares", squared_threshold),
        Mistake("each tensor clipped by its own norm; the rule uses one norm over all tensors", per_tensor),
        Mistake("the scale must be min(1, max_norm / (total_norm + 1e-6)): the 1e-6 is missing", no_eps),
        Mistake("gradients rescaled even when total_norm <= max_norm: take min(1, ...)", always),
        Mistake("total_norm must be the norm before clipping", norm_after),
    ]


def _ar_windows(x, tau, shift=0, target_shift=0, rows=None):
    count = x.shape[0] - tau if rows is None else rows
    design = torch.stack([x[i + shift:i + shift + tau] for i in range(count)])
    return design, x[tau - target_shift:tau - target_shift + count]


def _ar_design_mistakes():
    return [
        Mistake("off-by-one window: the target of row i is x[i+tau], the value right after the window",
                lambda x, tau: _ar_windows(x, tau, target_shift=1)),
        Mistake("one row too many: the last window x[T-tau:] has no target", lambda x, tau: _ar_windows(
            x, tau, target_shift=1, rows=x.shape[0] - tau + 1)),
        Mistake("columns newest first: X[i] = x[i:i+tau] keeps the oldest value first",
                lambda x, tau: (_ar_windows(x, tau)[0].flip(1), x[tau:])),
    ]


def _least_squares(design, target, intercept=True):
    if intercept:
        design = torch.cat([design, torch.ones_like(target)[:, None]], dim=1)
    solution = torch.linalg.lstsq(design.double().cpu(), target.double().cpu()[:, None]).solution[:, 0]
    solution = solution.to(dtype=target.dtype, device=target.device)
    return (solution[:-1], solution[-1]) if intercept else (solution, torch.zeros((), dtype=target.dtype,
                                                                                    device=target.device))


def _fit_ar_mistakes():
    return [
        Mistake("no intercept: add a column of ones to X (b is its coefficient)",
                lambda x, tau: _least_squares(*_ar_windows(x, tau), intercept=False)),
        Mistake("off-by-one window: the target of row i is x[i+tau]",
                lambda x, tau: _least_squares(*_ar_windows(x, tau, target_shift=1))),
        Mistake("weights newest first: w[0] must weigh the oldest value of the window",
                lambda x, tau: (lambda w, b: (w.flip(0), b))(*_least_squares(*_ar_windows(x, tau)))),
    ]


def _forecast(history, w, b, k, feed_back=True, newest_first=False, first_window=False):
    tau = w.shape[0]
    window = list(history[:tau] if first_window else history[-tau:])
    weights = w.flip(0) if newest_first else w
    predictions = []
    for _ in range(k):
        value = torch.dot(torch.stack(window[-tau:]), weights) + b
        predictions.append(value)
        if feed_back:
            window.append(value)
    return torch.stack(predictions)


def _predict_mistakes():
    return [
        Mistake("predictions are not fed back: each new prediction must enter the window",
                lambda history, w, b, k: _forecast(history, w, b, k, feed_back=False)),
        Mistake("window newest first: w[0] weighs the oldest of the last tau values",
                lambda history, w, b, k: _forecast(history, w, b, k, newest_first=True)),
        Mistake("the forecast must start from the *last* tau values of history",
                lambda history, w, b, k: _forecast(history, w, b, k, first_window=True)),
        Mistake("the intercept b is missing", lambda history, w, b, k: _forecast(history, w, b * 0, k)),
    ]


def _transition_counts(states, n_states, transposed=False):
    counts = torch.zeros(n_states, n_states, dtype=torch.float64, device=states.device)
    for a, b in zip(states[:-1].tolist(), states[1:].tolist()):
        counts[(b, a) if transposed else (a, b)] += 1
    return counts


def _transition_mistakes():
    def rows(counts, empty):
        totals = counts.sum(1, keepdim=True)
        return torch.where(totals > 0, counts / totals.clamp(min=1), torch.full_like(counts, empty))

    return [
        Mistake("a state never left gives 0/0 or zeros: its row must be uniform, 1/n_states",
                lambda states, n_states: rows(_transition_counts(states, n_states), 0.0)),
        Mistake("a state never left gives 0/0 or zeros: its row must be uniform, 1/n_states",
                lambda states, n_states: rows(_transition_counts(states, n_states), float("nan"))),
        Mistake("counts transposed: A[i, j] counts moves from i to j (rows are 'from')",
                lambda states, n_states: rows(_transition_counts(states, n_states, transposed=True),
                                              1.0 / n_states)),
        Mistake("normalised by the total count; each row must sum to 1",
                lambda states, n_states: _transition_counts(states, n_states) / (len(states) - 1)),
        Mistake("normalised over columns; each row (from-state) must sum to 1",
                lambda states, n_states: rows(_transition_counts(states, n_states).T, 1.0 / n_states).T),
    ]


def _markov_mistakes():
    def log_terms(states, A):
        return torch.log(A[states[:-1], states[1:]])
    return [
        Mistake("the initial term log p0[s_0] is missing", lambda states, A, p0: log_terms(states, A).sum()),
        Mistake("A indexed as A[s_t, s_{t-1}]: rows are the previous state",
                lambda states, A, p0: torch.log(p0[states[0]]) + torch.log(A[states[1:], states[:-1]]).sum()),
        Mistake("the likelihood instead of its log",
                lambda states, A, p0: p0[states[0]] * A[states[:-1], states[1:]].prod()),
        Mistake("a mean instead of a sum over transitions",
                lambda states, A, p0: torch.log(p0[states[0]]) + log_terms(states, A).mean()),
    ]


def _latent_mistakes():
    return [
        Mistake("W_hh is not transposed: h_next = h @ W_hh.T + x @ W_ih.T",
                lambda h, x, W_hh, W_ih: h @ W_hh + x @ W_ih.T),
        Mistake("W_hh and W_ih used untransposed: h_next = h @ W_hh.T + x @ W_ih.T",
                lambda h, x, W_hh, W_ih: h @ W_hh + x @ W_ih),
    ]


def _cell_update_mistakes():
    return [
        Mistake("forget and input gates swapped: c' = f*c + i*g", lambda c, f, i, g: i * c + f * g),
        Mistake("the input gate is missing: c' = f*c + i*g", lambda c, f, i, g: f * c + g),
        Mistake("the forget gate is missing: c' = f*c + i*g", lambda c, f, i, g: c + i * g),
        Mistake("tanh applied to the new cell state; c' = f*c + i*g has no activation",
                lambda c, f, i, g: torch.tanh(f * c + i * g)),
    ]


def _output_gate_mistakes():
    def make(output_tanh=True, **mistake):
        def outputs(x, h, c_next, **w):
            o = wk.gate(x, h, *w.values(), **mistake)
            return o, o * (torch.tanh(c_next) if output_tanh else c_next)
        return outputs
    return [
        Mistake("h_next = o * c_next: the output needs tanh(c_next)", make(output_tanh=False)),
        Mistake("tanh used where the output gate needs sigmoid", make(activation=torch.tanh)),
        Mistake("the input bias b_io is missing (PyTorch adds both biases)", make(drop_b_x=True)),
        Mistake("the hidden bias b_ho is missing (PyTorch adds both biases)", make(drop_b_h=True)),
        Mistake(TRANSPOSED_WEIGHTS, make(transposed=True)),
    ]


def _gru_update_mistakes():
    return [
        Mistake("z and 1-z swapped: PyTorch uses h' = (1-z)*n + z*h", lambda h, z, n: z * n + (1 - z) * h),
        Mistake("h' = (1-z)*n + z*h: the (1-z) factor is missing", lambda h, z, n: n + z * h),
    ]


def _count_mistakes(blocks):
    """Parameter counts with one of the usual counting mistakes; blocks = number of gate blocks."""
    return [
        Mistake("one bias vector counted; PyTorch has both b_ih and b_hh",
                lambda input_size, hidden_size: blocks * (hidden_size * (input_size + hidden_size) + hidden_size)),
        Mistake("biases not counted; PyTorch has b_ih and b_hh per gate block",
                lambda input_size, hidden_size: blocks * hidden_size * (input_size + hidden_size)),
        Mistake("the count forgets the gate blocks: an LSTM has 4 blocks of rows, a GRU 3",
                lambda input_size, hidden_size: hidden_size * (input_size + hidden_size) + 2 * hidden_size),
    ]


def _counts_dict_mistakes():
    correct = {"rnn": 1, "gru": 3, "lstm": 4}

    def with_blocks(mistaken_key, count):
        def outputs(input_size, hidden_size):
            counts = {key: b * (hidden_size * (input_size + hidden_size) + 2 * hidden_size)
                      for key, b in correct.items()}
            counts[mistaken_key] = count(input_size, hidden_size)
            return counts
        return outputs

    found = []
    for key, blocks in correct.items():
        found += [Mistake(f"{key}: {m.hint}", with_blocks(key, m.outputs)) for m in _count_mistakes(blocks)[:2]]
    found.append(Mistake("one bias vector counted per block; PyTorch has both b_ih and b_hh",
                         lambda input_size, hidden_size: {
                             key: b * (hidden_size * (input_size + hidden_size) + hidden_size)
                             for key, b in correct.items()}))
    found.append(Mistake("gru counted with 4 gate blocks; a GRU has 3 (r, z, n)",
                         with_blocks("gru", lambda i, h: 4 * (h * (i + h) + 2 * h))))
    return found


MISTAKES = {
    "sequence_models.ar_design_matrix": _ar_design_mistakes(),
    "sequence_models.fit_ar": _fit_ar_mistakes(),
    "sequence_models.predict_ahead": _predict_mistakes(),
    "sequence_models.transition_matrix": _transition_mistakes(),
    "sequence_models.markov_log_likelihood": _markov_mistakes(),
    "sequence_models.latent_update": _latent_mistakes(),
    "rnn.rnn_cell": _rnn_cell_mistakes(),
    "rnn.rnn_forward": _rnn_forward_mistakes(),
    "rnn.rnn_bptt": _bptt_mistakes(),
    "rnn.hidden_gradient_norms": _norm_mistakes(),
    "rnn.clip_grad_norm": _clip_mistakes(),
    "lstm.forget_gate": _gate_mistakes(torch.sigmoid),
    "lstm.input_gate": _gate_mistakes(torch.sigmoid),
    "lstm.candidate": _gate_mistakes(torch.tanh),
    "lstm.cell_update": _cell_update_mistakes(),
    "lstm.output_gate_and_hidden": _output_gate_mistakes(),
    "lstm.lstm_cell": _lstm_cell_mistakes()
    + [Mistake("returned (c_next, h_next); the order is (h_next, c_next)",
               lambda x, state, **w: wk.lstm_step(x, state, _weights(w))[::-1])],
    "lstm.lstm_forward": _lstm_cell_mistakes(sequence=True)
    + _sequence_mistakes(lambda x_t, s, w: wk.lstm_step(x_t, s, w), "state0"),
    "lstm.lstm_param_count": _count_mistakes(4),
    "gru.reset_gate": _gate_mistakes(torch.sigmoid),
    "gru.update_gate": _gate_mistakes(torch.sigmoid),
    "gru.gru_candidate": _gru_candidate_mistakes(),
    "gru.gru_hidden_update": _gru_update_mistakes(),
    "gru.gru_cell": _gru_cell_mistakes(),
    "gru.gru_forward": _gru_cell_mistakes(sequence=True) + _sequence_mistakes(wk.gru_step, "h0"),
    "gru.parameter_counts": _counts_dict_mistakes(),
}
