"""The checks of the char_lm notebook: a character-level language model, from characters to a trained model.

Parts and what each check compares:
- `encode(text)` -> int64 ids, `decode(ids)` -> str, over `rnn_demos.text_data.VOCABULARY` (ValueError for a
  character or an id outside it);
- `step_losses(logits, targets)`: the cross-entropy -log softmax(logits_t)[target_t] of every step, in nats,
  computed without overflow; `perplexity(logits, targets)`: exp of their mean;
- `tbptt_chunk(ids, targets, h, parameters, learning_rate, max_norm)`: one chunk of truncated BPTT for a
  tanh RNN language model with one-hot input: the loss of the chunk, the parameters after one SGD step on
  the gradient clipped by its global norm (as torch.nn.utils.clip_grad_norm_), and the last state;
- `sample_characters(logits, temperature, num_samples, seed)`: draws from softmax(logits / temperature)
  (the most likely character when temperature is 0), judged on the frequencies of many draws;
- `language_model_parameters()`: the student's trained model. The sandbox only records the tensors it
  returns; here, outside it, `TrainedLanguageModelSpec.derive` runs the model over the held-out text
  (the test split of rnn_demos.text_data for the hidden check, the validation split for the visible one)
  and the check passes when the perplexity is at most MAX_PERPLEXITY;
- three "predict, then run" questions.

The hidden cases add, by kind (options of each spec): the empty text and a text of one character (a list
turned into a tensor without a dtype is float32 when empty); strided ids; logits of +-1e3, where a
softmax taken before the log or a log-sum-exp without its maximum gives inf; confident logits whose
perplexity a float32 softmax turns into inf; transposed logits and ids that are views (`view` fails);
a long chunk (the long sequence of autograder.checks.cases, whose first state still reaches h_T); clipping thresholds far above and below the gradient's norm; temperatures of
0.01 on logits of spread 20 (exp overflows without the maximum subtracted) and 0. The judge also sees
whether h_T is detached (the sandbox records which outputs require grad; the contract's `detached`) and
whether the tensors of the `parameters` dict were changed in place (the observer walks dict inputs too).
The families of inputs (autograder.checks.families) reach these checks as well: sizes of 1, non-contiguous
views (the dict's tensors too), a repeated call, large and huge weights in `parameters`, and the long
sequence with a lasting memory for step_losses and tbptt_chunk.
"""
import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F

from autograder.checks.compare import OutputLayout, kind_name
from autograder.checks.contracts import CONTRACTS, Contract
from autograder.checks.specs import Draw, Spec, function_name, register
from autograder.checks.specs_questions import TWO_DECIMALS, _choice, _number
from autograder.checks.specs_training import TrainedParametersSpec
from autograder.sandbox.snapshots import TensorSnapshot

ASSIGNMENT = "char_lm"
OUTSIDE_VOCABULARY = "€"
SAMPLES_PER_ROW = 4000
# Largest |frequency - probability| allowed over SAMPLES_PER_ROW draws: at least 5 standard errors
# (sqrt(p (1 - p) / n) <= 0.0079 for n = 4000), so a right sampler passes whatever its random stream.
FREQUENCY_TOLERANCE = 0.04
# The goal of the training part, set from measurements: the solution notebook's GRU of 128 units, trained
# for 12 of the 30 CPU-seconds, scores 5.1 on the validation split and 5.2 on the test split; counting
# models of the training text score 12.7 and 11.0 (bigram), 24.8 and 25.9 (unigram) there
# (tests/test_char_lm_checks.py asserts the counting models' figures).
MAX_PERPLEXITY = 7.0
MAX_HIDDEN_SIZE = 256
TRAINING_BUDGET_SECONDS = 30


def _vocabulary():
    from rnn_demos.text_data import VOCABULARY
    return VOCABULARY


# ----- encode / decode -----

