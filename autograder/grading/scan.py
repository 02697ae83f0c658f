"""A static scan of the student's cells: flag code that could evade the in-sandbox refusal of framework
kernels or reach outside its own computation.

The sandbox knows no answer, so what an answer records there is what its own code computed; the scan's
one job is academic honesty: the refusal of framework kernels (autograder.sandbox.forbidden) runs in the
student's own process, where code can undo it, so this scan reads the cells outside the sandbox and names
what a person should look at. It reads what will run: the cells as IPython transforms them, the bodies
and arguments of the magics it allows (`%%time`, `%time`, `%timeit`) parsed as Python, and string
annotations parsed as the expressions `typing.get_type_hints` or `functools.singledispatch` would
evaluate. It allows what the exercises need (torch, numpy, math and a few standard modules, the public
self-checks, `os.environ`, `torch.utils.data`, `getattr` of a named attribute on an object) and flags the
rest: other imports, dynamic code and attribute access (`eval`, `getattr` with a computed name,
`__import__`), private or dunder attributes, text the standard library turns into code or objects
(`get_type_hints`, `singledispatch`, `ForwardRef`, pickles and `allow_pickle`, `str.format` fields that
walk attributes or indexes), IPython internals and shell escapes, and the kernels the assignment asks the
student to write.
"""
import ast
import string
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

ALLOWED_MODULES = frozenset({
    "torch", "numpy", "math", "cmath", "itertools", "functools", "collections", "typing", "dataclasses",
    "random", "statistics", "time", "numbers", "fractions", "decimal", "copy", "matplotlib",
    "__future__",
})
# Submodules of allowed packages that reach below the public tensor API.
REFUSED_SUBMODULES = ("torch._", "torch.ops", "torch.jit", "torch.library", "torch.overrides", "torch.utils.",
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
    "forward_ad", "ctypeslib", "get_type_hints", "singledispatch", "singledispatchmethod", "ForwardRef",
    "allow_pickle", "format_map", "vformat", "fromfile", "frombuffer", "loads", "Unpickler", "literal_eval",
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
LOSS_KERNELS = frozenset({"cross_entropy", "CrossEntropyLoss"})
KERNELS_BY_ASSIGNMENT = {"rnn": RECURRENT_KERNELS | CLIPPING_KERNELS, "lstm": RECURRENT_KERNELS,
                         "gru": RECURRENT_KERNELS, "char_lm": RECURRENT_KERNELS | LOSS_KERNELS}
ALLOWED_DUNDERS = frozenset({"__init__", "__call__", "__repr__", "__len__", "__name__"})
ALLOWED_MAGICS = frozenset({"time", "timeit", "matplotlib"})
CODE_MAGICS = frozenset({"time", "timeit"})    # their line or cell body is Python: scanned as such
ALLOWED_SUBMODULES = ("torch.utils.data",)    # below a refused submodule, but honest (batching)
# `import os` is allowed for these names only (reading the environment).
OS_NAMES = frozenset({"environ", "getenv", "cpu_count"})
MODULE_NAMES = frozenset({"torch", "nn", "F", "np", "numpy", "math", "functional", "os", "sys", "typing",
                          "functools", "itertools", "collections", "dataclasses", "builtins", "random"})
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


def scan_source(source, grade_id, assignment, line_offset=0, depth=0):
    """Read the cell as IPython will run it (magics and `!` become get_ipython() calls), then walk it."""
    try:
        tree = ast.parse(_TRANSFORMER.transform_cell(source))
    except (SyntaxError, ValueError, RecursionError):  # IPython cannot run it either: the cell fails
        return []
    return _scan_tree(tree, grade_id, KERNELS_BY_ASSIGNMENT.get(assignment, frozenset()), line_offset, depth)


def _scan_tree(tree, grade_id, kernels, line_offset, depth):
    skipped = {id(node.func.value.func) for node in ast.walk(tree) if _magic_name(node) in ALLOWED_MAGICS}
    skipped |= _allowed_getattr_names(tree, kernels)
    os_aliases = _os_aliases(tree)
    skipped |= {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name) and node.value.id in os_aliases and node.attr in OS_NAMES}
    findings = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        line = getattr(node, "lineno", 1) + line_offset
        findings.extend(Finding(grade_id, line, what) for what in _node_findings(node, kernels))
        findings.extend(Finding(grade_id, line, what) for what in _os_findings(node, os_aliases))
        if depth < 5:
            for code, offset in _code_in_strings(node):
                found = _scan_code(code, grade_id, kernels, line + offset - 1, depth + 1)
                findings.extend(found if found is not None else
                                [Finding(grade_id, line, "code in a string that cannot be read as Python")])
    return findings


