"""The checks accept correct solutions and explain precisely what is wrong with bad ones."""
import dataclasses

import numpy as np
import pytest
import torch

import reference_solutions as right
from autograder.assess import assess
from autograder.assess import CHECK_IDS, checks_of
from autograder.checks.cases import hidden_cases
from autograder.checks.collect import case_records, collect, save_case_records
from autograder.hidden import grade
from autograder.checks.tolerances import TOLERANCES, BPTT_MAX_REL_ERROR_FLOAT64, tolerance_for
from autograder.sandbox.snapshots import OtherSnapshot, TensorSnapshot
from autograder.checks import references
from autograder.selfcheck import check, check_notebook
from autograder.checks.specs import Case, SPECS

ASSIGNMENTS = ("sequence_models", "rnn", "lstm", "gru", "char_lm")
import reference_solutions_char_lm as char_lm_parts  # noqa: E402
import reference_solutions_new_parts as new_parts  # noqa: E402  (the parts added later keep their solutions apart)

SOLUTIONS = {**right.BY_CHECK_ID, **new_parts.BY_CHECK_ID, **char_lm_parts.BY_CHECK_ID}


def test_every_exercise_has_a_check_and_a_correct_solution():
    assert set(CHECK_IDS) == set(SOLUTIONS)
    assert {check_id.split(".")[0] for check_id in CHECK_IDS} == set(ASSIGNMENTS)


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_correct_solution_passes_hidden_check_in_float32_and_float64(check_id, capsys):
    result = grade(check_id, SOLUTIONS[check_id])
    assert result.passed and (result.max_error < 1e-4 or check_id not in right.BY_CHECK_ID)
    assert check_id in capsys.readouterr().out
    dtypes = {record.case.dtype for record in collect(check_id, SOLUTIONS[check_id], hidden_cases(check_id, "cpu"))}
    assert dtypes == ({torch.float64} if SPECS[check_id].dtype_free else {torch.float32, torch.float64})


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_correct_solution_passes_visible_check(check_id, capsys):
    check(check_id, SOLUTIONS[check_id])
    assert capsys.readouterr().out.startswith(f"ok: {check_id}")


def test_check_notebook_reports_passed_failed_and_missing(capsys):
    namespace = {name: right.BY_CHECK_ID[f"lstm.{name}"] for name in ("forget_gate", "input_gate", "cell_update")}
    namespace["candidate"] = right.BY_CHECK_ID["lstm.forget_gate"]  # sigmoid where tanh is needed

    def output_gate_and_hidden(*args):
        raise NotImplementedError()
    namespace["output_gate_and_hidden"] = output_gate_and_hidden

    results = check_notebook("lstm", namespace)
    assert results["lstm.forget_gate"] == results["lstm.input_gate"] == "passed"
    assert results["lstm.candidate"].startswith("failed: ") and "`g` has wrong values" in results["lstm.candidate"]
    assert results["lstm.output_gate_and_hidden"] == "not implemented yet"
    assert results["lstm.lstm_cell"].startswith("not implemented yet")
    lstm_checks = len(checks_of("lstm"))
    assert f"3 of {lstm_checks} checks passed" in capsys.readouterr().out


def test_check_notebook_passes_complete_correct_notebooks():
    for assignment in ASSIGNMENTS:
        namespace = {check_id.split(".")[1]: fn for check_id, fn in SOLUTIONS.items()
                     if check_id.startswith(assignment + ".")}
        assert set(check_notebook(assignment, namespace).values()) == {"passed"}


def test_unknown_ids_and_non_functions_are_refused_precisely():
    with pytest.raises(ValueError, match="unknown check 'lstm.forgetgate'.*lstm.forget_gate"):
        check("lstm.forgetgate", right.forget_gate)
    with pytest.raises(ValueError, match="unknown check"):
        grade("lstm.forgetgate", right.forget_gate)
    with pytest.raises(ValueError, match="unknown assignment 'lstms'"):
        check_notebook("lstms", {})
    with pytest.raises(TypeError, match="needs a function, got int"):
        check("lstm.forget_gate", 3)
    with pytest.raises(TypeError, match="must be callable"):
        grade("lstm.forget_gate", None)


def test_not_implemented_stub_fails_with_a_clear_message():
    def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
        raise NotImplementedError()
    for run in (check, grade):
        with pytest.raises(NotImplementedError, match="lstm.forget_gate: not implemented yet"):
            run("lstm.forget_gate", forget_gate)


def _failure(check_id, fn, visible):
    with pytest.raises(AssertionError) as caught:
        (check if visible else grade)(check_id, fn)
    return str(caught.value)


