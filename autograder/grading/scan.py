"""A static scan of the student's cells: flag code that could evade the in-sandbox refusal of framework
kernels or reach outside its own computation.

The refusal (autograder.sandbox.forbidden) runs in the student's own process, so code there can undo it; this
scan reads the cells as text, outside the sandbox, and names what a person should look at. It allows
what the exercises need (torch, numpy, math and a few standard modules, the public self-checks) and
flags the rest: other imports, dynamic code and attribute access (`eval`, `getattr`, `__import__`),
private or dunder attributes, IPython internals and shell escapes, and the kernels the assignment asks
the student to write.
"""
import ast
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

ALLOWED_MODULES = frozenset({
    "torch", "numpy", "math", "cmath", "itertools", "functools", "collections", "typing", "dataclasses",
    "random", "statistics", "time", "numbers", "fractions", "decimal", "copy", "matplotlib",
    "__future__",
})
# Submodules of allowed packages that reach below the public tensor API.
REFUSED_SUBMODULES = ("torch._", "torch.ops", "torch.jit", "torch.library", "torch.overrides", "torch.utils",
                      "torch.nn.modules", "torch.autograd.graph", "torch.fx", "torch.export", "torch.compiler",
                      "numpy.ctypeslib", "numpy.lib")
SELF_CHECK_NAMES = frozenset({"check", "check_notebook"})

REFUSED_BUILTINS = frozenset({
    "eval", "exec", "compile", "__import__", "getattr", "setattr", "delattr", "vars", "open", "input",
    "breakpoint", "memoryview", "get_ipython", "exit", "quit", "attrgetter", "methodcaller",
})
# Attributes that lead below the public tensor API, whatever object they are read from: internals of
# torch, other processes and threads, frames, and the modules that packages keep as attributes
# (`torch.os`, `typing.sys`, `dataclasses.sys`: a way around the import rule).
REFUSED_ATTRIBUTES = frozenset({
    "ops", "jit", "library", "overrides", "graph", "modules", "compile", "aten", "fx", "export", "compiler",
    "load", "save", "multiprocessing", "distributed", "hub", "package", "futures", "cpp_extension",
    "forward_ad", "DataLoader", "ctypeslib",
    "gi_frame", "cr_frame", "ag_frame", "gi_code", "f_back", "f_globals", "f_locals", "f_builtins", "f_code",
    "tb_frame", "tb_next", "co_code", "co_consts",
    "sys", "os", "builtins", "importlib", "subprocess", "ctypes", "inspect", "gc", "types", "socket", "signal",
    "threading", "multiprocessing", "shutil", "pathlib", "io", "pickle", "marshal", "code", "codeop", "runpy",
    "platform", "resource", "atexit", "weakref", "operator", "traceback", "linecache", "tempfile", "glob",
    "fcntl", "posix", "select", "mmap", "sqlite3", "urllib", "http", "asyncio", "concurrent", "queue",
    "copyreg", "site", "sysconfig", "zipimport", "pkgutil", "warnings", "logging", "attrgetter",
    "methodcaller", "Formatter", "get_field",
})
RECURRENT_KERNELS = frozenset({
    "LSTM", "LSTMCell", "GRU", "GRUCell", "RNN", "RNNCell", "RNNBase", "RNNCellBase", "lstm_cell", "gru_cell",
    "rnn_tanh_cell", "rnn_relu_cell", "lstm", "gru", "rnn_tanh", "rnn_relu",
})
CLIPPING_KERNELS = frozenset({"clip_grad_norm_", "clip_grad_norm", "clip_grads_with_norm_", "clip_grad_value_",
                              "get_total_norm"})
KERNELS_BY_ASSIGNMENT = {"rnn": RECURRENT_KERNELS | CLIPPING_KERNELS, "lstm": RECURRENT_KERNELS,
                         "gru": RECURRENT_KERNELS}