def _text_inputs(case):
    """A random text over the vocabulary with a newline and non-ASCII characters in it; option `length`
    fixes its length (0: the empty text, whose ids must still be int64); with option `unknown`, one
    character outside the vocabulary."""
    vocabulary = _vocabulary()
    draw = Draw(case)
    length = case.options.get("length", case.steps * case.batch * 3)
    ids = draw.integers(len(vocabulary), length).tolist()
    if length >= 2:
        ids[0], ids[-1] = vocabulary.index("\n"), len(vocabulary) - 1  # first and last ids of the vocabulary
    text = "".join(vocabulary[i] for i in ids)
    if case.options.get("unknown"):
        text = text[:length // 2] + OUTSIDE_VOCABULARY + text[length // 2:]
    return {"text": text}


def encode_reference(text):
    vocabulary = _vocabulary()
    unknown = sorted(set(text) - set(vocabulary))
    if unknown:
        raise ValueError(f"characters outside the vocabulary: {unknown}")
    return torch.tensor([vocabulary.index(c) for c in text], dtype=torch.int64)


def _ids_inputs(case):
    """Random ids; option `length` fixes their number, option `strided` makes them a non-contiguous view
    (every other id of a longer tensor)."""
    vocabulary = _vocabulary()
    length = case.options.get("length", case.steps * case.batch * 3)
    ids = Draw(case).integers(len(vocabulary), 2 * length).to(torch.int64)
    ids = ids[::2] if case.options.get("strided") else ids[:length].clone()
    if case.options.get("out_of_range") == "high":
        ids[-1] = len(vocabulary)
    elif case.options.get("out_of_range") == "negative":
        ids[-1] = -1
    return {"ids": ids}


def _code_points(text):
    return torch.tensor([ord(c) for c in text], dtype=torch.int64)


def decode_reference(ids):
    """The decoded text, as a tensor of its code points (the judge compares texts as such tensors)."""
    vocabulary = _vocabulary()
    if ((ids < 0) | (ids >= len(vocabulary))).any():
        raise ValueError("ids outside 0..len(VOCABULARY) - 1")
    return _code_points("".join(vocabulary[int(i)] for i in ids))


@dataclass(frozen=True)
class TextSpec(Spec):
    """The answer is a str, judged as the tensor of its code points."""

    def derive(self, result, inputs):
        if type(result) is not str:
            raise TypeError(f"{function_name(self.check_id)} must return a str; got {kind_name(result)}")
        return _code_points(result)

    def judge_result(self, observed, expected, inputs):
        if observed.shape == expected.shape and torch.equal(observed, expected):
            return None
        if observed.shape != expected.shape:
            return f"the text has {len(observed)} characters, expected {len(expected)} (one per id)"
        first = int((observed != expected).nonzero()[0])
        return (f"the text differs first at position {first}: got {chr(int(observed[first]))!r}, expected "
                f"{chr(int(expected[first]))!r} (id {int(inputs['ids'][first])}; the id of a character is "
                "its position in VOCABULARY)")


# ----- loss and perplexity -----

def _loss_inputs(case):
    """Logits (batch, steps, V) with V = input_size + 2 and random targets. Options:
    - `scale`: the spread of the logits;
    - `extreme`: logits of +-1e3 (plus noise of 1): exp overflows, a softmax taken before the log
      underflows to 0, and a log-sum-exp without its maximum gives inf or nan;
    - `confident`: extreme logits whose largest entry is the target at every step (every loss about 0)
      but the first of each row, whose target is 110 below the largest (a loss of about 110: a softmax
      taken before the log is 0 there in float32; a naive softmax gives inf / inf = nan everywhere);
    - `transposed`: the logits are a non-contiguous view (a `view` of them fails; `reshape` works)."""
    draw = Draw(case)
    vocabulary = case.input_size + 2
    logits = draw.normal(case.batch, vocabulary, case.steps, scale=case.options.get("scale", 2.0)).transpose(1, 2)
    targets = draw.integers(vocabulary, case.batch, case.steps).to(torch.int64)
    if case.options.get("extreme") or case.options.get("confident"):
        signs = torch.where(draw.normal(case.batch, case.steps, vocabulary) > 0, 1.0, -1.0).to(logits.dtype)
        logits = 1e3 * signs + draw.normal(case.batch, case.steps, vocabulary)
    if case.options.get("confident"):
        logits = logits.scatter(-1, targets[..., None], 1e3 + 10.0)
        if case.steps >= 2:  # the first target of each row 110 below the top: its float32 softmax is 0
            logits[:, 0].scatter_(-1, targets[:, :1], 1e3 + 10.0 - 110.0)
            logits[:, 0, (targets[:, 0] + 1) % vocabulary] = 1e3 + 10.0
    if not case.options.get("transposed"):
        logits = logits.contiguous()
    return {"logits": logits, "targets": targets}


def step_losses_reference(logits, targets):
    return -torch.log_softmax(logits, dim=-1).gather(-1, targets[..., None])[..., 0]


def perplexity_reference(logits, targets):
    return torch.exp(step_losses_reference(logits, targets).mean())


# ----- one chunk of truncated BPTT -----

TBPTT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hy", "bias_y")


class _ShapesInDescription(dict):
    """A dict of tensors whose repr lists their shapes: a failed case quotes its inputs by their repr."""

    def __repr__(self):
        return "{" + ", ".join(f"{name}: {tuple(value.shape)}" for name, value in self.items()) + "}"


def _tbptt_inputs(case):
    """A tanh RNN language model over V = input_size + 2 characters, a chunk of ids and its targets (the
    ids shifted by one), a starting state and the SGD settings. Options: `learning_rate`, `max_norm`,
    `steps` (a long chunk), `views` (ids and targets non-contiguous views of one text)."""
    draw = Draw(case)
    vocabulary, hidden = case.input_size + 2, case.hidden_size
    steps = case.options.get("steps", case.steps)
    text = draw.integers(vocabulary, case.batch, steps + 1).to(torch.int64)
    parameters = _ShapesInDescription({"weight_ih": draw.normal(hidden, vocabulary, scale=0.6),
                  "weight_hh": draw.normal(hidden, hidden, scale=0.6),
                  "bias_ih": draw.normal(hidden, scale=0.3), "bias_hh": draw.normal(hidden, scale=0.3),
                  "weight_hy": draw.normal(vocabulary, hidden, scale=0.8), "bias_y": draw.normal(vocabulary, scale=0.3)})
    views = case.options.get("views")  # ids and targets as views of one text: non-contiguous
    return {"ids": text[:, :-1] if views else text[:, :-1].contiguous(),
            "targets": text[:, 1:] if views else text[:, 1:].contiguous(),
            "h": draw.normal(case.batch, hidden, scale=0.5), "parameters": parameters,
            "learning_rate": case.options.get("learning_rate", 0.5), "max_norm": case.options.get("max_norm", 1.0)}


def tbptt_chunk_reference(ids, targets, h, parameters, learning_rate, max_norm):
    leaves = {name: value.detach().clone().requires_grad_(True) for name, value in parameters.items()}
    with torch.enable_grad():
        state, outputs = h, []
        for t in range(ids.shape[1]):
            x_part = leaves["weight_ih"].T[ids[:, t]]  # one-hot x_t times W_ih^T: a row of W_ih^T
            state = torch.tanh(x_part + leaves["bias_ih"] + state @ leaves["weight_hh"].T + leaves["bias_hh"])
            outputs.append(state)
        logits = torch.stack(outputs, dim=1) @ leaves["weight_hy"].T + leaves["bias_y"]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        grads = torch.autograd.grad(loss, [leaves[name] for name in TBPTT_NAMES])
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    updated = {name: (leaves[name] - learning_rate * scale * g).detach() for name, g in zip(TBPTT_NAMES, grads)}
    return loss.detach(), updated, state.detach()


# ----- sampling with a temperature -----

def _sampling_inputs(case):
    """Logits (batch, V); option `transposed` makes them a non-contiguous view, `scale` sets their spread."""
    draw = Draw(case)
    vocabulary = case.input_size + 3
    logits = draw.normal(vocabulary, case.batch, scale=case.options.get("scale", 2.0)).T
    return {"logits": logits if case.options.get("transposed") else logits.contiguous(),
            "temperature": case.options.get("temperature", 1.0), "num_samples": SAMPLES_PER_ROW,
            "seed": case.seed % 10_000}


def sampling_distribution_reference(logits, temperature, num_samples, seed):
    """The distribution the draws must follow: softmax(logits / T), all mass on the argmax when T = 0."""
    if temperature < 0:
        raise ValueError("temperature < 0")
    logits = logits.double()
    if temperature == 0:
        return F.one_hot(logits.argmax(dim=-1), logits.shape[-1]).double()
    return torch.softmax(logits / temperature, dim=-1)


@dataclass(frozen=True)
class SamplingSpec(Spec):
    """The answer is (batch, num_samples) int64 ids; the value judged is each row's frequencies."""

    def derive(self, result, inputs):
        name = function_name(self.check_id)
        rows, vocabulary = inputs["logits"].shape
        wanted = (rows, inputs["num_samples"])
        if not isinstance(result, TensorSnapshot):
            raise TypeError(f"{name} must return a tensor of ids {wanted}; got {kind_name(result)}")
        if result.shape != wanted:
            raise ValueError(f"{name} returned shape {result.shape}, expected {wanted} = (batch, num_samples)")
        if result.dtype != "torch.int64":
            raise TypeError(f"{name} must return int64 ids (what torch.multinomial returns); got {result.dtype}")
        ids = torch.from_numpy(np.asarray(result.values, dtype=np.int64))
        if ((ids < 0) | (ids >= vocabulary)).any():
            raise ValueError(f"{name} returned ids outside 0..{vocabulary - 1}")
        counts = torch.zeros(rows, vocabulary, dtype=torch.float64)
        counts.scatter_add_(1, ids, torch.ones_like(ids, dtype=torch.float64))
        return counts / inputs["num_samples"]

    def judge_result(self, observed, expected, inputs):
        gap = (observed - expected).abs()
        if float(gap.max()) <= FREQUENCY_TOLERANCE:
            return None
        row, column = (int(i) for i in np.unravel_index(int(gap.argmax()), tuple(gap.shape)))
        return (f"over {inputs['num_samples']} draws at temperature {inputs['temperature']}, character {column} of "
                f"row {row} came up with frequency {float(observed[row, column]):.3f}, but its probability is "
                f"{float(expected[row, column]):.3f} (allowed gap {FREQUENCY_TOLERANCE}): draw from "
                "softmax(logits / temperature), and take the argmax when the temperature is 0")


# ----- the trained model -----

def _held_out_inputs(case):
    from rnn_demos.char_lm import split_ids
    return {"ids": split_ids(case.options.get("split", "test"))}


def _no_excess(ids):
    return torch.tensor(0.0, dtype=torch.float64)


def checked_language_model(parameters, name="language_model_parameters()"):
    """The parameters as float64 CPU tensors, after checking names, shapes and values; ValueError else."""
    from rnn_demos.char_lm import GATES, PARAMETER_NAMES, VOCABULARY_SIZE
    if not isinstance(parameters, dict) or set(parameters) != set(PARAMETER_NAMES):
        got = sorted(map(str, parameters)) if isinstance(parameters, dict) else kind_name(parameters)
        raise ValueError(f"{name} must return a dict with keys {sorted(PARAMETER_NAMES)}; got {got}")
    tensors = {}
    for key, value in parameters.items():
        if isinstance(value, TensorSnapshot) and value.dtype in ("torch.float32", "torch.float64", "torch.float16",
                                                                  "torch.bfloat16"):
            tensors[key] = torch.from_numpy(np.asarray(value.values, dtype=np.float64))
        elif isinstance(value, torch.Tensor) and value.is_floating_point():
            tensors[key] = value.detach().to("cpu", torch.float64)
        else:
            raise ValueError(f"{name}[{key!r}] must be a floating-point torch.Tensor; got {kind_name(value)}")
    hidden = tensors["weight_hh"].shape[-1] if tensors["weight_hh"].ndim == 2 else 0
    blocks = tensors["weight_hh"].shape[0] // hidden if hidden else 0
    if not 1 <= hidden <= MAX_HIDDEN_SIZE or blocks not in GATES.values() or tensors["weight_hh"].shape[0] != blocks * hidden:
        raise ValueError(f"{name}['weight_hh'] has shape {tuple(tensors['weight_hh'].shape)}: expected (G * H, H) with "
                         f"H at most {MAX_HIDDEN_SIZE} and G = 1 (tanh RNN), 3 (GRU) or 4 (LSTM)")
    shapes = {"weight_ih": (blocks * hidden, VOCABULARY_SIZE), "bias_ih": (blocks * hidden,),
              "bias_hh": (blocks * hidden,), "weight_hy": (VOCABULARY_SIZE, hidden), "bias_y": (VOCABULARY_SIZE,)}
    for key, shape in shapes.items():
        if tuple(tensors[key].shape) != shape:
            raise ValueError(f"{name}[{key!r}] has shape {tuple(tensors[key].shape)}, expected {shape} "
                             f"(hidden size {hidden}, {blocks} gate block{'s' * (blocks > 1)}, "
                             f"{VOCABULARY_SIZE} characters)")
    for key, value in tensors.items():
        if not torch.isfinite(value).all():
            raise ValueError(f"{name}[{key!r}] holds values that are not finite (nan or inf)")
    return tensors


_PERPLEXITIES = {}  # (parameters digest, text digest) -> perplexity; the hidden cases judge one model


def _digest(tensors):
    digest = hashlib.sha256()
    for key in sorted(tensors):
        digest.update(key.encode())
        digest.update(str(tuple(tensors[key].shape)).encode())
        digest.update(tensors[key].contiguous().numpy().tobytes())
    return digest.hexdigest()


def held_out_perplexity(parameters, ids):
    """The perplexity of `ids` under the model (PyTorch's cell equations, from a zero state)."""
    from rnn_demos.char_lm import model_from_parameters, perplexity
    key = (_digest(parameters), _digest({"ids": ids}))
    if key not in _PERPLEXITIES:
        if len(_PERPLEXITIES) > 16:
            _PERPLEXITIES.clear()
        with torch.no_grad():
            _PERPLEXITIES[key] = perplexity(model_from_parameters(parameters), ids)
    return _PERPLEXITIES[key]


@dataclass(frozen=True)
class TrainedLanguageModelSpec(TrainedParametersSpec):
    """The value judged is how far the perplexity of the held-out text under the trained parameters,
    computed here (outside the sandbox) from the tensors the sandbox recorded, lies above MAX_PERPLEXITY
    (0 when it reaches the goal).

    The perplexity of the last text judged is kept, and `explanation`, which the visible check prints once every
    case has passed, reports it (as the adding problem's check reports its test error)."""

    last_perplexity: list = field(default_factory=list, compare=False, repr=False)

    def derive(self, result, inputs):
        parameters = checked_language_model(*self.trained(result))
        perplexity = held_out_perplexity(parameters, inputs["ids"])
        self.last_perplexity[:] = [(perplexity, len(inputs["ids"]))]
        return torch.tensor(max(0.0, perplexity - MAX_PERPLEXITY), dtype=torch.float64)

    @property
    def explanation(self):
        if not self.last_perplexity:
            return ""
        perplexity, characters = self.last_perplexity[0]
        return (f"perplexity {perplexity:.2f} on {characters:,} characters of held-out text (the goal is at most "
                f"{MAX_PERPLEXITY:g})")

    def judge_result(self, observed, expected, inputs):
        if float(observed) <= 0.0:
            return None
        from rnn_demos.char_lm import bigram_perplexity, split_ids
        bigram = bigram_perplexity(split_ids("train"), inputs["ids"])
        return (f"perplexity {MAX_PERPLEXITY + float(observed):.2f} on {len(inputs['ids']):,} characters of "
                f"held-out text is above the goal {MAX_PERPLEXITY:g} (a bigram model of character counts scores "
                f"{bigram:.1f} on it): train "
                "longer within the budget, check your cell against PyTorch's equations, the learning rate and "
                "gradient clipping")


QUESTION_SPECS = [
    _number("char_lm.answer_q1", lambda: 1 / math.sqrt(0.9 * 0.1), TWO_DECIMALS,
            "The perplexity is the exponential of the mean loss: exp((-ln 0.9 - ln 0.1) / 2) = 1 / sqrt(0.9 * 0.1) "
            "= 10/3 = 3.33, the geometric mean of 1/p over the steps (1.11 and 10). It is neither 1/0.5 = 2 (from "
            "the mean probability) nor (1.11 + 10) / 2 = 5.56 (the mean of 1/p). A step that gives the right "
            "character probability 0.1 costs ln 10 = 2.30 nats, more than twenty times the 0.11 of a step at 0.9."),
    _choice("char_lm.answer_q2", ("this chunk", "every chunk so far", "every column"), "this chunk",
            "x_t W_ih^T reads only the column of W_ih of the character x_t, so the gradient of a column sums over "
            "the steps at which its character is read, and the backward pass of a chunk stops at the chunk's "
            "first step. The columns of characters that only earlier chunks read get a gradient of exactly 0 and "
            "keep their values, although the carried h still holds what those characters wrote into it: the "
            "prediction at the end of the chunk depends on them, but no gradient reaches their weights."),
    _number("char_lm.answer_q3", lambda: 1 / 3, TWO_DECIMALS,
            "With q = ln p (plus any constant), softmax(q / T) gives character j the probability "
            "p_j^(1/T) / sum_k p_k^(1/T): dividing the logits by T raises the probabilities to the power 1/T and "
            "renormalises them. With u = (1/2)^(1/T) the first character gets u / (u + 2 u^2) = 1 / (1 + 2u), "
            "which is 0.8 at u = 1/8: 1/T = 3, T = 1/3. At T = 1/3 the ratio of two probabilities is cubed."),
]

SPECS_CHAR_LM = [
    Spec("char_lm.encode", _text_inputs, encode_reference, OutputLayout("ids", {"ids": ("character",)}),
         hidden_options=({}, {"length": 0}, {"length": 1}), visible_options=({}, {"length": 0}), dtype_free=True,
         refusals=()),
    TextSpec("char_lm.decode", _ids_inputs, decode_reference, OutputLayout("text"),
             hidden_options=({}, {"length": 1}, {"strided": True}), visible_options=({}, {"strided": True}),
             dtype_free=True, refusals=()),
    Spec("char_lm.step_losses", _loss_inputs, step_losses_reference,
         OutputLayout("losses", {"losses": ("batch", "time")}),
         hidden_options=({}, {"extreme": True}, {"transposed": True}), visible_options=({}, {"extreme": True}),
         loops_over_time=True, refusals=("cross_entropy",)),
    Spec("char_lm.perplexity", _loss_inputs, perplexity_reference, OutputLayout("perplexity"),
         hidden_options=({}, {"scale": 5.0}, {"confident": True}, {"transposed": True}),
         visible_options=({}, {"confident": True}), refusals=("cross_entropy",)),
    Spec("char_lm.tbptt_chunk", _tbptt_inputs, tbptt_chunk_reference,
         OutputLayout(("loss", "new_parameters", "h_T"), {"h_T": ("batch", "hidden")}),
         hidden_options=({"max_norm": 100.0}, {"max_norm": 0.05},
                         {"max_norm": 0.5, "learning_rate": 2.0, "views": True}),
         visible_options=({"max_norm": 100.0}, {"max_norm": 0.05}), loops_over_time=True,
         refusals=("recurrent_kernels", "cross_entropy")),
    SamplingSpec("char_lm.sample_characters", _sampling_inputs, sampling_distribution_reference,
                 OutputLayout("ids", {"ids": ("batch", "sample")}),
                 hidden_options=({"temperature": 1.0}, {"temperature": 0.5}, {"temperature": 2.5},
                                 {"temperature": 0.01, "scale": 20.0}, {"temperature": 1.0, "transposed": True},
                                 {"temperature": 0.0}),
                 visible_options=({"temperature": 1.0}, {"temperature": 0.5}, {"temperature": 0.0}), refusals=()),
    TrainedLanguageModelSpec("char_lm.language_model_parameters", _held_out_inputs, _no_excess,
                             OutputLayout("perplexity"), hidden_options=({"split": "test"},),
                             visible_options=({"split": "validation"},), dtype_free=True,
                             refusals=("recurrent_kernels",)),
    *QUESTION_SPECS,
]
CHAR_LM_CHECK_IDS = tuple(spec.check_id for spec in SPECS_CHAR_LM)

CONTRACTS.update({
    "char_lm.encode": Contract("an int64 tensor (len(text),) of ids",
                               value_errors=(({"unknown": True}, "a character is not in VOCABULARY"),),
                               fixed_dtype={"ids": torch.int64}),
    "char_lm.decode": Contract("a str of len(ids) characters",
                               value_errors=(({"out_of_range": "high"}, "an id is len(VOCABULARY) or more"),
                                             ({"out_of_range": "negative"}, "an id is negative"))),
    "char_lm.step_losses": Contract("a tensor (batch, steps) of losses in nats", differentiable=True),
    "char_lm.perplexity": Contract("a 0-dim tensor", differentiable=True),
    "char_lm.tbptt_chunk": Contract("a tuple (loss: a 0-dim tensor, parameters: a dict of new tensors with the "
                                    "keys of the input, h_T: a tensor (batch, hidden) detached from the graph)",
                                    activations={"h_T": "tanh"}, detached=("h_T",)),
    "char_lm.sample_characters": Contract("an int64 tensor (batch, num_samples) of ids",
                                          value_errors=(({"temperature": -1.0}, "temperature < 0"),)),
    "char_lm.language_model_parameters": Contract("a dict of tensors: weight_ih (G*H, 103), weight_hh (G*H, H), "
                                                  "bias_ih and bias_hh (G*H,), weight_hy (103, H), bias_y (103,)"),
})
register(*SPECS_CHAR_LM)
