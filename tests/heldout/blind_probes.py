"""Inputs built from each part's contract, and a comparison that tells a wrong implementation from the right one.

Written for the blind sets (issue 14) without reading the check code: the inputs follow the notebooks' texts
(shapes, dtypes, options, the edge cases the text allows) in the families the issue lists: ordinary cases in
float64 and float32, sizes of 1 in every dimension, batch == hidden, long sequences, pre-activations of about
+-50 and +-1e3, non-contiguous copies of every tensor, repeated calls with the same shapes and new values,
equal-but-not-identical strings, ill-conditioned series, Markov edge cases, tiny gradient norms. The char_lm
parts (added for blind_sealed2.py) get texts and ids at the vocabulary's edges, logits of about +-50 and +-1e3
or shifted by +-1e3, transposed views, chunks of 70 and 130 steps, parameters in a dict (walked for mutation),
temperatures 0, negative and tiny, repeated seeds; the trained model is judged by its contract (keys, shapes,
a validation perplexity of at most 7), not by equal values.

`first_difference(check_id, fn, right_fn)` runs both on every probe (in order, so state kept between calls
shows) and returns (probe label, what differs) for the first probe where the value, type, container, dtype,
shape, device, autograd history of a returned tensor (requires_grad), raised exception, input mutation, output
aliasing or (on the probes that ask for it) the autograd gradient differs; None when every probe agrees.
"""
import math

import torch

import reference_solutions as right
import reference_solutions_char_lm as right_char_lm
import reference_solutions_new_parts as right_new

CORRECT = {**right.BY_CHECK_ID, **right_new.BY_CHECK_ID, **right_char_lm.BY_CHECK_ID}
# Answers to questions: numbers count when within this much of the right one (the radius: as the text says).
ANSWER_TOLERANCE = {"rnn.smallest_nonvanishing_radius": 0.05, "lstm.answer_q2": 0.005, "char_lm.answer_q1": 0.005,
                    "char_lm.answer_q3": 0.005}  # "to two decimals"
NUMBER_TOLERANCE = 5e-5       # "to four decimals"
ADDING_GOAL_MSE = 0.02


class Probe:
    """A labelled input: `make()` returns fresh arguments (the same values on every call)."""

    def __init__(self, label, make, gradients=False, device="cpu"):
        self.label, self.make, self.gradients, self.device = label, make, gradients, device


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _randn(generator, *shape, dtype=torch.float64, scale=1.0):
    return torch.randn(*shape, generator=generator, dtype=torch.float64).mul(scale).to(dtype)


def non_contiguous(value):
    """The same values in a non-contiguous layout (a transposed copy seen through a transpose, or every other
    element of a doubled tensor for 1-D); containers are walked."""
    if isinstance(value, torch.Tensor):
        if value.dim() >= 2:
            order = list(range(value.dim()))[::-1]
            return value.permute(*order).contiguous().permute(*order)
        if value.dim() == 1:
            return torch.stack([value, value], dim=1)[:, 0]
        return value
    if isinstance(value, tuple):
        return tuple(non_contiguous(v) for v in value)
    if isinstance(value, list):
        return [non_contiguous(v) for v in value]
    if isinstance(value, dict):
        return {key: non_contiguous(v) for key, v in value.items()}
    return value


def to_device(value, device):
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, tuple):
        return tuple(to_device(v, device) for v in value)
    if isinstance(value, list):
        return [to_device(v, device) for v in value]
    if isinstance(value, dict):
        return {key: to_device(v, device) for key, v in value.items()}
    return value


# ----- weights of the recurrent parts -----

def _cell_weights(g, blocks, input_size, hidden, dtype, scale=1.0, forget_bias=None):
    weight_ih = _randn(g, blocks * hidden, input_size, dtype=dtype, scale=scale / math.sqrt(input_size))
    weight_hh = _randn(g, blocks * hidden, hidden, dtype=dtype, scale=scale / math.sqrt(hidden))
    bias_ih = _randn(g, blocks * hidden, dtype=dtype, scale=0.5 * scale)
    bias_hh = _randn(g, blocks * hidden, dtype=dtype, scale=0.5 * scale)
    if forget_bias is not None:
        bias_ih[hidden:2 * hidden] = forget_bias
    return weight_ih, weight_hh, bias_ih, bias_hh


def _orthogonal(g, n, dtype):
    q, _ = torch.linalg.qr(_randn(g, n, n))
    return q.to(dtype)


# Shapes (batch, input, hidden, T) of the recurrent probes.
ORDINARY = (3, 4, 5, 6)
SIZES = {"batch 1": (1, 4, 5, 4), "hidden 1": (3, 4, 1, 4), "input 1": (3, 1, 5, 4), "all sizes 1": (1, 1, 1, 1),
         "batch == hidden": (5, 3, 5, 4), "batch == time": (4, 3, 5, 4), "input == hidden": (3, 5, 5, 4)}
# Pre-activations of about +-50 and +-1e3: every weight and bias scaled.
EXTREME = {"pre-activations ~50": 25.0, "pre-activations ~1e3": 500.0}


def _recurrent_probes(build, long_build=None, gradients=False):
    """Probes of a recurrent part: build(generator, batch, input, hidden, T, dtype, scale) -> args."""
    probes = []
    for seed, dtype in ((0, torch.float64), (1, torch.float64), (2, torch.float32)):
        probes.append(Probe(f"ordinary {dtype} seed {seed}",
                            lambda s=seed, d=dtype: build(_gen(s), *ORDINARY, d, 1.0)))
    for label, sizes in SIZES.items():
        probes.append(Probe(label, lambda z=sizes: build(_gen(7), *z, torch.float64, 1.0)))
    for label, scale in EXTREME.items():
        for dtype in (torch.float64, torch.float32):
            probes.append(Probe(f"{label} {dtype}", lambda s=scale, d=dtype: build(_gen(11), *ORDINARY, d, s),
                                gradients=gradients and dtype == torch.float64))
    probes.append(Probe("non-contiguous", lambda: non_contiguous(build(_gen(13), *ORDINARY, torch.float64, 1.0))))
    probes.append(Probe("repeated shapes, new values", lambda: build(_gen(17), *ORDINARY, torch.float64, 1.0)))
    if long_build is not None:
        for T in (70, 130):
            probes.append(Probe(f"long T={T}", lambda t=T: long_build(_gen(19), 2, 3, 4, t, torch.float64)))
            probes.append(Probe(f"long T={T} float32", lambda t=T: long_build(_gen(23), 2, 3, 4, t, torch.float32)))
    probes.append(Probe("ordinary again", lambda: build(_gen(0), *ORDINARY, torch.float64, 1.0)))
    return probes


