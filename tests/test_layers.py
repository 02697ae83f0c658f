"""The grader's layout: the sandbox's code knows no answer, and the layers import downwards only.

import-linter checks the contracts written in pyproject.toml ([tool.importlinter]) on the source; the
staged runtime is what the sandbox really gets, so it is checked too.
"""
import ast
import subprocess
import sys
from pathlib import Path

from autograder.grading.sandbox import stage_runtime

REPO = Path(__file__).resolve().parents[1]
# Names of what computes or holds an expected value: none may appear in the sandbox's runtime.
ANSWER_MODULES = ("references", "specs", "cases", "mistaken_kernels", "explain", "diagnose", "judge", "compare",
                  "tolerances", "contracts", "assess", "long_range", "gradients")


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 kept, 0 broken" in result.stdout


def test_the_staged_runtime_holds_the_sandbox_package_and_nothing_that_knows_an_answer(tmp_path):
    runtime = stage_runtime(tmp_path / "runtime")
    files = sorted(str(p.relative_to(runtime)) for p in runtime.rglob("*.py"))
    assert "autograder/sandbox/runner.py" in files and "rnn_demos/data.py" in files
    assert {f.split("/")[1] for f in files if f.count("/") == 1} <= {
        "__init__.py", "selfcheck.py", "data.py", "text_data.py"}
    assert not [f for f in files if Path(f).stem in ANSWER_MODULES]
    for path in runtime.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                assert not name.startswith(("autograder.checks", "autograder.hints", "autograder.grading",
                                            "autograder.assess")), f"{path} imports {name}"
    stand_in = (runtime / "autograder" / "selfcheck.py").read_text()
    tree = ast.parse(stand_in)
    assert {f.name for f in tree.body if isinstance(f, ast.FunctionDef)} == {"check", "check_notebook"}
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
