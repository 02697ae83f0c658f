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

    torch 2.13 has two APIs: the per-backend `fp32_precision` strings and the older `allow_tf32` flags.
    Setting the new strings makes a later read of `torch.backends.cudnn.allow_tf32` raise (PyTorch
    refuses mixed APIs), while setting the flags updates the new strings consistently (matmul becomes
    "ieee", cudnn.rnn and cudnn.conv leave "tf32"). So the flags are set, and the strings are checked.
    """
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    backends = torch.backends
    if hasattr(backends.cudnn, "rnn"):
        still_tf32 = [name for name, value in (("matmul", backends.cuda.matmul.fp32_precision),
                                               ("cudnn.rnn", backends.cudnn.rnn.fp32_precision),
                                               ("cudnn.conv", backends.cudnn.conv.fp32_precision))
                      if value == "tf32"]
        if still_tf32:
            raise RuntimeError(f"TF32 is still on for {', '.join(still_tf32)}")


def tf32_settings():
    """A one-line description of the TF32 state, for reports."""
    backends = torch.backends
    text = f"matmul.allow_tf32={backends.cuda.matmul.allow_tf32}, cudnn.allow_tf32={backends.cudnn.allow_tf32}"
    if hasattr(backends.cudnn, "rnn"):
        text += (f" (fp32_precision: matmul={backends.cuda.matmul.fp32_precision}, "
                 f"cudnn.rnn={backends.cudnn.rnn.fp32_precision}, cudnn.conv={backends.cudnn.conv.fp32_precision})")
    return text
