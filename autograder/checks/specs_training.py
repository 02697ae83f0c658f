"""The training part of the lstm notebook: the student's trained LSTM, judged on adding problems it never saw.

The student trains their own LSTM cell and a linear head on the adding problem of length ADDING_LENGTH
(where a plain tanh RNN stays at the baseline); `adding_parameters()` returns the trained parameters, a dict:

    weight_ih (4H, 2), weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,)   PyTorch's LSTM layout, rows i, f, g, o
    head_weight (1, H), head_bias (1,)                                     prediction = h_T head_weight^T + head_bias

The check does not train. The sandbox only calls `adding_parameters()` and records the tensors it returns;
outside the sandbox, the judge draws TEST_SIZE fresh sequences from the case's seed, runs the course's
LSTM forward pass with those parameters (`TrainedModelSpec.derive`) and passes when the mean squared error
is at most MAX_TEST_MSE; the visible check prints the test error it measured, passed or failed. Nothing of
the test set, the targets or the forward pass reaches the sandbox.
"""
from dataclasses import dataclass, field

import torch

from autograder.checks.compare import OutputLayout, kind_name
from autograder.checks.specs import Spec, function_name, register
from autograder.sandbox.observe import Call
from autograder.sandbox.snapshots import TensorSnapshot

ADDING_LENGTH = 20
TEST_SIZE = 1000
MAX_TEST_MSE = 0.02
MAX_HIDDEN_SIZE = 128
BASELINE_MSE = 1.0 / 6.0  # predicting the constant 1.0: Var(U1 + U2) = 2/12
PARAMETER_SHAPES = {  # H = hidden size
    "weight_ih": lambda H: (4 * H, 2), "weight_hh": lambda H: (4 * H, H), "bias_ih": lambda H: (4 * H,),
    "bias_hh": lambda H: (4 * H,), "head_weight": lambda H: (1, H), "head_bias": lambda H: (1,),
}


def _adding_inputs(case):
    from rnn_demos.long_range import make_adding_batch
    inputs, _ = make_adding_batch(TEST_SIZE, ADDING_LENGTH, torch.Generator().manual_seed(case.seed))
    return {"x": inputs.double()}


def adding_targets(x):
    """The sum of the two marked values of each sequence x (batch, length, [value, marker])."""
    return (x[:, :, 0] * x[:, :, 1]).sum(dim=1)


def checked_parameters(parameters, name="adding_parameters"):
    """The parameters as float64 CPU tensors, after checking their names and shapes; ValueError else.

    `parameters` is what the student's function returned: tensors, or their snapshots (TensorSnapshot)."""
    if not isinstance(parameters, dict) or set(parameters) != set(PARAMETER_SHAPES):
        got = sorted(map(str, parameters)) if isinstance(parameters, dict) else kind_name(parameters)
        raise ValueError(f"{name} must be a dict with keys {sorted(PARAMETER_SHAPES)}; got {got}")
    parameters = {key: torch.from_numpy(value.values.astype("float64")) if isinstance(value, TensorSnapshot)
                  else value for key, value in parameters.items()}
    if not all(isinstance(p, torch.Tensor) and p.is_floating_point() for p in parameters.values()):
        raise ValueError(f"every value of {name} must be a floating-point torch.Tensor")
    hidden = parameters["weight_hh"].shape[-1]
    if not 1 <= hidden <= MAX_HIDDEN_SIZE:
        raise ValueError(f"the hidden size must be between 1 and {MAX_HIDDEN_SIZE}; got {hidden}")
    for key, shape in PARAMETER_SHAPES.items():
        if tuple(parameters[key].shape) != shape(hidden):
            raise ValueError(f"{name}[{key!r}] has shape {tuple(parameters[key].shape)}, expected "
                             f"{shape(hidden)} for hidden size {hidden}")
    return {key: value.detach().to("cpu", torch.float64) for key, value in parameters.items()}


def lstm_predictions(parameters, x):
    """The prediction of an LSTM (PyTorch's equations, rows i, f, g, o) + linear head on the last state."""
    hidden = parameters["weight_hh"].shape[1]
    h = x.new_zeros(x.shape[0], hidden)
    c = x.new_zeros(x.shape[0], hidden)
    for t in range(x.shape[1]):
        pre = (x[:, t] @ parameters["weight_ih"].T + parameters["bias_ih"]
               + h @ parameters["weight_hh"].T + parameters["bias_hh"])
        i, f, g, o = pre.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
    return (h @ parameters["head_weight"].T + parameters["head_bias"])[:, 0]


@dataclass(frozen=True)
class TrainedParametersSpec(Spec):
    """The answer is a dict of trained parameters, returned by a function of no arguments; subclasses derive
    the value judged from them here, outside the sandbox."""

    def call_for(self, inputs):
        return Call({}, no_arguments=True)

    def trained(self, result):
        """(what the student returned, the function's name for messages); ValueError when it is None."""
        name = function_name(self.check_id) + "()"
        if result is None:
            raise ValueError(f"{name} returned None: no trained parameters (was the training over its budget?)")
        return result, name


@dataclass(frozen=True)
class TrainedModelSpec(TrainedParametersSpec):
    """The value judged is the predictions on the check's inputs, computed from the parameters the sandbox
    recorded.

    The test error of the last set judged is kept, and `explanation`, which the visible check prints once
    every case has passed, reports it: the student sees how far below the goal their model is, not only that
    it passed (a failure's message states its own error)."""

    last_test_mse: list = field(default_factory=list, compare=False, repr=False)

    def derive(self, result, inputs):
        with torch.no_grad():
            return lstm_predictions(checked_parameters(*self.trained(result)), inputs["x"])

    def judge_result(self, observed, expected, inputs):
        mse = float(((observed - expected) ** 2).mean())
        self.last_test_mse[:] = [mse]
        if mse <= MAX_TEST_MSE:
            return None
        return (f"test MSE {mse:.4f} on {TEST_SIZE} new sequences of length {ADDING_LENGTH} is above the goal "
                f"{MAX_TEST_MSE} (predicting the constant 1.0 scores {BASELINE_MSE:.3f}): train longer, or check "
                "the forget-gate bias and the learning rate")

    @property
    def explanation(self):
        if not self.last_test_mse:
            return ""
        return (f"test MSE {self.last_test_mse[0]:.4f} on the last set of {TEST_SIZE} new sequences of length "
                f"{ADDING_LENGTH} (the goal is at most {MAX_TEST_MSE}; predicting the constant 1.0 scores "
                f"{BASELINE_MSE:.3f})")


TRAINING_SPECS = [
    TrainedModelSpec("lstm.adding_parameters", _adding_inputs, adding_targets,
                     OutputLayout("predictions", {"predictions": ("sequence",)}), dtype_free=True),
]
TRAINING_CHECK_IDS = tuple(spec.check_id for spec in TRAINING_SPECS)
register(*TRAINING_SPECS)
