"""The book under test and its pages in table-of-contents order (shared by the site and config tests)."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


def book_root() -> Path:
    """The folder with _config.yml, _toc.yml and _build/: the repository, or $COURSE_BOOK_ROOT."""
    return Path(os.environ.get("COURSE_BOOK_ROOT", REPO_ROOT)).resolve()


def toc_docnames(toc_path: Path) -> list[str]:
    """Every page of a jb-book _toc.yml, root first, then depth first (the reading order)."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    if not isinstance(toc, dict) or toc.get("format") != "jb-book" or "root" not in toc:
        raise ValueError(f"{toc_path}: expected a jb-book table of contents with a root page")
    docnames = [_strip_suffix(toc["root"])]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        docnames += _entries_docnames(part.get("chapters", []), toc_path)
    return docnames


def _entries_docnames(entries: list[dict], toc_path: Path) -> list[str]:
    docnames = []
    for entry in entries:
        if "url" in entry:
            continue  # an external link, not a page of the book
        if "file" not in entry:
            raise ValueError(f"{toc_path}: entry {entry!r} has no 'file' (globs are not supported here)")
        docnames.append(_strip_suffix(entry["file"]))
        docnames += _entries_docnames(entry.get("sections", []), toc_path)
    return docnames


def _strip_suffix(docname: str) -> str:
    for suffix in (".md", ".ipynb", ".rst"):
        if docname.endswith(suffix):
            return docname[: -len(suffix)]
    return docname