@pytest.mark.parametrize("visible", [True, False], ids=["visible", "hidden"])
def test_wrong_type_is_named(visible):
    message = _failure("lstm.forget_gate", lambda *args: right.forget_gate(*args).numpy(), visible)
    assert "`f` should be a torch.Tensor, got a ndarray" in message


@pytest.mark.parametrize("visible", [True, False], ids=["visible", "hidden"])
def test_wrong_shape_names_expected_axes(visible):
    message = _failure("gru.gru_cell", lambda *args: right.gru_cell(*args)[:, :-1], visible)
    assert "`h_next` has shape" in message and "= (batch, hidden)" in message


@pytest.mark.parametrize("visible", [True, False], ids=["visible", "hidden"])
def test_wrong_dtype_is_named_before_values(visible):
    message = _failure("rnn.rnn_cell", lambda *args, **kw: right.rnn_cell(*args, **kw).half() * 2, visible)
    expected_dtype = "torch.float64" if visible else "torch.float32"  # the first hidden case is float32
    assert f"`h_next` has dtype torch.float16, expected {expected_dtype}" in message


@pytest.mark.parametrize("visible", [True, False], ids=["visible", "hidden"])
def test_wrong_device_is_named(visible):
    message = _failure("gru.gru_hidden_update", lambda h, z, n: torch.empty_like(h, device="meta"), visible)
    assert "is on device meta, expected cpu" in message


@pytest.mark.parametrize("visible", [True, False], ids=["visible", "hidden"])
def test_wrong_tuple_structure_is_named(visible):
    message = _failure("lstm.lstm_forward", lambda *args, **kw: right.lstm_forward(*args, **kw)[0], visible)
    assert "expected a tuple (output, (h_n, c_n)), got a tensor" in message


def test_value_error_names_time_step_largest_error_and_index():
    def late_mistake(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
        output, h_n = right.rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)
        output = output.clone()
        time_axis = 1 if batch_first else 0
        output.narrow(time_axis, 2, 1).mul_(1.5)  # wrong from time step 2 only
        return output, h_n
    message = _failure("rnn.rnn_forward", late_mistake, visible=True)
    assert "`output` has wrong values" in message
    assert "first wrong time step: t=2 (wrong steps: [2])" in message
    assert "largest at index (time=2, batch=" in message and "got " in message and "expected " in message


def test_missing_value_error_is_reported():
    def no_validation(x, tau):
        return torch.stack([x[i:i + tau] for i in range(len(x) - tau)]), x[tau:]
    assert "should raise ValueError" in _failure("sequence_models.ar_design_matrix", no_validation, visible=True)


def test_nan_output_is_reported_as_non_finite():
    message = _failure("lstm.cell_update", lambda c, f, i, g: f * c + i * g / 0 * 0, visible=True)
    assert "`c_next` has a non-finite value nan at index (batch=0, hidden=0)" in message


def test_in_place_change_of_an_input_is_reported():
    def clip_in_place(grads, max_norm):
        clipped, total = right.clip_grad_norm(grads, max_norm)
        for g, c in zip(grads, clipped):
            g.copy_(c)
        return grads, total
    assert "changed its input grads[0]" in _failure("rnn.clip_grad_norm", clip_in_place, visible=True)


def test_other_exceptions_are_reported_with_their_message():
    def broken(x, h, W_if, W_hf, b_if, b_hf):
        return x @ W_if  # shapes do not fit
    message = _failure("lstm.forget_gate", broken, visible=False)
    assert "raised RuntimeError: mat1 and mat2 shapes cannot be multiplied" in message
    assert "transposed weights?" in message


def test_dict_and_int_results_are_compared_per_key():
    def counts(input_size, hidden_size):
        return {**right.parameter_counts(input_size, hidden_size), "gru": 0}
    assert "`counts['gru']` is 0, expected" in _failure("gru.parameter_counts", counts, visible=True)
    assert "`counts` should have keys" in _failure("gru.parameter_counts", lambda i, h: {"rnn": 1}, visible=True)
    assert "`count` should be a Python int, got a tuple" in _failure("lstm.lstm_param_count", lambda i, h: (1,), visible=True)


@pytest.mark.parametrize("module_class, gates, n_blocks", [
    (torch.nn.LSTMCell, references.lstm_gates, 4), (torch.nn.GRUCell, references.gru_gates, 3)])
def test_reference_gates_assembled_give_the_torch_cell(module_class, gates, n_blocks):
    """The per-gate references are slices of PyTorch's own cell: assembling them reproduces nn.*Cell."""
    torch.manual_seed(0)
    cell = module_class(5, 7, dtype=torch.float64)
    x, h, c = (torch.randn(3, n, dtype=torch.float64) for n in (5, 7, 7))
    weights = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    with torch.no_grad():
        g = gates(x, h, *weights)
        if n_blocks == 4:
            c_next = g["f"] * c + g["i"] * g["g"]
            torch.testing.assert_close((g["o"] * torch.tanh(c_next), c_next), cell(x, (h, c)), rtol=0, atol=1e-14)
        else:
            torch.testing.assert_close((1 - g["z"]) * g["n"] + g["z"] * h, cell(x, h), rtol=0, atol=1e-14)