def _gate_args(g, batch, input_size, hidden, T, dtype, scale):
    x, h = _randn(g, batch, input_size, dtype=dtype), _randn(g, batch, hidden, dtype=dtype)
    W_x = _randn(g, hidden, input_size, dtype=dtype, scale=scale / math.sqrt(input_size))
    W_h = _randn(g, hidden, hidden, dtype=dtype, scale=scale / math.sqrt(hidden))
    return x, h, W_x, W_h, _randn(g, hidden, dtype=dtype, scale=scale), _randn(g, hidden, dtype=dtype, scale=scale)


def _gru_candidate_args(g, batch, input_size, hidden, T, dtype, scale):
    x, h, W_in, W_hn, b_in, b_hn = _gate_args(g, batch, input_size, hidden, T, dtype, scale)
    r = torch.rand(batch, hidden, generator=g, dtype=torch.float64).to(dtype)
    return x, h, r, W_in, W_hn, b_in, b_hn


def _elementwise_args(count):
    def build(g, batch, input_size, hidden, T, dtype, scale):
        first = _randn(g, batch, hidden, dtype=dtype, scale=scale)
        gates = [torch.rand(batch, hidden, generator=g, dtype=torch.float64).to(dtype) for _ in range(count - 2)]
        last = torch.tanh(_randn(g, batch, hidden, dtype=torch.float64)).to(dtype)
        return (first, *gates, last)
    return build


def _output_gate_args(g, batch, input_size, hidden, T, dtype, scale):
    x, h, W_io, W_ho, b_io, b_ho = _gate_args(g, batch, input_size, hidden, T, dtype, scale)
    c_next = _randn(g, batch, hidden, dtype=dtype, scale=2.0 * scale)
    return x, h, c_next, W_io, W_ho, b_io, b_ho


def _cell_args(blocks, with_c):
    def build(g, batch, input_size, hidden, T, dtype, scale):
        x, h = _randn(g, batch, input_size, dtype=dtype), _randn(g, batch, hidden, dtype=dtype)
        weights = _cell_weights(g, blocks, input_size, hidden, dtype, scale)
        if with_c:
            return (x, (h, _randn(g, batch, hidden, dtype=dtype)), *weights)
        return (x, h, *weights)
    return build


def _forward_args(blocks, with_c, batch_first):
    def build(g, batch, input_size, hidden, T, dtype, scale):
        shape = (batch, T, input_size) if batch_first else (T, batch, input_size)
        x = _randn(g, *shape, dtype=dtype)
        h0 = _randn(g, batch, hidden, dtype=dtype, scale=0.5)
        state0 = (h0, _randn(g, batch, hidden, dtype=dtype)) if with_c else h0
        return (x, state0, *_cell_weights(g, blocks, input_size, hidden, dtype, scale), batch_first)
    return build


def _long_forward_args(blocks, with_c, batch_first):
    def build(g, batch, input_size, hidden, T, dtype):
        args = list(_forward_args(blocks, with_c, batch_first)(g, batch, input_size, hidden, T, dtype, 1.0))
        weight_hh = torch.cat([_orthogonal(g, hidden, dtype) for _ in range(blocks)])
        args[3] = weight_hh
        if with_c:
            args[4][hidden:2 * hidden] = 4.0
        return tuple(args)
    return build


def _rnn_cell_probes():
    def build(option):
        def make(g, batch, input_size, hidden, T, dtype, scale):
            return (*_cell_args(1, False)(g, batch, input_size, hidden, T, dtype, scale), option)
        return make
    probes = _recurrent_probes(build("tanh"), gradients=True)
    probes += _recurrent_probes(build("relu"))[:4]
    built = {"tanh built at run time": "".join(["ta", "nh"]), "relu built at run time": "".join(["re", "lu"]),
             "TANH": "TANH", "Relu": "Relu", "sigmoid": "sigmoid", "empty option": ""}
    for label, option in built.items():
        probes.append(Probe(label, lambda o=option: (*_cell_args(1, False)(_gen(29), *ORDINARY, torch.float64, 1.0),
                                                    o)))
    return probes


def _rnn_bptt_args(g, batch, input_size, hidden, T, dtype, scale):
    x, h0, weight_ih, weight_hh, bias_ih, bias_hh, _ = _forward_args(1, False, False)(
        g, batch, input_size, hidden, T, dtype, scale)
    return x, h0, weight_ih, weight_hh, bias_ih, bias_hh, _randn(g, batch, hidden, dtype=dtype)


def _rnn_bptt_long(g, batch, input_size, hidden, T, dtype):
    x, h0, weight_ih, _, bias_ih, bias_hh, grad = _rnn_bptt_args(g, batch, input_size, hidden, T, dtype, 0.1)
    return x * 0.1, h0 * 0.1, weight_ih, _orthogonal(g, hidden, dtype), bias_ih * 0, bias_hh * 0, grad


def _hidden_norm_args(g, batch, input_size, hidden, T, dtype, scale):
    x = _randn(g, T, input_size, dtype=dtype)
    h0 = _randn(g, hidden, dtype=dtype, scale=0.5)
    return (x, h0, *_cell_weights(g, 1, input_size, hidden, dtype, scale))


def _hidden_norm_long(g, batch, input_size, hidden, T, dtype):
    x, h0, weight_ih, _, bias_ih, bias_hh = _hidden_norm_args(g, 1, input_size, hidden, T, dtype, 0.1)
    return x * 0.1, h0 * 0.1, weight_ih, _orthogonal(g, hidden, dtype) * 1.02, bias_ih * 0, bias_hh * 0


