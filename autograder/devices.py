"""The device the hidden checks run on, with TF32 turned off so float32 matches the CPU's precision."""
import torch


def grading_device():
    """"cuda" when a GPU is usable, else "cpu"; TF32 is turned off before any CUDA reference runs."""
    if torch.cuda.is_available():
        disable_tf32()
        return "cuda"
    return "cpu"


def disable_tf32():
    """Full float32 precision for cuBLAS matmuls and cuDNN (RNN and convolution) kernels.

    torch >= 2.9 has per-backend `fp32_precision` settings (cudnn.rnn defaults to "tf32"); older
    versions only have the `allow_tf32` flags. Mixing the two APIs is refused by new versions, so
    only one is used.
    """
    backends = torch.backends
    if hasattr(backends.cuda.matmul, "fp32_precision") and hasattr(backends.cudnn, "rnn"):
        backends.cuda.matmul.fp32_precision = "ieee"
        backends.cudnn.rnn.fp32_precision = "ieee"
        backends.cudnn.conv.fp32_precision = "ieee"
    else:
        backends.cuda.matmul.allow_tf32 = False
        backends.cudnn.allow_tf32 = False


def tf32_settings():
    """A one-line description of the TF32 state, for reports."""
    backends = torch.backends
    if hasattr(backends.cuda.matmul, "fp32_precision") and hasattr(backends.cudnn, "rnn"):
        return (f"matmul={backends.cuda.matmul.fp32_precision}, cudnn.rnn={backends.cudnn.rnn.fp32_precision}, "
                f"cudnn.conv={backends.cudnn.conv.fp32_precision}")
    return f"matmul.allow_tf32={backends.cuda.matmul.allow_tf32}, cudnn.allow_tf32={backends.cudnn.allow_tf32}"
