"""Hidden cases by family (issue 14): each family reaches every check it applies to, builds the inputs it
claims, lets the right implementations pass, and catches the mistake it exists for.

The mistakes here are our own, one or more per family; the blind sets in tests/heldout measure the same
families on implementations written by someone who did not see this code.
"""
import pytest
import torch

import reference_solutions as right
import reference_solutions_new_parts as right_new
from autograder.assess import run_check
from autograder.checks.cases import FAMILY_ASSIGNMENTS, family_cases, hidden_cases, visible_family_cases
from autograder.checks.contracts import contract_for
from autograder.checks.families import non_contiguous
from autograder.checks.specs import SPECS
from autograder.checks.specs_questions import smallest_forecasting_window_reference
from autograder.selfcheck import check

SEED = 20261206
CHECKS = [c for c in SPECS if c.split(".")[0] in FAMILY_ASSIGNMENTS]
SOLUTIONS = {**right.BY_CHECK_ID, **right_new.BY_CHECK_ID}


def _families(check_id):
    return {case.family for case in family_cases(check_id, "cpu", SEED)}


def _failure(check_id, fn):
    result = run_check(check_id, fn, device="cpu", seed=SEED)
    assert not result.passed, f"{check_id}: the mistake passed: {result.message}"
    return result.message


# ----- where each family applies -----

@pytest.mark.parametrize("check_id", CHECKS)
def test_each_family_reaches_the_checks_its_rule_names(check_id):
    spec, contract = SPECS[check_id], contract_for(check_id)
    families = _families(check_id)
    inputs = spec.make_inputs(hidden_cases(check_id, "cpu", SEED)[0])
    takes_arguments = not spec.call_for(inputs).no_arguments
    names = [name for name in inputs] + [k for v in inputs.values() if isinstance(v, dict) for k in v]
    weights = any(name.startswith(("weight_", "bias_", "W_", "b_")) for name in names)
    nonlinear = bool(contract.activations or contract.gate_blocks or "autograd" in spec.refusals)
    tensors = any(isinstance(v, (torch.Tensor, tuple, list, dict)) for v in inputs.values())
    texts = any(isinstance(v, str) for v in inputs.values())
    assert ("large" in families) == ("huge" in families) == (takes_arguments and weights and nonlinear)
    assert ("noncontiguous" in families) == (takes_arguments and tensors)
    assert ("repeat" in families) == (takes_arguments and (tensors or texts))
    assert ("size_one" in families) == takes_arguments
    assert ("ill_conditioned" in families) == (check_id == "sequence_models.fit_ar")
    integers = any(isinstance(t, torch.Tensor) and not t.is_floating_point()
                   for v in inputs.values() for t in (v if isinstance(v, (tuple, list)) else (v,)))
    algebra = contract.differentiable or "autograd" in spec.refusals
    assert ("meta" in families) == (takes_arguments and ((algebra and not integers) or contract.on_meta))


def test_the_meta_device_reaches_cells_layers_and_backward_passes_but_not_counting():
    for check_id in ("lstm.lstm_cell", "gru.gru_forward", "rnn.rnn_bptt", "lstm.lstm_bptt", "gru.update_gate"):
        assert "meta" in _families(check_id), check_id
        assert any(case.device == "meta" for case in visible_family_cases(check_id)), check_id
    assert "meta" in _families("rnn.clip_grad_norm")  # contract: on_meta
    # right transition matrices read states with .tolist() (no meta path); markov_log_likelihood's reference
    # indexes p0 with a value; torch.linalg.lstsq has no meta kernel
    for check_id in ("sequence_models.transition_matrix", "sequence_models.markov_log_likelihood",
                     "sequence_models.fit_ar", "lstm.lstm_param_count"):
        assert "meta" not in _families(check_id), check_id


def clip_grad_norm_with_python_min(grads, max_norm):
    total_norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    return [g * min(1.0, max_norm / (total_norm + 1e-6)) for g in grads], total_norm


