"""The downloads the site offers students: the exercise notebooks and a wheel of the code they import.

    python _ext/student_package.py OUTPUT_DIR      (run by `make downloads`, which `make book` runs)

writes OUTPUT_DIR/rnn_course-<version>-py3-none-any.whl and OUTPUT_DIR/notebooks/<name>.ipynb (a copy of
each exercises/<name>/<name>.ipynb). The wheel holds what the notebooks import and nothing else: the
course modules reachable by imports from the notebooks' code cells and from `autograder.selfcheck` (the
visible checks), plus all of `rnn_demos`. It never holds the instructor side of the grader
(`FORBIDDEN`): if an import ever pulled one of those in, the build stops here. Its requirements are the
third-party packages those modules import, at the exact pins of requirements.txt.
"""
import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COURSE_PACKAGES = ("rnn_demos", "autograder")
ROOT_MODULES = ("autograder.selfcheck",)
# The case generator (autograder.checks.cases) may ship: the visible checks draw their family cases from it
# with a public seed, and the hidden inputs stay hidden through the term seed, which only grading.json holds.
FORBIDDEN = ("autograder.grading", "autograder.nbgrader", "autograder.hidden", "autograder.assess")
# Import name -> distribution name in requirements.txt, where they differ.
DISTRIBUTIONS = {"PIL": "pillow", "IPython": "ipython"}
DIST_NAME = "rnn_course"


def module_path(module):
    """The source file of a course module (a package's __init__.py), or None if there is none."""
    base = REPO.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(source, package):
    """Absolute names of every module `source` imports (anywhere in the file), relative ones resolved."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return names


def notebook_sources():
    """The code of every exercise notebook's code cells, one string per notebook."""
    sources = []
    for path in sorted(REPO.glob("exercises/*/*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
        # IPython magics are not Python: drop them before parsing.
        sources.append("\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))))
    return sources


def course_closure():
    """(course modules the notebooks need, top-level third-party imports of those modules)."""
    pending = set(ROOT_MODULES) | {f"rnn_demos.{p.stem}" for p in (REPO / "rnn_demos").glob("*.py")}
    for source in notebook_sources():
        pending |= imported_modules(source, "")
    modules, third_party = set(), set()
    while pending:
        name = pending.pop()
        top = name.split(".")[0]
        if top not in COURSE_PACKAGES:
            if top and top not in sys.stdlib_module_names:
                third_party.add(top)
            continue
        path = module_path(name)
        if path is None or name in modules:
            continue  # `from package import function`: not a module
        modules.add(name)
        parts = name.split(".")
        pending |= {".".join(parts[:i]) for i in range(1, len(parts))}  # parent packages
        package = name if path.name == "__init__.py" else ".".join(parts[:-1])
        pending |= imported_modules(path.read_text(), package)
    leaked = sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
    if leaked:
        raise SystemExit(f"student package: these instructor modules are imported by the notebooks' code: {leaked}")
    return modules, third_party


def pinned_requirements(third_party):
    """`name==version` lines of requirements.txt for the given import names."""
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(0)
    wanted = {DISTRIBUTIONS.get(name, name).lower() for name in third_party}
    return sorted(pins[name] for name in wanted if name in pins)


def project_version():
    match = re.search(r'^version\s*=\s*"([^"]+)"', (REPO / "pyproject.toml").read_text(), re.MULTILINE)
    return match.group(1)


def wheel_name():
    return f"{DIST_NAME}-{project_version()}-py3-none-any.whl"


def build(output):
    modules, third_party = course_closure()
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as staging:
        staging = Path(staging)
        for module in sorted(modules):
            source = module_path(module)
            target = staging / source.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        requirements = ", ".join(f'"{line}"' for line in pinned_requirements(third_party))
        (staging / "pyproject.toml").write_text(
            '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "{DIST_NAME}"\nversion = "{project_version()}"\n'
            'description = "The code the exercise notebooks of the RNN course import: demos and visible checks"\n'
            f'requires-python = ">=3.10"\ndependencies = [{requirements}]\n\n'
            '[tool.setuptools.packages.find]\ninclude = ["rnn_demos*", "autograder*"]\n')
        for stale in output.glob(f"{DIST_NAME}-*.whl"):
            stale.unlink()
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                        "--wheel-dir", str(output), str(staging)], check=True)
    notebooks = output / "notebooks"
    shutil.rmtree(notebooks, ignore_errors=True)
    notebooks.mkdir()
    for path in sorted(REPO.glob("exercises/*/*.ipynb")):
        shutil.copy2(path, notebooks / path.name)
    print(f"{output / wheel_name()}: {len(modules)} modules; requires {', '.join(pinned_requirements(third_party))}")
    print(f"{notebooks}: {', '.join(p.name for p in sorted(notebooks.glob('*.ipynb')))}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    build(Path(sys.argv[1]))
