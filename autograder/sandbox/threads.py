"""Run the checks' small tensor operations on one CPU thread.

The checks' tensors are tiny: on a busy machine, torch's intra-op thread pool costs far more than it
saves (a 24-step nn.LSTM took 160 ms on two threads under load, 7 ms on one). The previous setting is
restored afterwards, so the student's own code keeps its threads.
"""
import contextlib

import torch


@contextlib.contextmanager
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