def clip_grad_norm_norms_on_cpu(grads, max_norm):
    norms = torch.zeros(len(grads), dtype=grads[0].dtype)
    for k, g in enumerate(grads):
        norms[k] = g.norm()
    total_norm = norms.norm()
    return [g * torch.clamp(max_norm / (total_norm + 1e-6), max=1.0) for g in grads], total_norm


def test_the_meta_case_excuses_a_value_read_and_catches_a_tensor_made_on_the_cpu():
    """A right answer that reads a value (Python's min of a norm) passes the meta case; a tensor made
    without device= fails it and the message names the device."""
    result = run_check("rnn.clip_grad_norm", clip_grad_norm_with_python_min, device="cpu", seed=SEED)
    assert result.passed and result.max_error < 1e-3, result.message
    assert "meta" in _failure("rnn.clip_grad_norm", clip_grad_norm_norms_on_cpu)


def test_the_large_families_reach_every_cell_gate_and_backward_pass():
    for check_id in ("lstm.forget_gate", "gru.gru_candidate", "lstm.output_gate_and_hidden", "rnn.rnn_cell",
                     "lstm.lstm_forward", "rnn.rnn_bptt", "lstm.lstm_step_backward", "lstm.lstm_bptt",
                     "gru.gru_step_backward", "rnn.hidden_gradient_norms"):
        assert {"large", "huge"} <= _families(check_id), check_id
    for check_id in ("lstm.cell_update", "sequence_models.latent_update", "rnn.clip_grad_norm"):
        assert not {"large", "huge"} & _families(check_id), check_id


@pytest.mark.parametrize("check_id", [c for c in CHECKS if SPECS[c].loops_over_time])
def test_every_check_that_loops_over_time_gets_a_long_sequence(check_id):
    assert max(case.steps for case in hidden_cases(check_id, "cpu", SEED)) >= 60
    assert max(case.steps for case in visible_family_cases(check_id)) >= 60


def test_the_backward_passes_through_time_loop_over_time():
    assert SPECS["lstm.lstm_bptt"].loops_over_time and SPECS["rnn.rnn_bptt"].loops_over_time


@pytest.mark.parametrize("check_id", CHECKS)
def test_the_visible_checks_get_one_case_of_each_family(check_id):
    visible = {case.family for case in visible_family_cases(check_id)} - {""}
    assert visible == _families(check_id) | ({"long"} if SPECS[check_id].loops_over_time else set())
    hidden_seeds = {case.seed for case in hidden_cases(check_id, "cpu")}
    assert not hidden_seeds & {case.seed for case in visible_family_cases(check_id)}


# ----- what each family builds -----

def _family_case(check_id, family, dtype=torch.float64):
    return next(c for c in family_cases(check_id, "cpu", SEED) if c.family == family and c.dtype == dtype)


def _pre_activation(inputs):
    return inputs["x"] @ inputs["W_if"].T + inputs["b_if"] + inputs["h"] @ inputs["W_hf"].T + inputs["b_hf"]


@pytest.mark.parametrize("family, at_least", [("large", 50.0), ("huge", 1e3)])
def test_large_families_reach_the_stated_pre_activations(family, at_least):
    inputs = SPECS["lstm.forget_gate"].make_inputs(_family_case("lstm.forget_gate", family))
    assert float(_pre_activation(inputs).abs().max()) >= at_least
    c_next = SPECS["lstm.output_gate_and_hidden"].make_inputs(_family_case("lstm.output_gate_and_hidden", family))
    assert float(c_next["c_next"].abs().max()) >= at_least  # tanh(c_next) saturates too


@pytest.mark.parametrize("check_id", ["rnn.rnn_forward", "lstm.lstm_cell", "rnn.clip_grad_norm",
                                      "sequence_models.markov_log_likelihood", "lstm.lstm_bptt"])