def _lstm_backward_args(g, batch, input_size, hidden, T, dtype, scale):
    x, state, *weights = _cell_args(4, True)(g, batch, input_size, hidden, T, dtype, scale)
    return (x, state, *weights, _randn(g, batch, hidden, dtype=dtype), _randn(g, batch, hidden, dtype=dtype))


def _lstm_bptt_args(g, batch, input_size, hidden, T, dtype, scale):
    x, state0, *weights, _ = _forward_args(4, True, False)(g, batch, input_size, hidden, T, dtype, scale)
    return (x, state0, *weights, _randn(g, batch, hidden, dtype=dtype), _randn(g, batch, hidden, dtype=dtype))


def _lstm_bptt_long(g, batch, input_size, hidden, T, dtype):
    x, state0, *weights, _ = _long_forward_args(4, True, False)(g, batch, input_size, hidden, T, dtype)
    return (x, state0, *weights, _randn(g, batch, hidden, dtype=dtype), _randn(g, batch, hidden, dtype=dtype))


def _gru_backward_args(g, batch, input_size, hidden, T, dtype, scale):
    return (*_cell_args(3, False)(g, batch, input_size, hidden, T, dtype, scale),
            _randn(g, batch, hidden, dtype=dtype))


def _forward_probes(blocks, with_c):
    probes = []
    for batch_first in (False, True):
        for probe in _recurrent_probes(_forward_args(blocks, with_c, batch_first),
                                       _long_forward_args(blocks, with_c, batch_first)):
            probe.label += f", batch_first={batch_first}"
            probes.append(probe)
    return probes


# ----- sequence models -----

def _series(seed, T, dtype=torch.float64):
    g = _gen(seed)
    t = torch.arange(T, dtype=torch.float64)
    return (torch.sin(0.3 * t) + 0.1 * torch.randn(T, generator=g, dtype=torch.float64)).to(dtype)


def _ill_conditioned_series(T, dtype=torch.float64):
    """A slowly varying series far from zero: the columns of [X, 1] are nearly collinear."""
    t = torch.arange(T, dtype=torch.float64)
    return (1000.0 + 1e-3 * t + 1e-6 * torch.sin(1.7 * t)).to(dtype)


def _design_probes():
    probes = []
    for T, tau in ((12, 3), (12, 1), (12, 11), (2, 1), (70, 5), (12, 0), (12, 12), (12, 13), (12, -1)):
        for dtype in (torch.float64, torch.float32):
            probes.append(Probe(f"T={T} tau={tau} {dtype}", lambda T=T, tau=tau, d=dtype: (_series(T, T, d), tau)))
    probes.append(Probe("strided series", lambda: (_series(3, 24)[::2], 3)))
    probes.append(Probe("non-contiguous series", lambda: (non_contiguous(_series(4, 12)), 3)))
    probes.append(Probe("ill-conditioned series", lambda: (_ill_conditioned_series(40), 3)))
    probes.append(Probe("ill-conditioned series float32", lambda: (_ill_conditioned_series(40, torch.float32), 2)))
    probes.append(Probe("repeated shapes", lambda: (_series(99, 12), 3)))
    return probes


def _predict_args(seed, T, tau, k, dtype=torch.float64):
    g = _gen(seed)
    history = _series(seed, T, dtype)
    w = _randn(g, tau, dtype=dtype, scale=0.4)
    b = _randn(g, 1, dtype=dtype, scale=0.1)[0]
    return history, w, b, k


def _predict_probes():
    probes = []
    for T, tau, k in ((10, 3, 5), (10, 3, 1), (3, 3, 4), (10, 1, 3), (10, 3, 70), (10, 2, 130)):
        for dtype in (torch.float64, torch.float32):
            probes.append(Probe(f"T={T} tau={tau} k={k} {dtype}", lambda T=T, tau=tau, k=k, d=dtype:
                                _predict_args(T + tau, T, tau, k, d)))
    probes.append(Probe("non-contiguous", lambda: non_contiguous(_predict_args(5, 10, 3, 5))))
    return probes


def _states(seed, T, K, highest_missing=0):
    g = _gen(seed)
    return torch.randint(0, K - highest_missing, (T,), generator=g)


def _transition_probes():
    cases = {"ordinary": lambda: (_states(0, 40, 4), 4), "again": lambda: (_states(1, 40, 4), 4),
             "repeats": lambda: (torch.tensor([0, 1, 0, 1, 0, 1, 2]), 3),
             "highest states never occur": lambda: (_states(2, 30, 6, highest_missing=2), 6),
             "last state never left": lambda: (torch.tensor([0, 1, 0, 1, 2]), 3),
             "one symbol": lambda: (torch.tensor([2]), 4), "K = 1": lambda: (torch.zeros(5, dtype=torch.long), 1),
             "long": lambda: (_states(3, 1200, 5), 5), "strided": lambda: (_states(4, 80, 4)[::2], 4)}
    return [Probe(label, make) for label, make in cases.items()]


def _markov_args(seed, T, K, zero=False):
    g = _gen(seed)
    A = torch.softmax(_randn(g, K, K), dim=1)
    p0 = torch.softmax(_randn(g, K), dim=0)
    states = torch.randint(0, K, (T,), generator=g)
    if zero:
        A[states[0], states[1]] = 0.0
        A = A / A.sum(dim=1, keepdim=True)
    return states, A, p0


def _markov_probes():
    cases = {"ordinary": lambda: _markov_args(0, 20, 4), "again": lambda: _markov_args(1, 20, 4),
             "one symbol": lambda: _markov_args(2, 1, 3), "two symbols": lambda: _markov_args(3, 2, 3),
             "long (1200 steps)": lambda: _markov_args(4, 1200, 5),
             "impossible transition": lambda: _markov_args(5, 10, 3, zero=True),
             "float32": lambda: tuple(v.float() if v.is_floating_point() else v for v in _markov_args(6, 20, 4)),
             "non-contiguous": lambda: non_contiguous(_markov_args(7, 20, 4))}
    return [Probe(label, make) for label, make in cases.items()]


