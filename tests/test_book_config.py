"""The book's sources and configuration, checked without building: pages exist, carry the jupytext header
and no outputs; the site loads no script from another host; the npm pins are exact and locked."""
from __future__ import annotations

import json
import re

import nbformat
import pytest
import yaml

from book_toc import REPO_ROOT, book_root, toc_docnames

BOOK = book_root()
TOC_PAGES = toc_docnames(BOOK / "_toc.yml")
PAGE_SUFFIXES = (".md", ".ipynb")
FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


def page_sources(docname: str) -> list:
    return [BOOK / f"{docname}{suffix}" for suffix in PAGE_SUFFIXES if (BOOK / f"{docname}{suffix}").is_file()]


def book_pages_on_disk() -> list:
    return sorted(p for p in (BOOK / "book").rglob("*") if p.suffix in PAGE_SUFFIXES
                  and ".ipynb_checkpoints" not in p.parts and "_build" not in p.parts)


def load_config() -> dict:
    return yaml.safe_load((BOOK / "_config.yml").read_text(encoding="utf-8"))


def test_toc_lists_each_page_once():
    repeated = sorted({docname for docname in TOC_PAGES if TOC_PAGES.count(docname) > 1})
    assert not repeated, f"pages listed more than once in _toc.yml: {repeated}"


@pytest.mark.parametrize("docname", TOC_PAGES)
def test_toc_page_has_exactly_one_source(docname):
    sources = page_sources(docname)
    assert len(sources) == 1, (
        f"_toc.yml lists {docname!r}: expected one of {docname}.md / {docname}.ipynb, found {sources}"
    )


def test_every_page_under_book_is_in_the_toc():
    # only_build_toc_files is on: a page missing from _toc.yml would silently not be built.
    listed = set(TOC_PAGES)
    orphans = [str(p.relative_to(BOOK)) for p in book_pages_on_disk()
               if str(p.relative_to(BOOK).with_suffix("")) not in listed]
    assert not orphans, f"pages under book/ that _toc.yml does not list (never built): {orphans}"


@pytest.mark.parametrize("path", [p for p in book_pages_on_disk() if p.suffix == ".md"],
                         ids=lambda p: str(p.relative_to(BOOK)))
def test_markdown_page_is_a_myst_notebook_for_python3(path):
    match = FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    assert match, f"{path}: no front matter; start the page with the jupytext header (see README)"
    header = yaml.safe_load(match.group(1)) or {}
    text_representation = header.get("jupytext", {}).get("text_representation", {})
    assert text_representation.get("extension") == ".md", f"{path}: jupytext extension should be .md"
    assert text_representation.get("format_name") == "myst", f"{path}: jupytext format_name should be myst"
    assert header.get("kernelspec", {}).get("name") == "python3", f"{path}: kernelspec name should be python3"


def test_notebook_pages_have_no_outputs():
    dirty = {}
    for path in (p for p in book_pages_on_disk() if p.suffix == ".ipynb"):
        notebook = nbformat.read(path, as_version=4)
        cells = [i for i, cell in enumerate(notebook.cells)
                 if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
        if cells:
            dirty[str(path.relative_to(BOOK))] = cells
    assert not dirty, f"notebook pages with outputs or execution counts in these code cells (clear them): {dirty}"


def test_pages_are_executed_with_the_cache_and_fail_on_errors():
    config = load_config()
    assert config["execute"]["execute_notebooks"] == "cache"
    assert config["execute"].get("allow_errors", False) is False
    assert config["sphinx"]["config"].get("nb_execution_raise_on_error") is True


def test_site_scripts_are_served_locally():
    config = load_config()
    sphinx = config["sphinx"]["config"]
    script_paths = [sphinx["mathjax_path"], *sphinx["nb_ipywidgets_js"]]
    remote = [path for path in script_paths if "://" in path or path.startswith("//")]
    assert not remote, f"scripts loaded from another host: {remote}"
    assert not config.get("launch_buttons", {}).get("thebe", False), "thebe loads its kernel client from unpkg"
    assert "offline_site" in config["sphinx"].get("local_extensions", {})


def test_html_extra_path_is_the_folder_make_vendor_fills():
    # mathjax_path and nb_ipywidgets_js point at ../vendor/..., which exists only if html_extra_path
    # names the folder that the Makefile's vendor target fills.
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    site_assets = re.search(r"^SITE_ASSETS\s*:=\s*(\S+)", makefile, re.MULTILINE)
    assert site_assets, "Makefile: no SITE_ASSETS := <folder> for the vendor target"
    downloads = re.search(r"^SITE_DOWNLOADS\s*:=\s*(\S+)/downloads$", makefile, re.MULTILINE)
    assert downloads, "Makefile: no SITE_DOWNLOADS := <folder>/downloads for the downloads target"
    sphinx = load_config()["sphinx"]["config"]
    assert sphinx["html_extra_path"] == [site_assets.group(1), downloads.group(1)]
    assert sphinx["mathjax_path"].startswith("../vendor/mathjax/")


def test_npm_packages_are_pinned_exactly_and_locked():
    package = json.loads((REPO_ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text(encoding="utf-8"))
    for name, version in {**package["dependencies"], **package.get("devDependencies", {})}.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"package.json: {name} {version!r} is not an exact pin"
        locked = lock["packages"].get(f"node_modules/{name}", {}).get("version")
        assert locked == version, f"package-lock.json has {name} {locked}, package.json pins {version}"
    assert lock["packages"][""]["dependencies"] == package["dependencies"], "package-lock.json is stale"