def test_non_contiguous_inputs_have_the_values_of_a_plain_case(check_id):
    spec = SPECS[check_id]
    case = _family_case(check_id, "noncontiguous")
    plain = spec.make_inputs(case.__class__(**{**case.__dict__, "family": ""}))
    given = spec.make_inputs(case)
    pairs = [(a, b) for name in plain for a, b in _tensor_pairs(plain[name], given[name])]
    assert pairs and all(torch.equal(a, b) for a, b in pairs)
    assert all(not b.is_contiguous() for _, b in pairs if b.numel() > 1 and b.dim() >= 1 and min(b.shape) > 1)


def _tensor_pairs(a, b):
    if isinstance(a, torch.Tensor):
        return [(a, b)]
    if isinstance(a, (tuple, list)):
        return [pair for x, y in zip(a, b) for pair in _tensor_pairs(x, y)]
    return []


def test_non_contiguous_keeps_values_and_breaks_view():
    matrix = torch.arange(6.0).reshape(2, 3)
    moved = non_contiguous(matrix)
    assert torch.equal(moved, matrix) and not moved.is_contiguous()
    with pytest.raises(RuntimeError):
        moved.view(6)
    vector = non_contiguous(torch.arange(4.0))
    assert vector.stride() == (2,) and torch.equal(vector, torch.arange(4.0))


def test_the_ill_conditioned_design_is_ill_conditioned():
    inputs = SPECS["sequence_models.fit_ar"].make_inputs(_family_case("sequence_models.fit_ar", "ill_conditioned"))
    x, tau = inputs["x"], inputs["tau"]
    design = torch.cat([x.unfold(0, tau, 1)[:-1], torch.ones(len(x) - tau, 1, dtype=x.dtype)], dim=1)
    assert float(torch.linalg.cond(design)) > 1e5


def test_size_one_has_batch_input_and_hidden_sizes_of_one():
    case = _family_case("gru.gru_cell", "size_one")
    inputs = SPECS["gru.gru_cell"].make_inputs(case)
    assert inputs["x"].shape == (1, 1) and inputs["h"].shape == (1, 1) and inputs["weight_hh"].shape == (3, 1)


def test_a_repeated_call_has_the_shapes_of_an_earlier_case_and_new_values():
    spec = SPECS["lstm.lstm_cell"]
    cases = hidden_cases("lstm.lstm_cell", "cpu", SEED)
    repeat = next(c for c in cases if c.family == "repeat")
    earlier = next(c for c in cases[:cases.index(repeat)] if c.dtype == repeat.dtype and not c.family
                   and (c.steps, c.batch, c.input_size, c.hidden_size)
                   == (repeat.steps, repeat.batch, repeat.input_size, repeat.hidden_size))
    assert not torch.equal(spec.make_inputs(repeat)["x"], spec.make_inputs(earlier)["x"])


# ----- the right implementations pass; other right ways too -----

def _design(x, tau):
    design = x.unfold(0, tau, 1)[:-1]
    return torch.cat([design, torch.ones(len(x) - tau, 1, dtype=x.dtype, device=x.device)], dim=1), x[tau:]


def _fit_by_pinv(x, tau):
    design, target = _design(x, tau)
    solution = torch.linalg.pinv(design) @ target
    return solution[:-1], solution[-1]


def _fit_by_qr(x, tau):
    design, target = _design(x, tau)
    q, r = torch.linalg.qr(design)
    solution = torch.linalg.solve_triangular(r, (q.T @ target)[:, None], upper=True)[:, 0]
    return solution[:-1], solution[-1]


def _ar_design_by_views(x, tau):
    """Views of the input (they overlap each other): the caller's data, allowed."""
    if tau < 1 or tau >= len(x):
        raise ValueError("tau must satisfy 1 <= tau < T")
    return x.unfold(0, tau, 1)[:-1], x[tau:]