def _latent_args(g, batch, input_size, hidden, T, dtype, scale):
    return (_randn(g, batch, hidden, dtype=dtype), _randn(g, batch, input_size, dtype=dtype),
            _randn(g, hidden, hidden, dtype=dtype, scale=scale), _randn(g, hidden, input_size, dtype=dtype, scale=scale))


def _grads(seed, shapes, dtype=torch.float64, scale=1.0):
    g = _gen(seed)
    return [_randn(g, *shape, dtype=dtype, scale=scale) for shape in shapes]


def _clip_probes():
    shapes = [(3, 4), (5,), (2, 2)]
    cases = {"clipped": lambda: (_grads(0, shapes), 1.0), "not clipped": lambda: (_grads(1, shapes), 100.0),
             "float32": lambda: (_grads(2, shapes, torch.float32), 0.5),
             "one tensor": lambda: ([_grads(3, [(4, 4)])[0]], 1.0),
             "tiny gradients": lambda: (_grads(4, shapes, scale=1e-7), 1e-6),
             "tiny gradients, norm just below max_norm": lambda: (_grads(5, [(1,)], scale=0) + [torch.tensor(
                 [4e-7], dtype=torch.float64)], 5e-7),
             "norm equals max_norm": lambda: ([torch.tensor([3.0, 4.0], dtype=torch.float64)], 5.0),
             "zero gradients": lambda: (_grads(10, shapes, scale=0.0), 1.0),
             "huge gradients": lambda: (_grads(6, shapes, scale=1e150), 1.0),
             "non-contiguous": lambda: (non_contiguous(_grads(7, shapes)), 1.0),
             "0-dim gradient": lambda: ([torch.tensor(2.0, dtype=torch.float64)] + _grads(8, [(3,)]), 1.0),
             "integer max_norm": lambda: (_grads(9, shapes), 1)}
    return [Probe(label, make) for label, make in cases.items()]


# ----- character-level language model -----

VOCABULARY_SIZE = len(right_char_lm.VOCABULARY)


def _text(start, length):
    return right_char_lm.split_text("validation")[start:start + length]


def _encode_probes():
    vocabulary = right_char_lm.VOCABULARY
    cases = {"ordinary": lambda: ("Hello, world!\n  x = f(1)",),
             "again, same length": lambda: ("Howdy, earth!\n  y = g(2)",),
             "every character": lambda: (vocabulary,), "every character, reversed": lambda: (vocabulary[::-1],),
             "one character": lambda: ("a",), "newline only": lambda: ("\n",), "empty text": lambda: ("",),
             "non-ASCII characters": lambda: ("\u00b0\u00df\u2013\u2014\u2018\u2019\u201c\u201d\u2026",),
             "built at run time": lambda: ("".join(["def ", "f(x):\n", "    return x"]),),
             "a tab (not in the vocabulary)": lambda: ("abc\tdef",),
             "a non-ASCII letter not in the vocabulary": lambda: ("na\u00efve",),
             "long text": lambda: (_text(0, 5000),), "long text, same length": lambda: (_text(5000, 5000),)}
    return [Probe(label, make) for label, make in cases.items()]


def _decode_probes():
    def ids(*values):
        return torch.tensor(values, dtype=torch.int64)
    cases = {"ordinary": lambda: (ids(40, 69, 76, 76, 79, 0, 1),),
             "again, same length": lambda: (ids(5, 6, 7, 8, 9, 10, 11),),
             "every id": lambda: (torch.arange(VOCABULARY_SIZE),), "one id": lambda: (ids(50),),
             "id 0 only": lambda: (ids(0),), "empty": lambda: (torch.zeros(0, dtype=torch.int64),),
             "last id": lambda: (ids(3, VOCABULARY_SIZE - 1),),
             "id == vocabulary size": lambda: (ids(3, VOCABULARY_SIZE),),
             "negative id": lambda: (ids(3, -1, 4),), "very negative id": lambda: (ids(-VOCABULARY_SIZE),),
             "strided ids": lambda: (torch.randint(0, VOCABULARY_SIZE, (40,), generator=_gen(43))[::2],),
             "long": lambda: (torch.randint(0, VOCABULARY_SIZE, (5000,), generator=_gen(41)),)}
    return [Probe(label, make) for label, make in cases.items()]


def _logits_args(g, batch, steps, dtype, scale, transposed=False):
    logits = _randn(g, steps, batch, VOCABULARY_SIZE, dtype=dtype, scale=scale)
    targets = torch.randint(0, VOCABULARY_SIZE, (steps, batch), generator=g)
    if transposed:  # (batch, steps, V) seen through a transpose of a time-first tensor
        return logits.transpose(0, 1), targets.transpose(0, 1)
    return logits.transpose(0, 1).contiguous(), targets.transpose(0, 1).contiguous()


def _logits_probes():
    probes = []
    for seed, dtype in ((0, torch.float64), (1, torch.float64), (2, torch.float32)):
        probes.append(Probe(f"ordinary {dtype} seed {seed}",
                            lambda s=seed, d=dtype: _logits_args(_gen(s), 3, 6, d, 1.0)))
    for label, (batch, steps) in {"batch 1": (1, 5), "steps 1": (3, 1), "batch 1, steps 1": (1, 1),
                                  "batch == steps": (4, 4)}.items():
        probes.append(Probe(label, lambda b=batch, t=steps: _logits_args(_gen(7), b, t, torch.float64, 1.0)))
    for label, scale in {"logits ~50": 50.0, "logits ~1e3": 1000.0}.items():
        for dtype in (torch.float64, torch.float32):
            probes.append(Probe(f"{label} {dtype}", lambda s=scale, d=dtype: _logits_args(_gen(11), 3, 6, d, s),
                                gradients=dtype == torch.float64))
    for shift in (1000.0, -1000.0):  # softmax and the losses ignore a common shift; exp does not
        probes.append(Probe(f"logits shifted by {shift:+g}", lambda s=shift: tuple(
            (v + s if v.is_floating_point() else v) for v in _logits_args(_gen(12), 3, 6, torch.float64, 1.0))))
    probes.append(Probe("transposed view", lambda: _logits_args(_gen(13), 3, 6, torch.float64, 1.0, transposed=True)))
    probes.append(Probe("non-contiguous", lambda: non_contiguous(_logits_args(_gen(14), 3, 6, torch.float64, 1.0))))
    probes.append(Probe("repeated shapes, new values", lambda: _logits_args(_gen(17), 3, 6, torch.float64, 1.0)))
    for steps in (70, 130):
        probes.append(Probe(f"long steps={steps}", lambda t=steps: _logits_args(_gen(19), 2, t, torch.float64, 3.0)))
    probes.append(Probe("ordinary again", lambda: _logits_args(_gen(0), 3, 6, torch.float64, 1.0)))
    return probes


