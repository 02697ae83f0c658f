"""A student who only has the site can run the exercises: the downloads it offers, used as a student would.

The wheel and the notebooks are fetched over HTTP from the built site (served locally), the wheel is
installed into a fresh virtual environment, and each notebook runs top to bottom in a real kernel of
that environment (nbclient): every check says "not implemented yet" and nothing else goes wrong.

The fresh environment sees the third-party packages of the project's own .venv (torch 2.13.0, numpy,
ipykernel, ...) through a .pth file, so that the test needs neither a network nor a 200 MB torch install;
`pip install --no-index` then installs the wheel against those packages, checking its pinned
requirements. The project's own course code is not visible there: the .venv holds it as an editable
install whose hook a .pth-added folder does not run, and the kernel works in a temporary folder, so the
course code the notebooks import can only come from the wheel (asserted).
"""
from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import sysconfig
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest

from book_toc import REPO_ROOT

pytestmark = pytest.mark.browser  # needs the built site

INTRO_PAGE = "book/intro.html"
NOTEBOOKS = sorted(path.name for path in REPO_ROOT.glob("exercises/*/*.ipynb"))
INSTRUCTOR_ONLY = ("autograder/grading/", "autograder/nbgrader/", "autograder/hidden.py", "autograder/cases.py")


def download_links(site_url):
    """{file name: absolute URL} of every link under downloads/ on the intro page."""
    html = urllib.request.urlopen(site_url + INTRO_PAGE).read().decode()
    links = {}
    for href in re.findall(r'href="([^"]*downloads/[^"]+)"', html):
        url = urllib.parse.urljoin(site_url + INTRO_PAGE, href)
        links[url.rsplit("/", 1)[-1]] = url
    return links


@pytest.fixture(scope="module")
def downloads(site_url, tmp_path_factory):
    """The wheel and every exercise notebook, downloaded from the links on the site's intro page."""
    folder = tmp_path_factory.mktemp("downloads")
    links = download_links(site_url)
    wheels = [name for name in links if name.endswith(".whl")]
    assert len(wheels) == 1, f"the intro page should link one wheel, found {wheels}"
    missing = sorted(set(NOTEBOOKS) - set(links))
    assert not missing, f"exercise notebooks with no download link on {INTRO_PAGE}: {missing}"
    for name, url in links.items():
        (folder / name).write_bytes(urllib.request.urlopen(url).read())
    return folder, folder / wheels[0]


def test_the_wheel_holds_the_course_code_students_need_and_no_grading_code(downloads):
    _, wheel = downloads
    names = zipfile.ZipFile(wheel).namelist()
    assert "autograder/selfcheck.py" in names and "rnn_demos/demos.py" in names
    leaked = [name for name in names if name.startswith(INSTRUCTOR_ONLY)]
    assert not leaked, f"instructor-side modules in the student wheel: {leaked}"
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: torch==2.13.0" in metadata


def test_the_intro_page_gives_the_exact_install_command(downloads, site_url):
    _, wheel = downloads
    page = urllib.request.urlopen(site_url + INTRO_PAGE).read().decode()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))  # the code block is split into highlighted spans
    assert f"pip install ./{wheel.name}" in text


@pytest.fixture(scope="module")
def student_python(downloads, tmp_path_factory):
    """The python of a fresh venv with the downloaded wheel installed (see the module docstring)."""
    _, wheel = downloads
    venv = tmp_path_factory.mktemp("student") / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    fresh_site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                     check=True, capture_output=True, text=True).stdout.strip())
    (fresh_site / "project_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # The venv's own setuptools (if any) would shadow the project's newer one, which torch requires.
    subprocess.run([python, "-m", "pip", "uninstall", "--quiet", "--yes", "setuptools"], cwd=venv.parent,
                   env=clean_environment(), capture_output=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-index", str(wheel)], check=True,
                   cwd=venv.parent, env=clean_environment())
    subprocess.run([python, "-m", "ipykernel", "install", "--prefix", str(venv), "--name", "python3"],
                   check=True, capture_output=True, cwd=venv.parent, env=clean_environment())
    return python


def clean_environment(**extra):
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("PYTHONPATH", "RNN_DEMOS_MODE", "JUPYTER_PATH", "VIRTUAL_ENV")}
    return {**environment, **extra}


def test_the_course_code_comes_from_the_wheel(student_python, tmp_path):
    where = subprocess.run(
        [student_python, "-c", "import rnn_demos, autograder.selfcheck as s; print(rnn_demos.__file__); print(s.__file__)"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=clean_environment()).stdout.split()
    venv = student_python.parent.parent
    assert all(Path(path).is_relative_to(venv) for path in where), where
    hidden = subprocess.run([student_python, "-c", "import autograder.hidden"], capture_output=True, text=True,
                            cwd=tmp_path, env=clean_environment())
    assert hidden.returncode != 0 and "ModuleNotFoundError" in hidden.stderr


RUN_NOTEBOOK = """
import json, sys
import nbformat
from nbclient import NotebookClient

notebook = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(notebook, kernel_name="python3", timeout=300, allow_errors=True,
               resources={"metadata": {"path": sys.argv[2]}}).execute()
cells = []
for cell in notebook.cells:
    if cell.cell_type != "code":
        continue
    errors = [(o["ename"], o["evalue"]) for o in cell.outputs if o["output_type"] == "error"]
    text = "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")
    cells.append({"source": cell.source, "errors": errors, "text": text})
print(json.dumps(cells))
"""


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_a_downloaded_notebook_runs_top_to_bottom_with_only_not_implemented_checks(
        student_python, downloads, notebook, tmp_path):
    folder, _ = downloads
    venv = student_python.parent.parent
    result = subprocess.run(
        [student_python, "-c", RUN_NOTEBOOK, str(folder / notebook), str(tmp_path)], capture_output=True,
        text=True, cwd=tmp_path, timeout=600,
        env=clean_environment(JUPYTER_PATH=str(venv / "share" / "jupyter"), HOME=str(tmp_path)))
    assert result.returncode == 0, result.stderr[-3000:]
    cells = json.loads(result.stdout.strip().splitlines()[-1])
    check_cells = [cell for cell in cells if re.search(r"^check\(", cell["source"], re.MULTILINE)]
    assert check_cells, f"{notebook}: no check cell"
    for cell in check_cells:
        assert len(cell["errors"]) == 1, f"{notebook}: {cell['source']!r} -> {cell['errors']}"
        name, message = cell["errors"][0]
        assert name == "NotImplementedError" and "not implemented yet" in message, (cell["source"], name, message)
    for cell in cells:
        assert all(name == "NotImplementedError" for name, _ in cell["errors"]), \
            f"{notebook}: {cell['source'][:200]!r} failed with {cell['errors']}"
    (summary,) = [cell for cell in cells if "check_notebook(" in cell["source"]]
    *statuses, total = [line for line in summary["text"].splitlines() if line.strip()]
    assert statuses and not summary["errors"]
    assert all("not implemented yet" in line for line in statuses), summary["text"]
    assert total == f"0 of {len(statuses)} checks passed"