def _scan_code(code, grade_id, kernels, line_offset, depth):
    """Findings of a piece of Python found in a string (None when it does not parse)."""
    try:
        tree = ast.parse(_TRANSFORMER.transform_cell(code))
    except (SyntaxError, ValueError, RecursionError):
        return None
    return _scan_tree(tree, grade_id, kernels, line_offset, depth)


def _code_in_strings(node):
    """(Python text, line offset) that will run from this node: a %time/%timeit line, a %%time/%%timeit
    cell body, a string annotation (typing.get_type_hints, functools.singledispatch evaluate it)."""
    magic = _magic_name(node)
    if magic in CODE_MAGICS:
        arguments = [a.value for a in node.args[1:] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if node.func.attr == "run_cell_magic" and len(arguments) == 2:
            yield _without_magic_options(arguments[0]) or "pass", 1
            yield arguments[1], 2
        elif arguments:
            yield _without_magic_options(arguments[0]), 1
        return
    annotations = []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        args = node.args
        annotations = [a.annotation for a in [*args.posonlyargs, *args.args, *args.kwonlyargs,
                                              args.vararg, args.kwarg] if a is not None]
        if not isinstance(node, ast.Lambda):
            annotations.append(node.returns)
    elif isinstance(node, ast.AnnAssign):
        annotations = [node.annotation]
    for annotation in annotations:
        for inner in ast.walk(annotation) if annotation is not None else ():
            if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                yield inner.value, 1


def _without_magic_options(line):
    """The code of a %time / %timeit line: leading options (-n 10, -r1, -q, -o) removed."""
    words = line.strip().split()
    while words and words[0].startswith("-"):
        option = words.pop(0)
        if option in ("-n", "-r", "-p") and words:
            words.pop(0)
    return " ".join(words)


def _allowed_getattr_names(tree, kernels):
    """ids of `getattr` names in calls that read a named, public, harmless attribute of an object that is
    not a module: getattr(config, "hidden_size", 8) is ordinary code."""
    allowed = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                and 2 <= len(node.args) <= 3 and not node.keywords
                and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            name, owner = node.args[1].value, node.args[0]
            if (name.isidentifier() and not name.startswith("_") and name not in REFUSED_ATTRIBUTES
                    and name not in kernels and not (isinstance(owner, ast.Name) and owner.id in MODULE_NAMES)
                    and not isinstance(owner, ast.Attribute)):
                allowed.add(id(node.func))
    return allowed


def _os_aliases(tree):
    """Names bound to the os module by `import os` / `import os as o` anywhere in the cell."""
    return {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
            for alias in node.names if alias.name == "os"}


def _os_findings(node, aliases):
    """`os` may only be read for the environment: every other use of its name is flagged."""
    if isinstance(node, ast.ImportFrom) and node.module == "os" and not node.level:
        for alias in node.names:
            if alias.name not in OS_NAMES:
                yield f"imports {alias.name} from os"
    elif isinstance(node, ast.Name) and node.id in aliases:  # os.environ / os.getenv are skipped before
        yield "uses the os module beyond os.environ"


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
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        template = node.func.value
        if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
            yield "str.format on a template that is not a literal (its fields can walk attributes)"
        elif _walking_fields(template.value):
            yield "a str.format field that reads attributes or indexes ({x.attr} / {x[k]})"


def _walking_fields(template):
    """Whether a format template has a replacement field whose name reads an attribute or an index."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    except ValueError:
        return True  # a template str.format would refuse anyway: keep it for a person
    return any("." in name or "[" in name for name in fields)


def _import_findings(module):
    top = module.split(".")[0]
    if top in ("autograder", "rnn_demos"):
        yield f"imports {module} (the course's own code is not part of an answer)"
    elif module == "os":
        return  # its uses are checked by name (_os_findings)
    elif any(module == allowed or module.startswith(allowed + ".") for allowed in ALLOWED_SUBMODULES):
        return
    elif top not in ALLOWED_MODULES:
        yield f"imports {module}"
    elif any(module == refused.rstrip(".") or module.startswith(refused) for refused in REFUSED_SUBMODULES):
        yield f"imports {module}"
