"""The grader's static scan and notebook rebuild, without a sandbox: fast checks of both contracts."""
import copy
import re

import nbformat
import pytest

from attacks.corpus import HONEST
from autograder.grading.plan import Tampered, parts_of, plan_submission, rebuilt_notebook
from autograder.grading.scan import scan_source
from autograder.nbgrader.course import ASSIGNMENTS, REPO_ROOT

SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def source(assignment):
    return nbformat.read(REPO_ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)


def answers(nb):
    return [(c.metadata["nbgrader"]["grade_id"], c.source) for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_course_solutions_pass_the_scan(assignment):
    for grade_id, text in answers(source(assignment)):
        assert scan_source(SOLUTION.sub(lambda m: m.group(1), text), grade_id, assignment) == [], grade_id


@pytest.mark.parametrize("honest", HONEST, ids=lambda a: a.name)
def test_unusual_honest_answers_pass_the_scan(honest):
    for grade_id, text in honest.answers.items():
        assert scan_source(text, grade_id, honest.assignment) == [], grade_id


EVASIONS = {
    "private module": "from torch import _VF",
    "aten ops": "k = torch.ops.aten.lstm_cell",
    "module by attribute": "cell = torch.nn.LSTMCell(3, 4)",
    "module by import": "from torch.nn import GRUCell as G",
    "submodule": "from torch.nn.modules.rnn import LSTMCell",
    "getattr": "k = getattr(torch, 'lstm' + '_cell')",
    "eval": "eval('1')",
    "exec of text": "exec(bytes.fromhex('7072696e74').decode())",
    "dunder": "torch.nn.__dict__",
    "os beyond the environment": "import os\nos.system('ls')",
    "os passed around": "import os as o\nf = o\nf.system('ls')",
    "os function imported": "from os import system",
    "magic cell body": "%%time\nimport torch\nk = torch._VF.lstm_cell",
    "magic line": "%time k = torch.ops.aten.lstm_cell",
    "timeit line with options": "%timeit -n 1 -r 1 torch.nn.LSTMCell(3, 4)",
    "string annotation": "def f(x: 'torch._VF.lstm_cell'):\n    pass",
    "annotation evaluated": "import typing\ntyping.get_type_hints(f)",
    "singledispatch": "from functools import singledispatch",
    "pickle via numpy": "import numpy as np\nnp.load('x.npy', allow_pickle=True)",
    "format walking attributes": "'{0.gi_frame.f_back}'.format(g)",
    "format on a variable": "t = '{0.x}'\nt.format(g)",
    "getattr with a computed name": "getattr(cell, 'for' + 'ward')",
    "getattr of a module": "getattr(torch, 'tanh')",
    "sys through a package": "torch.sys.modules.clear()",
    "frames": "def g():\n    yield\nx = g().gi_frame.f_back",
    "shell escape": "!ls /",
    "run magic": "%run /tmp/x.py",
    "course references": "from autograder.checks.references import lstm_cell",
    "course demos": "import rnn_demos.bptt",
    "IPython internals": "get_ipython().input_transformers_post.append(str)",
    "torch function modes": "from torch.overrides import TorchFunctionMode",
    "processes": "torch.multiprocessing.Pool(2)",
    "string formatter": "import string",
}


@pytest.mark.parametrize("name", sorted(EVASIONS))
def test_evasions_are_flagged_with_their_line(name):
    text = EVASIONS[name] if EVASIONS[name].startswith("%%") else "import torch\n" + EVASIONS[name]
    findings = scan_source(text, "forget_gate", "lstm")
    assert findings, name
    assert all(f.grade_id == "forget_gate" for f in findings)
    assert any(f.line >= 2 for f in findings)


HONEST_STYLES = {
    "getattr on a config object": "def f(config):\n    return getattr(config, 'hidden_size', 8)",
    "environment variable": "import os\nSTEPS = int(os.environ.get('STEPS', '100'))\nN = os.getenv('N')",
    "batching with torch.utils.data": ("from torch.utils.data import DataLoader, TensorDataset\n"
                                       "loader = DataLoader(TensorDataset(torch.zeros(4, 2)), batch_size=2)"),
    "timed honest cell": "%%time\nh = torch.tanh(torch.zeros(2))",
    "timed honest line": "%timeit -n 1 torch.tanh(torch.zeros(2))",
    "string annotation": "def f(x: 'torch.Tensor') -> 'torch.Tensor':\n    return x",
    "format with a spec": "print('{:.3f} and {0}'.format(1.0) if False else '{0:>4}'.format(2))",
}


@pytest.mark.parametrize("name", sorted(HONEST_STYLES))
def test_honest_styles_pass_the_scan(name):
    text = HONEST_STYLES[name]  # a cell magic must open its cell
    assert scan_source(text if text.startswith("%%") else "import torch\n" + text, "forget_gate", "lstm") == []


def test_recurrent_kernels_are_allowed_where_no_exercise_asks_for_them():
    assert scan_source("def f(x):\n    return torch.nn.utils.clip_grad_norm_(x, 1.0)", "a", "lstm") == []
    assert scan_source("def f(x):\n    return torch.nn.utils.clip_grad_norm_(x, 1.0)", "a", "rnn") != []


def released_solved(assignment):
    nb = source(assignment)
    submitted = copy.deepcopy(nb)
    for cell in submitted.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = SOLUTION.sub(lambda m: m.group(1), cell.source)
    return nb, submitted


def test_the_plan_runs_locked_cells_from_the_source_and_answers_from_the_submission():
    nb, submitted = released_solved("lstm")
    setup = next(c for c in submitted.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    setup.source = "raise SystemExit('changed by the student')"
    plan = plan_submission(nb, submitted)
    locked = [c for c in plan.cells if c["kind"] == "locked"]
    assert any(c["grade_id"] == "setup" and "SystemExit" not in c["source"] for c in locked)
    assert [c["grade_id"] for c in plan.cells if c["kind"] == "answer"] == [g for g, _ in answers(nb)]
    assert [p.check_id for p in plan.parts] == [p.check_id for p in parts_of(nb)]
    assert all(p.check_id.startswith("lstm.") and p.points > 0 for p in plan.parts)


def test_cells_the_student_added_run_where_they_were_put_and_are_recorded():
    nb, submitted = released_solved("lstm")
    index = next(i for i, c in enumerate(submitted.cells)
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "test_forget_gate")
    submitted.cells.insert(index + 1, nbformat.v4.new_code_cell("HELPER = 1"))
    plan = plan_submission(nb, submitted)
    kinds = [(c["kind"], c["grade_id"]) for c in plan.cells]
    extra = next(i for i, (kind, _) in enumerate(kinds) if kind == "extra")
    assert kinds[extra - 1] == ("answer", "forget_gate") and kinds[extra + 1] == ("answer", "input_gate")
    assert "1 cell(s) you added also ran" in plan.notes
    rebuilt = rebuilt_notebook(nb, plan)
    assert any(c.source == "HELPER = 1" for c in rebuilt.cells)
    assert len(rebuilt.cells) == len(nb.cells) + 1


@pytest.mark.parametrize("change, phrase", [
    (lambda cells: cells.pop(3), "cells deleted"),
    (lambda cells: cells.insert(3, copy.deepcopy(cells[3])), "more than once"),
    (lambda cells: cells.reverse(), "reordered"),
])
def test_tampering_with_graded_cells_is_refused(change, phrase):
    nb, submitted = released_solved("gru")
    graded = [c for c in submitted.cells if c.metadata.get("nbgrader", {}).get("grade_id")]
    change(graded)
    submitted.cells = graded
    with pytest.raises(Tampered, match=phrase):
        plan_submission(nb, submitted)


@pytest.mark.parametrize("text", ["import torch.nn.functional as F\nloss = F.cross_entropy(q, y)",
                                  "from torch import nn\nloss = nn.CrossEntropyLoss()(q, y)",
                                  "import torch\ncell = torch.nn.GRUCell(3, 4)"])
def test_char_lm_flags_the_kernels_its_notebook_asks_you_to_write(text):
    assert scan_source(text, "step_losses", "char_lm")
    # the same code in a notebook that does not forbid the loss passes the scan
    if "GRUCell" not in text:
        assert not scan_source(text, "forget_gate", "lstm")
