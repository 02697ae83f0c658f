"""The one table of tolerances used by every hidden check, per (device type, dtype)."""
import torch

from autograder.checks.compare import Tolerance

TOLERANCES = {
    ("cpu", torch.float32): Tolerance(rtol=1e-4, atol=1e-5),
    ("cpu", torch.float64): Tolerance(rtol=1e-9, atol=1e-11),
    # cuDNN sums in another order than a loop of matmuls; with TF32 off float32 stays within 1e-4.
    ("cuda", torch.float32): Tolerance(rtol=1e-4, atol=1e-5),
    ("cuda", torch.float64): Tolerance(rtol=1e-9, atol=1e-11),
}

# Manual BPTT against autograd: CS231n relative error max |a-b| / max(1e-8, |a|+|b|), in float64.
BPTT_MAX_REL_ERROR_FLOAT64 = 1e-7
GRADIENT_CHECKS = ("rnn.rnn_bptt", "lstm.lstm_step_backward", "lstm.lstm_bptt", "gru.gru_step_backward")


# Losses of logits of +-1e3 in float32: an implementation that forms logsumexp first (right) rounds it at
# 1e3, where float32's spacing is 6.1e-5, and a log_softmax (right too) does not: they differ by up to 6e-5
# (seen on 3 of 41 term seeds). Any mistake in a loss is far larger.
LOSS_CHECKS_FLOAT32 = {"char_lm.step_losses": Tolerance(rtol=1e-4, atol=2e-4)}


def tolerance_for(check_id, device_type, dtype):
    # The meta device has no values to compare: shapes, dtypes and devices only; any tolerance will do.
    if dtype == torch.float32 and check_id in LOSS_CHECKS_FLOAT32:
        return LOSS_CHECKS_FLOAT32[check_id]
    tolerance = TOLERANCES[("cpu" if device_type == "meta" else device_type, dtype)]
    if check_id in GRADIENT_CHECKS and dtype == torch.float64:
        return Tolerance(tolerance.rtol, tolerance.atol, max_rel_error=BPTT_MAX_REL_ERROR_FLOAT64)
    return tolerance


# Gradients through a whole sequence sum more rounding errors than the values: ten times looser.
GRADIENT_TOLERANCE_FACTOR = 10.0


def gradient_tolerance(tolerance):
    """The tolerance for a gradient check, from the tolerance of the values in the same case."""
    return Tolerance(tolerance.rtol * GRADIENT_TOLERANCE_FACTOR, tolerance.atol * GRADIENT_TOLERANCE_FACTOR)