def _language_model_parameters(g, hidden, dtype, scale=1.0):
    return {"weight_ih": _randn(g, hidden, VOCABULARY_SIZE, dtype=dtype, scale=0.5 * scale),
            "weight_hh": _randn(g, hidden, hidden, dtype=dtype, scale=scale / math.sqrt(hidden)),
            "bias_ih": _randn(g, hidden, dtype=dtype, scale=0.1), "bias_hh": _randn(g, hidden, dtype=dtype, scale=0.1),
            "weight_hy": _randn(g, VOCABULARY_SIZE, hidden, dtype=dtype, scale=0.5),
            "bias_y": _randn(g, VOCABULARY_SIZE, dtype=dtype, scale=0.1)}


def _tbptt_args(seed, batch, steps, hidden, dtype=torch.float64, learning_rate=0.5, max_norm=1.0, scale=1.0):
    g = _gen(seed)
    ids = torch.randint(0, VOCABULARY_SIZE, (batch, steps), generator=g)
    targets = torch.randint(0, VOCABULARY_SIZE, (batch, steps), generator=g)
    h = _randn(g, batch, hidden, dtype=dtype, scale=0.5)
    return ids, targets, h, _language_model_parameters(g, hidden, dtype, scale), learning_rate, max_norm


def _tbptt_probes():
    cases = {"ordinary float64": lambda: _tbptt_args(0, 3, 6, 5),
             "ordinary float64, again": lambda: _tbptt_args(1, 3, 6, 5),
             "float32": lambda: _tbptt_args(2, 3, 6, 5, torch.float32),
             "clipped hard (max_norm 1e-3)": lambda: _tbptt_args(3, 3, 6, 5, max_norm=1e-3),
             "not clipped (max_norm 1e6)": lambda: _tbptt_args(4, 3, 6, 5, max_norm=1e6),
             "batch 1": lambda: _tbptt_args(5, 1, 6, 5), "steps 1": lambda: _tbptt_args(6, 3, 1, 5),
             "hidden 1": lambda: _tbptt_args(7, 3, 6, 1), "batch 1, steps 1, hidden 1": lambda: _tbptt_args(8, 1, 1, 1),
             "batch == hidden == steps": lambda: _tbptt_args(9, 4, 4, 4),
             "large weights": lambda: _tbptt_args(10, 3, 6, 5, scale=20.0),
             "non-contiguous": lambda: non_contiguous(_tbptt_args(11, 3, 6, 5)),
             "repeated shapes, new values": lambda: _tbptt_args(12, 3, 6, 5),
             "long steps=70": lambda: _tbptt_args(13, 2, 70, 4, max_norm=1e6),
             "long steps=130": lambda: _tbptt_args(14, 2, 130, 4, max_norm=1e6),
             "ordinary again": lambda: _tbptt_args(0, 3, 6, 5)}
    return [Probe(label, make) for label, make in cases.items()]


def _sample_args(seed, batch, temperature, num_samples, dtype=torch.float64, scale=2.0, draw_seed=0):
    return _randn(_gen(seed), batch, VOCABULARY_SIZE, dtype=dtype, scale=scale), temperature, num_samples, draw_seed


def _sample_probes():
    cases = {"temperature 1": lambda: _sample_args(0, 3, 1.0, 50),
             "temperature 1, same seed again": lambda: _sample_args(0, 3, 1.0, 50),
             "temperature 0.5": lambda: _sample_args(1, 3, 0.5, 50, draw_seed=5),
             "temperature 2": lambda: _sample_args(2, 3, 2.0, 50, draw_seed=6),
             "temperature 0 (greedy)": lambda: _sample_args(3, 3, 0.0, 20),
             "temperature 0 as an int": lambda: _sample_args(4, 3, 0, 20),
             "temperature 1 as an int": lambda: _sample_args(5, 3, 1, 20, draw_seed=7),
             "negative temperature": lambda: _sample_args(6, 3, -0.5, 20),
             "tiny temperature": lambda: _sample_args(7, 3, 1e-3, 20),
             "batch 1": lambda: _sample_args(8, 1, 1.0, 30, draw_seed=8),
             "one sample": lambda: _sample_args(9, 3, 1.0, 1, draw_seed=9),
             "batch 1, one sample": lambda: _sample_args(10, 1, 1.0, 1, draw_seed=10),
             "float32": lambda: _sample_args(11, 3, 1.0, 50, torch.float32, draw_seed=11),
             "logits ~1e3": lambda: _sample_args(12, 3, 1.0, 50, scale=1000.0, draw_seed=12),
             "logits ~50, temperature 0.1": lambda: _sample_args(13, 3, 0.1, 50, scale=50.0, draw_seed=13),
             "non-contiguous": lambda: non_contiguous(_sample_args(14, 3, 1.0, 50, draw_seed=14)),
             "4000 draws": lambda: _sample_args(15, 2, 1.0, 4000, draw_seed=15),
             "more draws than characters": lambda: _sample_args(16, 2, 1.0, 300, scale=0.0, draw_seed=16)}
    return [Probe(label, make) for label, make in cases.items()]


