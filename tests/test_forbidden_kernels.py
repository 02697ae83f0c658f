"""A solution that calls the framework kernel it should implement gets no credit, and is told why."""
import pytest
import torch
from torch import nn

import reference_solutions as right
from autograder.assess import run_check
from autograder.hints import COURSE_KERNELS
from autograder.sandbox.forbidden import refusing
from autograder.checks import references
from autograder.checks.specs import SPECS


def _module(module_class, weights, **options):
    weight_ih, weight_hh, bias_ih, bias_hh = weights
    module = module_class(weight_ih.shape[1], weight_hh.shape[1], dtype=weight_ih.dtype, **options)
    suffix = "" if module_class in (nn.RNNCell, nn.LSTMCell, nn.GRUCell) else "_l0"
    with torch.no_grad():
        for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), weights):
            getattr(module, name + suffix).copy_(value)
    return module


def lstm_cell_by_module(x, state, *weights):
    with torch.no_grad():
        return _module(nn.LSTMCell, weights)(x, state)


def lstm_cell_by_kernel(x, state, *weights):
    return torch.lstm_cell(x, state, *weights)


def gru_cell_by_vf_kernel(x, h, *weights):
    return torch._VF.gru_cell(x, h, *weights)


def rnn_cell_by_kernel(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh"):
    kernel = torch.rnn_tanh_cell if nonlinearity == "tanh" else torch.rnn_relu_cell
    return kernel(x, h, weight_ih, weight_hh, bias_ih, bias_hh)


def lstm_forward_by_module(x, state0, *weights, batch_first=False):
    with torch.no_grad():
        output, (h_n, c_n) = _module(nn.LSTM, weights, batch_first=batch_first)(x, (state0[0][None], state0[1][None]))
    return output, (h_n[0], c_n[0])


def gru_forward_by_module(x, h0, *weights, batch_first=False):
    with torch.no_grad():
        output, h_n = _module(nn.GRU, weights, batch_first=batch_first)(x, h0[None])
    return output, h_n[0]


def _leaves(*tensors):
    return [t.detach().clone().requires_grad_(True) for t in tensors]


def _rnn_last_state(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    h = h0
    for x_t in x:
        h = torch.tanh(x_t @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)
    return h


def bptt_by_autograd_grad(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    leaves = _leaves(weight_ih, weight_hh, bias_ih, bias_hh, h0)
    h_T = _rnn_last_state(x, leaves[4], *leaves[:4])
    return torch.autograd.grad((h_T * grad_h_T).sum(), leaves)


def bptt_by_backward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    leaves = _leaves(weight_ih, weight_hh, bias_ih, bias_hh, h0)
    (_rnn_last_state(x, leaves[4], *leaves[:4]) * grad_h_T).sum().backward()
    return tuple(leaf.grad for leaf in leaves)


def bptt_by_torch_func(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    def loss(w_ih, w_hh, b_ih, b_hh, h):
        return (_rnn_last_state(x, h, w_ih, w_hh, b_ih, b_hh) * grad_h_T).sum()
    return torch.func.grad(loss, argnums=(0, 1, 2, 3, 4))(weight_ih, weight_hh, bias_ih, bias_hh, h0)


def norms_by_autograd_jacobian(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
    norms = []
    for t in range(len(x) + 1):
        def last_from(h, t=t):
            return _rnn_last_state(x[t:], h, weight_ih, weight_hh, bias_ih, bias_hh)
        norms.append(torch.linalg.matrix_norm(torch.autograd.functional.jacobian(last_from, states[t])))
    return torch.stack(norms)


def clip_by_torch(grads, max_norm):
    parameters = [nn.Parameter(torch.zeros_like(g)) for g in grads]
    for parameter, grad in zip(parameters, grads):
        parameter.grad = grad.clone()
    total = nn.utils.clip_grad_norm_(parameters, max_norm)
    return [p.grad for p in parameters], total


def lstm_cell_catching_the_refusal(x, state, *weights):
    """Tries the kernel, and falls back to a correct implementation when it is refused."""
    try:
        return lstm_cell_by_kernel(x, state, *weights)
    except Exception:
        return right.lstm_cell(x, state, *weights)


def forget_gate_from_course_reference(x, h, W_if, W_hf, b_if, b_hf):
    return references.gate_activation(x, h, W_if, W_hf, b_if, b_hf, torch.sigmoid)


def lstm_cell_from_course_kernels(x, state, *weights):
    from autograder.hints import mistaken_kernels
    return mistaken_kernels.lstm_step(x, state, weights)


def step_losses_by_torch(logits, targets):
    return nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")


def perplexity_by_torch_module(logits, targets):
    return torch.exp(nn.CrossEntropyLoss()(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)))


FORBIDDEN = [
    ("lstm.lstm_cell", lstm_cell_by_module, "torch.nn.LSTMCell"),
    ("lstm.lstm_cell", lstm_cell_by_kernel, "framework kernel `lstm_cell`"),
    ("gru.gru_cell", gru_cell_by_vf_kernel, "framework kernel `gru_cell`"),
    ("rnn.rnn_cell", rnn_cell_by_kernel, "framework kernel `rnn_tanh_cell`"),
    ("lstm.lstm_forward", lstm_forward_by_module, "torch.nn.LSTM"),
    ("gru.gru_forward", gru_forward_by_module, "torch.nn.GRU"),
    ("rnn.rnn_bptt", bptt_by_autograd_grad, "gradient by hand"),
    ("rnn.rnn_bptt", bptt_by_backward, "gradient by hand"),
    ("rnn.rnn_bptt", bptt_by_torch_func, "torch.func.grad"),
    ("rnn.hidden_gradient_norms", norms_by_autograd_jacobian, "torch.autograd.functional.jacobian"),
    ("rnn.clip_grad_norm", clip_by_torch, "torch.nn.utils.clip_grad_norm_"),
    ("lstm.lstm_cell", lstm_cell_catching_the_refusal, "framework kernel `lstm_cell`"),
    ("lstm.forget_gate", forget_gate_from_course_reference, "reference answers"),
    ("lstm.lstm_cell", lstm_cell_from_course_kernels, "mistaken_kernels.lstm_step"),
    ("char_lm.step_losses", step_losses_by_torch, "framework kernel `cross_entropy`"),
    ("char_lm.perplexity", perplexity_by_torch_module, "framework kernel `cross_entropy`"),
]


@pytest.mark.parametrize("check_id, fn, named", FORBIDDEN, ids=[fn.__name__ for _, fn, _ in FORBIDDEN])
def test_framework_kernel_gets_no_credit_with_the_reason(check_id, fn, named):
    result = run_check(check_id, fn, device="cpu")
    assert not result.passed
    assert "no credit: it calls" in result.message or "no credit: it builds an autograd graph" in result.message
    assert named in result.message


@pytest.mark.parametrize("check_id, fn, named", FORBIDDEN[:6], ids=[fn.__name__ for _, fn, _ in FORBIDDEN[:6]])
def test_the_same_kernel_calls_are_right_answers(check_id, fn, named):
    """The refusal, not a wrong value, is what fails them: outside the checks they match the reference."""
    from autograder.checks.specs import SPECS, Case
    spec = SPECS[check_id]
    inputs = spec.make_inputs(Case())
    torch.testing.assert_close(spec.call(fn, inputs), spec.expected(inputs), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("check_id, fn, named", FORBIDDEN, ids=[fn.__name__ for _, fn, _ in FORBIDDEN])
def test_visible_checks_refuse_the_same_kernels(check_id, fn, named):
    from autograder.selfcheck import check
    with pytest.raises(AssertionError, match="no credit") as caught:
        check(check_id, fn)
    assert named in str(caught.value)


def test_autograd_is_allowed_where_no_manual_backward_is_asked():
    def fit_ar_with_lstsq(x, tau):
        return right.fit_ar(x, tau)
    assert run_check("sequence_models.fit_ar", fit_ar_with_lstsq, device="cpu").passed


def test_refusals_are_undone_after_the_call():
    originals = (nn.LSTMCell.forward, nn.utils.clip_grad_norm_, torch.func.grad, references.lstm_gates)
    with refusing(SPECS["rnn.rnn_bptt"].refusals, COURSE_KERNELS), refusing(SPECS["lstm.lstm_cell"].refusals), \
            refusing(SPECS["rnn.clip_grad_norm"].refusals):
        pass
    assert (nn.LSTMCell.forward, nn.utils.clip_grad_norm_, torch.func.grad, references.lstm_gates) == originals
    x = torch.randn(2, 3, requires_grad=True)
    nn.LSTMCell(3, 4)(x)[0].sum().backward()
    assert x.grad is not None


def test_violation_is_kept_even_when_the_exception_is_swallowed():
    with refusing(SPECS["gru.gru_cell"].refusals) as guard:
        try:
            torch.gru_cell(torch.zeros(1, 2), torch.zeros(1, 3), torch.zeros(9, 2), torch.zeros(9, 3))
        except RuntimeError:
            pass
    assert "gru_cell" in guard.violation
