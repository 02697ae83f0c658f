"""Sphinx extension: every gradient demo on a page executed by the book build is the static kind.

A built page has no kernel, so only precomputed frames driven by jslink-ed controls work there.
`rnn_demos.widgets.show` reads RNN_DEMOS_MODE, and the kernels that execute the pages inherit this
process's environment; a reader running the same page in Jupyter gets the live demo.
"""
import os

from sphinx.application import Sphinx


def setup(app: Sphinx) -> dict:
    os.environ["RNN_DEMOS_MODE"] = "static"
    return {"parallel_read_safe": True, "parallel_write_safe": True}
