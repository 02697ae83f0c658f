"""The families of hidden inputs in the char_lm checks (issue 14, second round), a `parameters` dict changed
in place, and an h_T returned without .detach(): each wrong implementation here is caught by the hidden
check with a message that says what is wrong, and the right implementations pass (test_char_lm_checks.py
and tests/test_term_seeds.py grade them on every case).
"""
import pytest
import torch

from autograder.assess import assess, run_check
from autograder.checks.collect import collect
from autograder.checks.cases import family_cases, hidden_cases, visible_family_cases
from autograder.checks.families import LONG_STEPS, apply_family, holds_weights
from autograder.checks.specs import SPECS
from autograder.checks.tolerances import tolerance_for
from autograder.sandbox.observe import Call, observe
from autograder.sandbox.wire import load_records, save_records
from reference_solutions_char_lm import BY_CHECK_ID, clipped, rnn_language_model, step_losses, tbptt_chunk
from test_check_families import SEED, _failure, _families


def _caught_by_family(check_id, fn, family):
    """The message of the hidden check run on the cases of one family only (it must fail there)."""
    cases = [case for case in hidden_cases(check_id, "cpu", SEED) if case.family == family]
    result = assess(check_id, collect(check_id, fn, cases=cases))
    assert cases and not result.passed, f"{check_id}: the {family} cases let the mistake pass"
    return result.message


# ----- where the families reach -----

def test_the_families_reach_the_char_lm_checks_that_take_arguments():
    for check_id in ("char_lm.decode", "char_lm.step_losses", "char_lm.perplexity", "char_lm.tbptt_chunk",
                     "char_lm.sample_characters"):
        assert {"noncontiguous", "repeat", "size_one"} <= _families(check_id), check_id
    assert {"repeat", "size_one"} <= _families("char_lm.encode")  # a text: no tensor to make non-contiguous
    assert {"large", "huge"} <= _families("char_lm.tbptt_chunk")  # the weights of its parameters dict
    for check_id in ("char_lm.language_model_parameters", "char_lm.answer_q1"):
        assert not _families(check_id), check_id
    for check_id in ("char_lm.step_losses", "char_lm.tbptt_chunk"):
        assert max(case.steps for case in hidden_cases(check_id, "cpu", SEED)) >= 60, check_id
        assert max(case.steps for case in visible_family_cases(check_id)) >= 60, check_id


def _case_inputs(check_id, family):
    case = next(c for c in family_cases(check_id, "cpu", SEED) if c.family == family)
    return SPECS[check_id].make_inputs(case)


def test_the_dict_of_parameters_is_scaled_and_made_non_contiguous():
    plain = SPECS["char_lm.tbptt_chunk"].make_inputs(hidden_cases("char_lm.tbptt_chunk", "cpu", SEED)[0])
    assert holds_weights(plain)
    huge = apply_family("huge", plain)
    assert torch.equal(huge["parameters"]["weight_hh"], 1000.0 * plain["parameters"]["weight_hh"])
    assert torch.equal(huge["h"], plain["h"])  # a state is not a weight
    strided = _case_inputs("char_lm.tbptt_chunk", "noncontiguous")
    assert not any(value.is_contiguous() for value in strided["parameters"].values())
    assert repr(strided["parameters"]).startswith("{weight_ih: (")  # the dict's type (and its repr) is kept


def test_the_long_chunk_keeps_a_memory_of_its_first_state():
    """In the long case a change of h (the state before the first of LONG_STEPS steps) still moves h_T."""
    case = next(c for c in hidden_cases("char_lm.tbptt_chunk", "cpu", SEED) if c.family == "long")
    inputs = SPECS["char_lm.tbptt_chunk"].make_inputs(case)
    assert inputs["ids"].shape[1] == LONG_STEPS
    _, h_T = rnn_language_model(inputs["ids"], inputs["h"], inputs["parameters"])
    _, moved = rnn_language_model(inputs["ids"], inputs["h"] + 0.1, inputs["parameters"])
    tolerance = tolerance_for("char_lm.tbptt_chunk", "cpu", torch.float64)
    assert float((h_T - moved).abs().max()) > 10 * (tolerance.atol + tolerance.rtol * float(h_T.abs().max()))