LANGUAGE_MODEL_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hy", "bias_y")
LANGUAGE_MODEL_GOAL = 7.0
LANGUAGE_MODEL_MAX_HIDDEN = 256


def language_model_perplexity(parameters, characters=20000, streams=20):
    """Perplexity of the parameters on the start of the validation text, run with PyTorch's equations of the
    cell their number of blocks names, from a zero state in every stream."""
    p = {name: value.detach().double() for name, value in parameters.items()}
    hidden = p["weight_hh"].shape[1]
    blocks = p["weight_hh"].shape[0] // hidden
    ids = right_char_lm.encode(_text(0, characters + streams)).reshape(streams, -1)
    inputs, targets = ids[:, :-1], ids[:, 1:]
    h = c = torch.zeros(streams, hidden, dtype=torch.float64)
    states = []
    with torch.no_grad():
        for t in range(inputs.shape[1]):
            pre_x = p["weight_ih"].T[inputs[:, t]] + p["bias_ih"]
            pre_h = h @ p["weight_hh"].T + p["bias_hh"]
            if blocks == 1:
                h = torch.tanh(pre_x + pre_h)
            elif blocks == 3:
                (x_r, x_z, x_n), (h_r, h_z, h_n) = pre_x.chunk(3, dim=1), pre_h.chunk(3, dim=1)
                r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
                h = (1 - z) * torch.tanh(x_n + r * h_n) + z * h
            else:
                i, f, g, o = (pre_x + pre_h).chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            states.append(h)
        logits = torch.stack(states, dim=1) @ p["weight_hy"].T + p["bias_y"]
        return right_char_lm.perplexity(logits, targets).item()


def compare_language_model(got):
    """The contract of part 7: a dict of the table's keys and shapes for G = 1, 3 or 4 blocks and H <= 256,
    floating tensors, and a perplexity on held text well below the bigram model's."""
    if type(got) is not dict or set(got) != set(LANGUAGE_MODEL_KEYS):
        return f"not a dict with keys {sorted(LANGUAGE_MODEL_KEYS)}"
    if not all(isinstance(got[name], torch.Tensor) and got[name].is_floating_point() for name in got):
        return "not a dict of floating tensors"
    if got["weight_hh"].dim() != 2:
        return "weight_hh: not a matrix"
    hidden = got["weight_hh"].shape[1]
    blocks = got["weight_hh"].shape[0] // hidden if hidden else 0
    if blocks not in (1, 3, 4) or hidden > LANGUAGE_MODEL_MAX_HIDDEN:
        return (f"weight_hh: shape {tuple(got['weight_hh'].shape)} names no cell of at most "
                f"{LANGUAGE_MODEL_MAX_HIDDEN} units")
    shapes = {"weight_ih": (blocks * hidden, VOCABULARY_SIZE), "weight_hh": (blocks * hidden, hidden),
              "bias_ih": (blocks * hidden,), "bias_hh": (blocks * hidden,), "weight_hy": (VOCABULARY_SIZE, hidden),
              "bias_y": (VOCABULARY_SIZE,)}
    for name, shape in shapes.items():
        if tuple(got[name].shape) != shape:
            return f"{name}: shape {tuple(got[name].shape)}, expected {shape}"
    found = language_model_perplexity(got)
    return None if found <= LANGUAGE_MODEL_GOAL else f"validation perplexity {found:.2f} > {LANGUAGE_MODEL_GOAL}"


def _no_arguments():
    return [Probe("call", lambda: ()), Probe("second call", lambda: ())]


def probes(check_id, device="cpu"):
    """Every probe of `check_id`, on `device` (the meta device and CUDA serve entries that forget device=)."""
    table = {
        "sequence_models.ar_design_matrix": _design_probes,
        "sequence_models.fit_ar": lambda: [p for p in _design_probes() if "T=2 " not in p.label],
        "sequence_models.predict_ahead": _predict_probes,
        "sequence_models.transition_matrix": _transition_probes,
        "sequence_models.markov_log_likelihood": _markov_probes,
        "sequence_models.latent_update": lambda: _recurrent_probes(_latent_args),
        "rnn.rnn_cell": _rnn_cell_probes,
        "rnn.rnn_forward": lambda: _forward_probes(1, False),
        "rnn.rnn_bptt": lambda: _recurrent_probes(_rnn_bptt_args, _rnn_bptt_long),
        "rnn.hidden_gradient_norms": lambda: _recurrent_probes(_hidden_norm_args, _hidden_norm_long),
        "rnn.clip_grad_norm": _clip_probes,
        "lstm.forget_gate": lambda: _recurrent_probes(_gate_args, gradients=True),
        "lstm.input_gate": lambda: _recurrent_probes(_gate_args, gradients=True),
        "lstm.candidate": lambda: _recurrent_probes(_gate_args, gradients=True),
        "lstm.cell_update": lambda: _recurrent_probes(_elementwise_args(4)),
        "lstm.output_gate_and_hidden": lambda: _recurrent_probes(_output_gate_args, gradients=True),
        "lstm.lstm_cell": lambda: _recurrent_probes(_cell_args(4, True), gradients=True),
        "lstm.lstm_forward": lambda: _forward_probes(4, True),
        "lstm.lstm_step_backward": lambda: _recurrent_probes(_lstm_backward_args),
        "lstm.lstm_bptt": lambda: _recurrent_probes(_lstm_bptt_args, _lstm_bptt_long),
        "gru.reset_gate": lambda: _recurrent_probes(_gate_args, gradients=True),
        "gru.update_gate": lambda: _recurrent_probes(_gate_args, gradients=True),
        "gru.gru_candidate": lambda: _recurrent_probes(_gru_candidate_args, gradients=True),
        "gru.gru_hidden_update": lambda: _recurrent_probes(_elementwise_args(3)),
        "gru.gru_cell": lambda: _recurrent_probes(_cell_args(3, False), gradients=True),
        "gru.gru_forward": lambda: _forward_probes(3, False),
        "gru.gru_step_backward": lambda: _recurrent_probes(_gru_backward_args),
        "char_lm.encode": _encode_probes,
        "char_lm.decode": _decode_probes,
        "char_lm.step_losses": _logits_probes,
        "char_lm.perplexity": _logits_probes,
        "char_lm.tbptt_chunk": _tbptt_probes,
        "char_lm.sample_characters": _sample_probes,
    }
    if check_id in ("lstm.lstm_param_count", "gru.parameter_counts"):
        found = [Probe(f"sizes {i}, {h}", lambda i=i, h=h: (i, h)) for i, h in ((3, 5), (1, 1), (10, 20), (7, 2))]
    elif check_id in table:
        found = table[check_id]()
    else:
        found = _no_arguments()
    if device != "cpu":
        found = [Probe(f"{p.label} on {device}", lambda m=p.make: to_device(m(), device), p.gradients, device)
                 for p in found]
    return found