ALLOWED_DUNDERS = frozenset({"__init__", "__call__", "__repr__", "__len__", "__name__"})
ALLOWED_MAGICS = frozenset({"time", "timeit", "matplotlib"})
_TRANSFORMER = TransformerManager()

MAGIC_CALLS = frozenset({"run_line_magic", "run_cell_magic"})


@dataclass(frozen=True)
class Finding:
    grade_id: str
    line: int
    what: str

    def __str__(self):
        return f"cell {self.grade_id}, line {self.line}: {self.what}"


def scan_cells(cells, assignment):
    """Findings for every cell the student wrote: [{"grade_id", "source"}] -> [Finding]."""
    findings = []
    for cell in cells:
        findings.extend(scan_source(cell["source"], cell["grade_id"], assignment))
    return findings


def scan_source(source, grade_id, assignment):
    """Read the cell as IPython will run it (magics and `!` become get_ipython() calls), then walk it."""
    try:
        tree = ast.parse(_TRANSFORMER.transform_cell(source))
    except (SyntaxError, ValueError):  # IPython cannot run it either: the cell fails, nothing to flag
        return []
    kernels = KERNELS_BY_ASSIGNMENT.get(assignment, frozenset())
    allowed_shell_names = {id(node.func.value.func) for node in ast.walk(tree) if _magic_name(node) in ALLOWED_MAGICS}
    findings = []
    for node in ast.walk(tree):
        if id(node) in allowed_shell_names:
            continue
        findings.extend(Finding(grade_id, getattr(node, "lineno", 0), what)
                        for what in _node_findings(node, kernels))
    return findings


def _magic_name(node):
    """'time' for get_ipython().run_line_magic('time', ...), None for any other node."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MAGIC_CALLS
            and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
            and node.func.value.func.id == "get_ipython" and node.args
            and isinstance(node.args[0], ast.Constant)):
        return str(node.args[0].value)
    return None


def _node_findings(node, kernels):
    magic = _magic_name(node)
    if magic is not None:
        if magic not in ALLOWED_MAGICS:
            yield f"IPython magic %{magic}"
    elif isinstance(node, ast.Import):
        for alias in node.names:
            yield from _import_findings(alias.name)
    elif isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if node.level:
            yield "a relative import"
        elif module == "autograder.selfcheck":
            yield from (f"imports {alias.name} from autograder.selfcheck" for alias in node.names
                        if alias.name not in SELF_CHECK_NAMES)
        else:
            yield from _import_findings(module)
            for alias in node.names:
                if alias.name == "*" or alias.name.startswith("_") or alias.name in kernels \
                        or alias.name in REFUSED_ATTRIBUTES:
                    yield f"imports {alias.name} from {module}"
    elif isinstance(node, ast.Name):
        if node.id in REFUSED_BUILTINS:
            yield f"uses {node.id}"
        elif node.id.startswith("__") and node.id not in ALLOWED_DUNDERS:
            yield f"uses {node.id}"
    elif isinstance(node, ast.Attribute):
        if node.attr.startswith("_") and node.attr not in ALLOWED_DUNDERS:
            yield f"reads the private attribute .{node.attr}"
        elif node.attr in kernels:
            yield f"uses .{node.attr}, a kernel this exercise asks you to write"
        elif node.attr in REFUSED_ATTRIBUTES:
            yield f"reads .{node.attr}"
    elif isinstance(node, (ast.Global, ast.Nonlocal)) and any(n.startswith("__") for n in node.names):
        yield "rebinds a dunder name"


def _import_findings(module):
    top = module.split(".")[0]
    if top in ("autograder", "rnn_demos"):
        yield f"imports {module} (the course's own code is not part of an answer)"
    elif top not in ALLOWED_MODULES:
        yield f"imports {module}"
    elif any(module == refused.rstrip(".") or module.startswith(refused) for refused in REFUSED_SUBMODULES):
        yield f"imports {module}"