# ----- wrong implementations the families catch -----

def _tanh_by_exp(a):
    return (torch.exp(a) - torch.exp(-a)) / (torch.exp(a) + torch.exp(-a))


def _clipped_update(leaves, states, targets, learning_rate, max_norm):
    """The rest of a right tbptt_chunk, from the states a wrong one computed: loss, clipped step, last state."""
    loss = step_losses(torch.stack(states, dim=1) @ leaves["weight_hy"].T + leaves["bias_y"], targets).mean()
    gradients = clipped(torch.autograd.grad(loss, list(leaves.values())), max_norm)
    new_parameters = {name: (value - learning_rate * g).detach() for (name, value), g in zip(leaves.items(), gradients)}
    return loss.detach(), new_parameters, states[-1].detach()


def tbptt_chunk_exp_tanh(ids, targets, h, parameters, learning_rate, max_norm):
    leaves = {name: value.detach().clone().requires_grad_(True) for name, value in parameters.items()}
    states = []
    for t in range(ids.shape[1]):
        h = _tanh_by_exp(leaves["weight_ih"].T[ids[:, t]] + leaves["bias_ih"] + h @ leaves["weight_hh"].T
                         + leaves["bias_hh"])
        states.append(h)
    return _clipped_update(leaves, states, targets, learning_rate, max_norm)


def tbptt_chunk_first_fifty_steps(ids, targets, h, parameters, learning_rate, max_norm):
    return tbptt_chunk(ids[:, :50], targets[:, :50], h, parameters, learning_rate, max_norm)


def tbptt_chunk_detaching_every_16_steps(ids, targets, h, parameters, learning_rate, max_norm):
    """The gradient of each step reaches back at most 16 steps (the state detached inside the chunk)."""
    leaves = {name: value.detach().clone().requires_grad_(True) for name, value in parameters.items()}
    states = []
    for t in range(ids.shape[1]):
        if t % 16 == 0:
            h = h.detach()
        h = torch.tanh(leaves["weight_ih"].T[ids[:, t]] + leaves["bias_ih"] + h @ leaves["weight_hh"].T
                       + leaves["bias_hh"])
        states.append(h)
    return _clipped_update(leaves, states, targets, learning_rate, max_norm)


def step_losses_flat_view(logits, targets):
    flat = logits.view(-1, logits.shape[-1])
    return step_losses(flat, targets.view(-1)).view(targets.shape)


def step_losses_squeezed(logits, targets):
    return step_losses(logits, targets).squeeze()


_LOSSES_BY_SHAPE = {}


def perplexity_cached(logits, targets):
    key = tuple(logits.shape)
    if key not in _LOSSES_BY_SHAPE:
        _LOSSES_BY_SHAPE[key] = step_losses(logits, targets)
    return torch.exp(_LOSSES_BY_SHAPE[key].mean())


@pytest.mark.parametrize("check_id, fn, family, says", [
    ("char_lm.tbptt_chunk", tbptt_chunk_exp_tanh, "huge", "very large pre-activations"),
    ("char_lm.tbptt_chunk", tbptt_chunk_first_fifty_steps, "long", "wrong: `loss`"),
    ("char_lm.tbptt_chunk", tbptt_chunk_detaching_every_16_steps, "long", "only on the cases with a long sequence"),
    ("char_lm.step_losses", step_losses_flat_view, "noncontiguous", "view"),
    ("char_lm.step_losses", step_losses_squeezed, "size_one", "batch == 1"),
    ("char_lm.perplexity", perplexity_cached, None, "`perplexity` has wrong values"),  # caught on any repeated shape
])
def test_the_families_catch_char_lm_mistakes_and_say_where(check_id, fn, family, says):
    if family:
        _caught_by_family(check_id, fn, family)
    assert says in _failure(check_id, fn)