# ----- comparing two results -----

def _close(got, expected):
    """None when the tensors agree (NaN and inf where the other has them), else why not."""
    if got.shape != expected.shape:
        return f"shape {tuple(got.shape)} != {tuple(expected.shape)}"
    if got.dtype != expected.dtype:
        return f"dtype {got.dtype} != {expected.dtype}"
    if got.device != expected.device:
        return f"device {got.device} != {expected.device}"
    if got.device.type == "meta" or got.numel() == 0:
        return None
    if not (got.is_floating_point() or got.is_complex()):
        return None if torch.equal(got, expected) else "integer values differ"
    got64, expected64 = got.detach().double().cpu(), expected.detach().double().cpu()
    if not torch.equal(torch.isnan(got64), torch.isnan(expected64)):
        return "NaN where the other has none"
    finite = torch.isfinite(expected64) & torch.isfinite(got64)
    if not torch.equal(got64[~finite].nan_to_num(), expected64[~finite].nan_to_num()):
        return "infinities differ"
    if finite.any():
        relative = 1e-8 if got.dtype == torch.float64 else 2e-5
        scale = max(expected64[finite].abs().max().item(), 1.0)
        error = (got64[finite] - expected64[finite]).abs().max().item()
        if error > relative * scale:
            return f"values differ by {error:.3g} (scale {scale:.3g})"
    return None