@pytest.mark.parametrize("check_id, fn", [
    ("sequence_models.fit_ar", _fit_by_pinv), ("sequence_models.fit_ar", _fit_by_qr),
    ("sequence_models.ar_design_matrix", _ar_design_by_views),
    ("lstm.lstm_bptt", right_new.BY_CHECK_ID["lstm.lstm_bptt"]), ("rnn.rnn_bptt", right.BY_CHECK_ID["rnn.rnn_bptt"]),
    ("lstm.lstm_forward", right.BY_CHECK_ID["lstm.lstm_forward"]),
])
def test_right_implementations_pass_every_family(check_id, fn):
    result = run_check(check_id, fn, device="cpu", seed=SEED)
    assert result.passed, result.message


# ----- each family catches its mistakes -----

def _overflowing_sigmoid(a):
    return torch.exp(a) / (1 + torch.exp(a))


def forget_gate_exp_sigmoid(x, h, W_if, W_hf, b_if, b_hf):
    return _overflowing_sigmoid(x @ W_if.T + b_if + h @ W_hf.T + b_hf)


def forget_gate_where_sigmoid(x, h, W_if, W_hf, b_if, b_hf):
    a = x @ W_if.T + b_if + h @ W_hf.T + b_hf
    return torch.where(a >= 0, 1 / (1 + torch.exp(-a)), torch.exp(a) / (1 + torch.exp(a)))


def candidate_clamped(x, h, W_ig, W_hg, b_ig, b_hg):
    return torch.tanh((x @ W_ig.T + b_ig + h @ W_hg.T + b_hg).clamp(-5, 5))


def gru_step_backward_exp_sigmoid(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_next):
    grads = right_new.BY_CHECK_ID["gru.gru_step_backward"](x, h, weight_ih, weight_hh, bias_ih, bias_hh,
                                                            grad_h_next)
    pre = x @ weight_ih.T + bias_ih  # an overflowing exp taken on the way, as a hand-written sigmoid does
    return {key: value + 0 * _overflowing_sigmoid(pre).sum() for key, value in grads.items()}


@pytest.mark.parametrize("check_id, fn", [
    ("lstm.forget_gate", forget_gate_exp_sigmoid), ("lstm.forget_gate", forget_gate_where_sigmoid),
    ("lstm.candidate", candidate_clamped), ("gru.gru_step_backward", gru_step_backward_exp_sigmoid),
])
def test_large_pre_activations_catch_overflow_clamping_and_nan_gradients(check_id, fn):
    _failure(check_id, fn)
    with pytest.raises(AssertionError):
        check(check_id, fn)


def test_an_overflow_is_localised_to_the_large_pre_activations():
    message = _failure("lstm.forget_gate", forget_gate_exp_sigmoid)
    assert "large pre-activations" in message and "non-finite" in message