# ----- a dict input changed in place; an output not detached -----

def tbptt_chunk_updating_in_place(ids, targets, h, parameters, learning_rate, max_norm):
    loss, new_parameters, h_T = tbptt_chunk(ids, targets, h, parameters, learning_rate, max_norm)
    with torch.no_grad():
        for name, value in parameters.items():
            value.copy_(new_parameters[name])
    return loss, {name: value.clone() for name, value in parameters.items()}, h_T


def tbptt_chunk_attached_state(ids, targets, h, parameters, learning_rate, max_norm):
    leaves = {name: value.detach().clone().requires_grad_(True) for name, value in parameters.items()}
    logits, h_T = rnn_language_model(ids, h, leaves)
    loss = step_losses(logits, targets).mean()
    grads = torch.autograd.grad(loss, list(leaves.values()), retain_graph=True)
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    return loss.detach(), {n: (v - learning_rate * scale * g).detach() for (n, v), g in zip(leaves.items(), grads)}, h_T


def test_a_parameters_dict_changed_in_place_is_caught_by_its_key():
    message = _failure("char_lm.tbptt_chunk", tbptt_chunk_updating_in_place)
    assert "changed its input parameters['weight_ih']" in message


def test_an_h_T_not_detached_is_caught_and_said_plainly():
    message = _failure("char_lm.tbptt_chunk", tbptt_chunk_attached_state)
    assert "`h_T` is not detached" in message and "requires_grad is True" in message


def test_the_observer_records_dict_mutation_and_requires_grad_across_the_wire(tmp_path):
    def fn(parameters):
        parameters["w"].add_(1.0)
        leaf = torch.ones(2, requires_grad=True)
        return (leaf * 2, {"a": parameters["w"] * 1, "b": leaf.detach()})

    observation = observe(fn, Call({"parameters": {"w": torch.zeros(3), "v": torch.zeros(1)}}))
    assert observation.modified_inputs == ("parameters['w']",)
    assert observation.grad_outputs == (0,)
    save_records(tmp_path / "r.npz", "x.y", [observation], [0.0])
    _, [(loaded, _)] = load_records(tmp_path / "r.npz")
    assert loaded.grad_outputs == (0,) and loaded.modified_inputs == ("parameters['w']",)


def test_an_input_dicts_tensor_returned_as_it_is_is_caught():
    observation = observe(lambda parameters: parameters["w"], Call({"parameters": {"w": torch.zeros(3)}}))
    assert observation.returned_inputs == ("parameters['w']",)


@pytest.mark.parametrize("check_id", ["char_lm.encode", "char_lm.decode", "char_lm.step_losses",
                                      "char_lm.perplexity", "char_lm.tbptt_chunk", "char_lm.sample_characters"])
def test_the_right_implementations_pass_every_family(check_id):
    result = run_check(check_id, BY_CHECK_ID[check_id], device="cpu", seed=SEED)
    assert result.passed, result.message


# ----- exact types -----

def tbptt_chunk_float_loss(ids, targets, h, parameters, learning_rate, max_norm):
    loss, new_parameters, h_T = tbptt_chunk(ids, targets, h, parameters, learning_rate, max_norm)
    return loss.item(), new_parameters, h_T


def tbptt_chunk_as_list(ids, targets, h, parameters, learning_rate, max_norm):
    return list(tbptt_chunk(ids, targets, h, parameters, learning_rate, max_norm))


@pytest.mark.parametrize("fn, says", [(tbptt_chunk_float_loss, "`loss` should be a torch.Tensor"),
                                      (tbptt_chunk_as_list, "expected a tuple (loss, new_parameters, h_T)")])
def test_a_float_for_a_tensor_or_a_list_for_a_tuple_is_caught(fn, says):
    assert says in _failure("char_lm.tbptt_chunk", fn)