def test_tolerance_table_covers_every_grading_device_and_the_bptt_threshold():
    assert {key for key in TOLERANCES} == {(d, t) for d in ("cpu", "cuda") for t in (torch.float32, torch.float64)}
    assert BPTT_MAX_REL_ERROR_FLOAT64 == 1e-7
    assert tolerance_for("rnn.rnn_bptt", "cpu", torch.float64).max_rel_error == 1e-7
    assert tolerance_for("rnn.rnn_bptt", "cpu", torch.float32).max_rel_error is None


def test_bptt_is_held_to_cs231n_relative_error_in_float64():
    def slightly_off(*args):
        grads = right.rnn_bptt(*args)
        return (grads[0] * (1 + 1e-6), *grads[1:])
    records = collect("rnn.rnn_bptt", slightly_off, hidden_cases("rnn.rnn_bptt", "cpu"))
    result = assess("rnn.rnn_bptt", records)
    assert not result.passed and "relative error" in result.message and "> 1e-07" in result.message


def _is_plain(value):
    if isinstance(value, (tuple, list)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    if isinstance(value, TensorSnapshot):
        return isinstance(value.values, np.ndarray) and value.values.dtype != object
    if isinstance(value, np.ndarray):  # a gradient
        return value.dtype != object
    return value is None or isinstance(value, (bool, int, float, str, OtherSnapshot))


@pytest.mark.parametrize("check_id", ["lstm.lstm_forward", "rnn.clip_grad_norm", "gru.parameter_counts"])
def test_collected_records_are_plain_data_and_judged_without_the_function(check_id):
    """The split for the secure grader: collect() runs the function, assess() needs only plain records."""
    records = collect(check_id, right.BY_CHECK_ID[check_id], hidden_cases(check_id, "cpu"))
    for record in records:
        observation = {f.name: getattr(record.observation, f.name) for f in dataclasses.fields(record.observation)}
        assert all(_is_plain(v) for v in observation.values())
        assert not any(isinstance(v, torch.Tensor) for v in observation.values())
    assert assess(check_id, records).passed


def test_visible_inputs_are_public_and_differ_from_hidden_ones():
    from autograder.checks.cases import hidden_cases
    from autograder.selfcheck import visible_cases
    for check_id in CHECK_IDS:
        visible_seeds = {case.seed for case in visible_cases(check_id)}
        assert visible_seeds.isdisjoint({case.seed for case in hidden_cases(check_id, "cpu")})
    assert Case().dtype == torch.float64 and Case().device == "cpu"


def test_checks_of_lists_one_assignment():
    assert checks_of("gru") == [c for c in CHECK_IDS if c.startswith("gru.")]
    assert all(SPECS[c].check_id == c for c in CHECK_IDS)


def test_visible_check_names_the_likely_mistake_too():
    def gru_cell_z_swapped(x, h, *weights):
        z_and_n = right.gru_cell(x, h, *weights)  # right answer = (1-z)*n + z*h
        r_w, z_w, n_w = zip(*[w.chunk(3, dim=0) for w in weights])
        z = right.update_gate(x, h, *z_w)
        n = right.gru_candidate(x, h, right.reset_gate(x, h, *r_w), *n_w)
        assert torch.allclose(z_and_n, (1 - z) * n + z * h)
        return z * n + (1 - z) * h
    message = _failure("gru.gru_cell", gru_cell_z_swapped, visible=True)
    assert "Likely mistake: z and 1-z swapped" in message


def test_tf32_is_off_for_cublas_and_cudnn_after_disable():
    from autograder.sandbox.devices import disable_tf32, grading_device
    disable_tf32()
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    assert "tf32" not in (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.rnn.fp32_precision,
                          torch.backends.cudnn.conv.fp32_precision)
    assert grading_device() == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("check_id, fn, passes", [
    ("lstm.lstm_forward", right.lstm_forward, True),
    ("gru.parameter_counts", right.parameter_counts, True),
    ("rnn.clip_grad_norm", lambda grads, max_norm: ([g.clamp(-max_norm, max_norm) for g in grads],
                                                    torch.sqrt(sum((g ** 2).sum() for g in grads))), False),
])
def test_records_round_trip_through_npz_and_are_judged_the_same(tmp_path, check_id, fn, passes):
    from autograder.sandbox.wire import load_records
    cases = hidden_cases(check_id, "cpu")
    records = collect(check_id, fn, cases)
    save_case_records(tmp_path / "records.npz", check_id, records)
    loaded_id, loaded = load_records(tmp_path / "records.npz")
    loaded = case_records(cases, loaded)
    assert loaded_id == check_id
    assert len(loaded) == len(records)
    direct, from_file = assess(check_id, records), assess(loaded_id, loaded)
    assert direct.passed == from_file.passed == passes
    assert direct.message == from_file.message


def test_a_gradient_recorded_where_the_code_runs_is_judged_from_the_file(tmp_path):
    """Values right, gradient cut off: collect records the gradient as plain arrays, assess (from the npz
    file, without the function) compares it with the reference's gradient and fails the check."""
    from autograder.sandbox.wire import load_records
    cases = hidden_cases("gru.gru_cell", "cpu")
    detached = lambda *args: right.gru_cell(*args).detach()
    records = collect("gru.gru_cell", detached, cases)
    assert any(r.observation.gradients is not None for r in records)
    save_case_records(tmp_path / "records.npz", "gru.gru_cell", records)
    check_id, loaded = load_records(tmp_path / "records.npz")
    result = assess(check_id, case_records(cases, loaded))
    assert not result.passed and "carries no gradient" in result.message
    correct = collect("gru.gru_cell", right.gru_cell, cases)
    save_case_records(tmp_path / "right.npz", "gru.gru_cell", correct)
    check_id, loaded = load_records(tmp_path / "right.npz")
    assert assess(check_id, case_records(cases, loaded)).passed


def test_a_record_without_its_gradient_fails(tmp_path):
    """A sandbox that drops the gradient from its records does not get credit for it."""
    records = collect("lstm.forget_gate", right.forget_gate, hidden_cases("lstm.forget_gate", "cpu"))
    stripped = [dataclasses.replace(r, observation=dataclasses.replace(r.observation, gradients=None))
                for r in records]
    result = assess("lstm.forget_gate", stripped)
    assert not result.passed and "no gradient was recorded" in result.message


def test_loading_records_is_bounded(tmp_path, monkeypatch):
    from autograder.sandbox import wire as records_module
    records = collect("lstm.cell_update", right.cell_update, hidden_cases("lstm.cell_update", "cpu"))
    save_case_records(tmp_path / "records.npz", "lstm.cell_update", records)
    monkeypatch.setattr(records_module, "MAX_BYTES", 100)
    with pytest.raises(ValueError, match="over the size limit"):
        records_module.load_records(tmp_path / "records.npz")


@pytest.mark.parametrize("visible", [True, False], ids=["visible", "hidden"])
def test_a_squeezed_batch_axis_is_named(visible):
    message = _failure("gru.gru_cell", lambda *args: right.gru_cell(*args).squeeze(), visible)
    assert "the axis `batch` of size 1 is missing" in message


def test_hidden_cases_cover_the_contract():
    """Edge sizes, both dtypes, every option and every documented invalid option are in the hidden set."""
    from autograder.checks.cases import hidden_cases
    cases = hidden_cases("rnn.rnn_forward", "cpu")
    assert {c.dtype for c in cases} == {torch.float32, torch.float64}
    assert any(c.batch == 1 and c.steps == 1 for c in cases)
    assert any(c.steps == c.batch for c in cases if c.options["batch_first"])
    assert any(c.steps == c.batch for c in cases if not c.options["batch_first"])
    assert any(c.input_size == c.hidden_size for c in cases) and any(c.input_size != c.hidden_size for c in cases)
    assert max(c.steps for c in cases) >= 20
    invalid = [c.options["nonlinearity"] for c in hidden_cases("rnn.rnn_cell", "cpu")]
    assert {"tanh", "relu", "sigmoid", "Tanh"} <= set(invalid)
    clip = [c.options for c in hidden_cases("rnn.clip_grad_norm", "cpu")]
    assert any(o.get("max_norm", 0) > 1 and o["max_norm"] ** 0.5 < o.get("total_norm", 0) < o["max_norm"] for o in clip)
    assert any(o.get("max_norm", 1) < 1 and o["max_norm"] < o.get("total_norm", 0) < o["max_norm"] ** 0.5 for o in clip)


def test_records_load_from_bytes_as_the_grader_receives_them():
    import io
    from autograder.sandbox.wire import load_records
    buffer = io.BytesIO()
    cases = hidden_cases("gru.gru_cell", "cpu")
    save_case_records(buffer, "gru.gru_cell", collect("gru.gru_cell", right.gru_cell, cases))
    check_id, records = load_records(buffer.getvalue())
    assert check_id == "gru.gru_cell" and assess(check_id, case_records(cases, records)).passed