def compare(got, expected, path="result"):
    """None when `got` is `expected` in type, container and value; else where and how it differs."""
    if type(got) is not type(expected) and not (isinstance(got, torch.Tensor) and isinstance(expected, torch.Tensor)):
        return f"{path}: type {type(got).__name__} != {type(expected).__name__}"
    if isinstance(expected, torch.Tensor):
        found = _close(got, expected)
        return f"{path}: {found}" if found else None
    if isinstance(expected, (tuple, list)):
        if len(got) != len(expected):
            return f"{path}: length {len(got)} != {len(expected)}"
        for k, (a, b) in enumerate(zip(got, expected)):
            found = compare(a, b, f"{path}[{k}]")
            if found:
                return found
        return None
    if isinstance(expected, dict):
        if set(got) != set(expected):
            return f"{path}: keys {sorted(got)} != {sorted(expected)}"
        for key in expected:
            found = compare(got[key], expected[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(expected, float):
        if math.isnan(expected) != math.isnan(got) or abs(got - expected) > 1e-12 * max(1.0, abs(expected)):
            return f"{path}: {got!r} != {expected!r}"
        return None
    return None if got == expected else f"{path}: {got!r} != {expected!r}"


def grad_history_difference(got, expected):
    """Where a returned tensor carries autograd history (requires_grad) and the right one does not, or the
    reverse: a state returned without detaching it."""
    for (path, a), (_, b) in zip(_tensors(got), _tensors(expected)):
        if a.requires_grad != b.requires_grad:
            return f"{path}: requires_grad {a.requires_grad} != {b.requires_grad}"
    return None


def _tensors(value, path="result"):
    """(path, tensor) for every tensor inside value."""
    if isinstance(value, torch.Tensor):
        return [(path, value)]
    if isinstance(value, (tuple, list)):
        return [pair for k, item in enumerate(value) for pair in _tensors(item, f"{path}[{k}]")]
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in _tensors(item, f"{path}[{key!r}]")]
    return []


def _span(tensor):
    if tensor.numel() == 0 or tensor.device.type == "meta":
        return None
    size = tensor.element_size()
    extent = sum((n - 1) * abs(s) for n, s in zip(tensor.shape, tensor.stride())) * size + size
    start = tensor.data_ptr()
    return tensor.untyped_storage().data_ptr(), start, start + extent


def _overlaps(a, b):
    span_a, span_b = _span(a), _span(b)
    return bool(span_a and span_b and span_a[0] == span_b[0] and span_a[1] < span_b[2] and span_b[1] < span_a[2])


def aliasing(result, args):
    """The set of (output path, output or input path) pairs that share memory."""
    outputs, inputs = _tensors(result), _tensors(args, "args")
    pairs = {(p, q) for i, (p, a) in enumerate(outputs) for q, b in outputs[i + 1:] if _overlaps(a, b)}
    return pairs | {(p, q) for p, a in outputs for q, b in inputs if _overlaps(a, b)}


def _snapshot(args):
    return [(path, tensor.detach().clone()) for path, tensor in _tensors(args, "args")]


def _mutated(args, snapshot):
    current = dict(_tensors(args, "args"))
    return sorted(path for path, before in snapshot if _close(current[path], before))


def _call(fn, args):
    try:
        return fn(*args), None
    except Exception as error:  # any raise is a result to compare
        return None, error


def _gradients(fn, args):
    """Gradients of a fixed weighted sum of the outputs with respect to every floating input (None: unavailable)."""
    leaves = [tensor.detach().clone().requires_grad_(True) if tensor.is_floating_point() else tensor
              for _, tensor in _tensors(args, "args")]
    rebuilt, queue = [], iter(leaves)

    def rebuild(value):
        if isinstance(value, torch.Tensor):
            return next(queue)
        if isinstance(value, tuple):
            return tuple(rebuild(v) for v in value)
        if isinstance(value, list):
            return [rebuild(v) for v in value]
        return value
    rebuilt = [rebuild(a) for a in args]
    try:
        result = fn(*rebuilt)
        outputs = [t for _, t in _tensors(result) if t.requires_grad]
        if not outputs:
            return None
        total = sum((t * torch.linspace(0.5, 1.5, t.numel(), dtype=t.dtype).reshape(t.shape)).sum() for t in outputs)
        wanted = [leaf for leaf in leaves if isinstance(leaf, torch.Tensor) and leaf.requires_grad]
        return list(torch.autograd.grad(total, wanted, allow_unused=True))
    except Exception as error:
        return error


def difference_on(probe, fn, right_fn, check_id):
    """What differs between fn and right_fn on one probe, or None."""
    args_right, args_fn = probe.make(), probe.make()
    snapshot_right, snapshot_fn = _snapshot(args_right), _snapshot(args_fn)
    expected, expected_error = _call(right_fn, args_right)
    got, error = _call(fn, args_fn)
    if expected_error is not None and probe.device == "meta":
        return None  # the correct solution has no meta kernel here: nothing to learn
    if (error is None) != (expected_error is None):
        return f"raised {error!r}" if error is not None else f"did not raise {type(expected_error).__name__}"
    if error is not None:
        return None if type(error) is type(expected_error) else f"raised {type(error).__name__}, expected " \
                                                                   f"{type(expected_error).__name__}"
    if check_id in ANSWER_CHECKS:
        return compare_answer(check_id, got, expected)
    if check_id == "lstm.adding_parameters":
        return compare_adding(got, expected)
    if check_id == "char_lm.language_model_parameters":
        return compare_language_model(got)
    found = compare(got, expected) or grad_history_difference(got, expected)
    if found:
        return found
    mutated = set(_mutated(args_fn, snapshot_fn)) - set(_mutated(args_right, snapshot_right))
    if mutated:
        return f"changed its inputs: {sorted(mutated)}"
    extra = aliasing(got, args_fn) - aliasing(expected, args_right)
    if check_id == "sequence_models.ar_design_matrix":  # Tensor.unfold (suggested by the text) returns a view
        extra = set()
    if extra:
        return f"shares memory: {sorted(extra)}"
    if probe.gradients:
        grads_right, grads_fn = _gradients(right_fn, probe.make()), _gradients(fn, probe.make())
        if isinstance(grads_right, list) and isinstance(grads_fn, list):
            for k, (a, b) in enumerate(zip(grads_fn, grads_right)):
                if a is not None and b is not None and _close(a, b):
                    return f"gradient of input {k}: {_close(a, b)}"
        elif isinstance(grads_right, list) and isinstance(grads_fn, Exception):
            return f"backward raised {grads_fn!r}"
    return None


ANSWER_CHECKS = {"sequence_models.answer_q1", "sequence_models.answer_q2", "rnn.answer_q1", "rnn.answer_q2",
                 "lstm.answer_q1", "lstm.answer_q2", "gru.answer_q1", "gru.answer_q2",
                 "char_lm.answer_q1", "char_lm.answer_q2", "char_lm.answer_q3", "rnn.smallest_nonvanishing_radius"}


def compare_answer(check_id, got, expected):
    if type(got) is not type(expected):
        return f"type {type(got).__name__} != {type(expected).__name__}"
    if isinstance(expected, float):
        tolerance = ANSWER_TOLERANCE.get(check_id, NUMBER_TOLERANCE)
        return None if abs(got - expected) <= tolerance + 1e-12 else f"{got!r} is not within {tolerance} of {expected!r}"
    return None if got == expected else f"{got!r} != {expected!r}"


def adding_mse(parameters, sequences=1000, seed=20261206):
    """The mean squared error of the parameters on fresh adding sequences, through the notebook's LSTM."""
    from rnn_demos.long_range import make_adding_batch
    generator = torch.Generator().manual_seed(seed)
    inputs, targets = make_adding_batch(sequences, right_new.ADDING_LENGTH, generator)
    hidden = parameters["weight_hh"].shape[1]
    h = c = torch.zeros(sequences, hidden, dtype=parameters["weight_hh"].dtype)
    with torch.no_grad():
        for t in range(inputs.shape[1]):
            h, c = right.lstm_cell(inputs[:, t].to(h.dtype), (h, c), parameters["weight_ih"],
                                   parameters["weight_hh"], parameters["bias_ih"], parameters["bias_hh"])
        predictions = (h @ parameters["head_weight"].T + parameters["head_bias"])[:, 0]
    return ((predictions - targets.to(predictions.dtype)) ** 2).mean().item()


def compare_adding(got, expected):
    """The contract: a dict with the table's keys and shapes, float32 like the data, and the goal's error."""
    if type(got) is not dict or set(got) != set(expected):
        return f"not a dict with keys {sorted(expected)}"
    hidden = got["weight_hh"].shape[-1]
    shapes = {"weight_ih": (4 * hidden, 2), "weight_hh": (4 * hidden, hidden), "bias_ih": (4 * hidden,),
              "bias_hh": (4 * hidden,), "head_weight": (1, hidden), "head_bias": (1,)}
    for name, shape in shapes.items():
        if not isinstance(got[name], torch.Tensor) or tuple(got[name].shape) != shape:
            return f"{name}: not a tensor of shape {shape}"
        if got[name].dtype != expected[name].dtype:
            return f"{name}: dtype {got[name].dtype} != {expected[name].dtype}"
    error = adding_mse(got)
    return None if error <= ADDING_GOAL_MSE else f"mean squared error {error:.4f} > {ADDING_GOAL_MSE}"


def first_difference(check_id, fn, right_fn=None, device="cpu"):
    """(probe label, what differs) on the first probe where fn differs from the correct solution, or None.

    Off the CPU only differences about the device count (a meta tensor has no data to read, which a correct
    solution that reads values back would trip on too)."""
    right_fn = right_fn or CORRECT[check_id]
    for probe in probes(check_id, device):
        found = difference_on(probe, fn, right_fn, check_id)
        if found and (device == "cpu" or "device" in found):
            return probe.label, found
    return None