def lstm_cell_viewing_weights(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    hidden = weight_hh.shape[1]
    blocks_ih = weight_ih.view(-1).reshape(4, hidden, -1)  # .view(-1) needs a contiguous input
    blocks_hh = weight_hh.view(-1).reshape(4, hidden, hidden)
    h, c = state
    i, f, g, o = (x @ blocks_ih[k].T + h @ blocks_hh[k].T for k in range(4))
    b_i, b_f, b_g, b_o = (bias_ih + bias_hh).chunk(4)
    c_next = torch.sigmoid(f + b_f) * c + torch.sigmoid(i + b_i) * torch.tanh(g + b_g)
    return torch.sigmoid(o + b_o) * torch.tanh(c_next), c_next


def test_non_contiguous_inputs_catch_view_and_say_so():
    message = _failure("lstm.lstm_cell", lstm_cell_viewing_weights)
    assert "non-contiguous inputs" in message
    with pytest.raises(AssertionError):
        check("lstm.lstm_cell", lstm_cell_viewing_weights)


def gru_cell_squeezed(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    return right.BY_CHECK_ID["gru.gru_cell"](x, h, weight_ih, weight_hh, bias_ih, bias_hh).squeeze()


def test_sizes_of_one_catch_squeeze():
    assert "squeeze" in _failure("gru.gru_cell", gru_cell_squeezed)


def lstm_bptt_truncated(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T, grad_c_T):
    """Truncated BPTT: only the last 50 steps (the state before them taken as given)."""
    steps = 50
    h, c = state0
    for x_t in x[:-steps]:
        h, c = right.BY_CHECK_ID["lstm.lstm_cell"](x_t, (h, c), weight_ih, weight_hh, bias_ih, bias_hh)
    grads = right_new.BY_CHECK_ID["lstm.lstm_bptt"](x[-steps:], (h, c), weight_ih, weight_hh, bias_ih, bias_hh,
                                                    grad_h_T, grad_c_T)
    if len(x) > steps:
        grads["h0"], grads["c0"] = torch.zeros_like(state0[0]), torch.zeros_like(state0[1])
    return grads


def test_a_long_sequence_catches_truncated_bptt():
    message = _failure("lstm.lstm_bptt", lstm_bptt_truncated)
    assert "long sequence" in message
    with pytest.raises(AssertionError):
        check("lstm.lstm_bptt", lstm_bptt_truncated)


_cache = {}


def latent_update_cached(h, x, W_hh, W_ih):
    key = (tuple(W_hh.shape), tuple(W_ih.shape), W_hh.dtype)
    _cache.setdefault(key, (W_hh.T.clone(), W_ih.T.clone()))
    cached_hh, cached_ih = _cache[key]
    return h @ cached_hh + x @ cached_ih


def test_a_repeated_call_catches_state_kept_between_calls():
    _cache.clear()
    message = _failure("sequence_models.latent_update", latent_update_cached)
    assert "earlier call" in message or "state kept" in message
    _cache.clear()
    with pytest.raises(AssertionError):
        check("sequence_models.latent_update", latent_update_cached)


def fit_ar_normal_equations(x, tau):
    design, target = _design(x, tau)
    solution = torch.linalg.inv(design.T @ design) @ design.T @ target
    return solution[:-1], solution[-1]


def test_an_ill_conditioned_design_catches_normal_equations():
    message = _failure("sequence_models.fit_ar", fit_ar_normal_equations)
    assert "ill-conditioned" in message
    with pytest.raises(AssertionError):
        check("sequence_models.fit_ar", fit_ar_normal_equations)


def rnn_cell_is_comparison(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    pre = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    if nonlinearity is "tanh":  # noqa: F632 (the mistake under test)
        return torch.tanh(pre)
    if nonlinearity is "relu":  # noqa: F632
        return torch.relu(pre)
    raise ValueError(nonlinearity)


def test_equal_but_not_identical_strings_catch_is():
    _failure("rnn.rnn_cell", rnn_cell_is_comparison)


def rnn_forward_h_n_view(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    output, _ = right.BY_CHECK_ID["rnn.rnn_forward"](x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)
    return output, (output[:, -1] if batch_first else output[-1])


def clip_one_tensor_twice(grads, max_norm):
    clipped, total = right.BY_CHECK_ID["rnn.clip_grad_norm"](grads, max_norm)
    return [clipped[0]] * len(clipped), total


@pytest.mark.parametrize("check_id, fn, names", [
    ("rnn.rnn_forward", rnn_forward_h_n_view, "`output` and `h_n`"),
])
def test_outputs_that_share_memory_fail_and_are_named(check_id, fn, names):
    message = _failure(check_id, fn)
    assert names in message and "share memory" in message
    with pytest.raises(AssertionError, match="share memory"):
        check(check_id, fn)


def test_one_tensor_returned_twice_fails():
    _failure("rnn.clip_grad_norm", clip_one_tensor_twice)


# ----- answers: exact types, the precision the text asks -----

@pytest.mark.parametrize("check_id, answer, passes", [
    ("rnn.answer_q1", 0.6715, True), ("rnn.answer_q1", 0.6714945, True), ("rnn.answer_q1", 0.6716, False),
    ("rnn.answer_q1", torch.tensor(0.6715), False),
    ("rnn.answer_q2", 2.6471, True), ("rnn.answer_q2", 45 / 17, True), ("rnn.answer_q2", 2.647, False),
    ("rnn.answer_q2", 3, False), ("rnn.answer_q2", torch.tensor(2.6471), False),
    ("sequence_models.answer_q1", 0.2857, True), ("sequence_models.answer_q1", 2 / 7, True),
    ("sequence_models.answer_q1", 0.4, False),
    ("sequence_models.smallest_forecasting_window", smallest_forecasting_window_reference(), True),
    ("sequence_models.smallest_forecasting_window", float(smallest_forecasting_window_reference()), False),
    ("sequence_models.answer_q2", 0.1351, True), ("sequence_models.answer_q2", 0.135, False),
    ("rnn.smallest_nonvanishing_radius", 1.85, True), ("rnn.smallest_nonvanishing_radius", 2.0, False),
    ("gru.answer_q2", "r", True), ("gru.answer_q2", "".join(["r"]), True), ("gru.answer_q2", "r ", False),
    ("lstm.answer_q2", 4.97, True), ("lstm.answer_q2", 4.96, False), ("lstm.answer_q2", "4.97", False),
    ("char_lm.answer_q1", 3.33, True), ("char_lm.answer_q1", 3.34, False),
    ("char_lm.answer_q3", 0.33, True), ("char_lm.answer_q3", 1 / 3, True), ("char_lm.answer_q3", 0.34, False),
])
def test_answers_have_the_type_and_precision_the_text_asks(check_id, answer, passes):
    result = run_check(check_id, lambda: answer, device="cpu", seed=SEED)
    assert result.passed == passes, result.message


# ----- the meta device: a tensor made without device= fails on a CPU-only grader -----

def update_gate_zeros_on_cpu(x, h, W_iz, W_hz, b_iz, b_hz):
    pre = torch.zeros(x.shape[0], W_iz.shape[0], dtype=x.dtype)  # no device=: on the CPU whatever x is on
    return torch.sigmoid(pre + x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)


def rnn_forward_stack_on_cpu(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    output, h_n = right.BY_CHECK_ID["rnn.rnn_forward"](x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)
    return output.to("cpu"), h_n.to("cpu")


@pytest.mark.parametrize("check_id, fn", [("gru.update_gate", update_gate_zeros_on_cpu),
                                          ("rnn.rnn_forward", rnn_forward_stack_on_cpu)])
def test_a_tensor_made_without_device_fails_on_a_cpu_only_grader(check_id, fn):
    message = _failure(check_id, fn)
    assert "meta" in message and "device" in message
    with pytest.raises(AssertionError):
        check(check_id, fn)


def test_an_op_without_values_on_meta_is_judged_not_taken_for_the_stub():
    def gate_through_item(x, h, W_if, W_hf, b_if, b_hf):
        scale = float(x.abs().max().item()) * 0 + 1  # needs values: raises on the meta device
        return torch.sigmoid(scale * (x @ W_if.T + b_if + h @ W_hf.T + b_hf))
    message = _failure("lstm.forget_gate", gate_through_item)
    assert "not implemented yet" not in message and "raised" in message


# ----- through the sandbox's wire: the records the grader reads -----

@pytest.mark.parametrize("check_id, fn", [
    ("gru.update_gate", update_gate_zeros_on_cpu), ("rnn.rnn_forward", rnn_forward_h_n_view),
    ("lstm.lstm_cell", lstm_cell_viewing_weights), ("lstm.lstm_cell", right.BY_CHECK_ID["lstm.lstm_cell"]),
])
def test_the_families_judge_the_same_through_the_wire(tmp_path, check_id, fn):
    """Meta outputs, non-contiguous inputs and aliased outputs survive the sandbox's record format."""
    from autograder.assess import assess
    from autograder.checks.collect import case_records, collect, save_case_records
    from autograder.sandbox.wire import load_records
    cases = hidden_cases(check_id, "cpu", SEED)
    records = collect(check_id, fn, cases)
    save_case_records(tmp_path / "records.npz", check_id, records)
    _, loaded = load_records((tmp_path / "records.npz").read_bytes())
    direct, through = assess(check_id, records), assess(check_id, case_records(cases, loaded))
    assert (direct.passed, direct.message) == (through.passed, through.message)


def rnn_bptt_last_forty(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    """BPTT truncated to the last 40 steps: with random weights the earlier steps add less than 1e-12."""
    h = h0
    for x_t in x[:-40]:
        h = right.BY_CHECK_ID["rnn.rnn_cell"](x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
    grads = right.BY_CHECK_ID["rnn.rnn_bptt"](x[-40:], h, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T)
    return grads if len(x) <= 40 else (*grads[:4], torch.zeros_like(h0))


def gru_forward_from_step_twenty(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    """Early steps dropped: the state restarts from h0 at step 20 (the outputs before it kept)."""
    sequence = x.transpose(0, 1) if batch_first else x
    h, outputs = h0, []
    for t, x_t in enumerate(sequence):
        h = right.BY_CHECK_ID["gru.gru_cell"](x_t, h0 if t == 20 else h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h


@pytest.mark.parametrize("check_id, fn", [("rnn.rnn_bptt", rnn_bptt_last_forty),
                                          ("gru.gru_forward", gru_forward_from_step_twenty)])
def test_the_long_sequence_keeps_a_memory_that_shows_early_steps(check_id, fn):
    message = _failure(check_id, fn)
    assert "long sequence" in message
    with pytest.raises(AssertionError):
        check(check_id, fn)



def _last_output(output, batch_first):
    output = output[0] if isinstance(output, tuple) else output
    return output[:, -1] if batch_first else output[-1]


def what_the_start_leaves_at_the_end(check_id, inputs):
    """How much the first state still matters at the end of a long case: the change of the last output when
    h0 moves by 0.1 (forward passes), the size of the gradient that reaches h0 (backward passes), or the norm
    of dh_T/dh_0 (hidden_gradient_norms' first entry)."""
    output = SPECS[check_id].reference(**inputs)
    if check_id == "rnn.hidden_gradient_norms":
        return output[0].item()
    if check_id == "rnn.rnn_bptt":
        return output[-1].abs().max().item()
    if check_id == "lstm.lstm_bptt":
        return min(output["h0"].abs().max().item(), output["c0"].abs().max().item())
    name = "h0" if "h0" in inputs else "state0"
    moved = {**inputs, name: tuple(t + 0.1 for t in inputs[name]) if isinstance(inputs[name], tuple)
             else inputs[name] + 0.1}
    batch_first = inputs.get("batch_first", False)
    return (_last_output(output, batch_first)
            - _last_output(SPECS[check_id].reference(**moved), batch_first)).abs().max().item()


LONG_STATE_CHECKS = [c for c in CHECKS if SPECS[c].loops_over_time and c.split(".")[0] in ("rnn", "lstm", "gru")]


@pytest.mark.parametrize("check_id", LONG_STATE_CHECKS)
def test_under_any_term_seed_the_first_state_still_matters_at_the_end(check_id):
    """The long case's settings (autograder.checks.families) keep 200 steps of memory under every term seed,
    not only the default one: far above the float64 tolerance (atol 1e-11), so a loop or BPTT cut short fails."""
    smallest = min(what_the_start_leaves_at_the_end(check_id, SPECS[check_id].make_inputs(case))
                   for term_seed in range(16)
                   for case in hidden_cases(check_id, "cpu", term_seed) if case.family == "long")
    assert smallest > 1e-6, f"{check_id}: the first state leaves only {smallest:.1e} at the end under some term seed"
