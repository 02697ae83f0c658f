"""The built site: every page of _toc.yml built and in the sidebar in lecture order; in headless Chromium
every page loads with a clean console, fetches nothing from another host, has its math typeset by the
site's own MathJax and its widgets rendered; no built file refers to another host for what it loads."""
from __future__ import annotations

import re
import subprocess
from urllib.parse import urljoin

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from book_toc import REPO_ROOT, book_root, toc_docnames

pytestmark = pytest.mark.browser

TOC_PAGES = toc_docnames(book_root() / "_toc.yml")

# TeX that MathJax should have replaced: display and inline delimiters, environments, and a $...$ span
# holding a TeX command. Looked for only in prose (code blocks may show such text on purpose).
RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$[^$\s][^$\n]*\\[A-Za-z]+[^$\n]*\$")

PROSE_TEXT_JS = """() => {
    const article = document.querySelector('article') || document.body;
    const prose = article.cloneNode(true);
    prose.querySelectorAll('pre, code, script, style, mjx-container, .highlight, .math').forEach(n => n.remove());
    return prose.textContent;
}"""

NAV_LINKS_JS = """() => Array.from(document.querySelectorAll('nav.bd-docs-nav a.reference.internal'))
    .map(a => a.href)"""


def page_url(site_url: str, docname: str) -> str:
    return urljoin(site_url, f"{docname}.html")


def test_every_toc_page_is_built(site_dir):
    missing = [docname for docname in TOC_PAGES if not (site_dir / f"{docname}.html").is_file()]
    assert not missing, f"pages in _toc.yml with no HTML in {site_dir}: {missing}"


def test_index_opens_the_course_and_lists_every_page_in_toc_order(open_page, site_url, site_dir):
    assert (site_dir / "index.html").is_file()
    visit = open_page("index.html")
    root_url = page_url(site_url, TOC_PAGES[0])
    try:
        visit.page.wait_for_url(root_url, timeout=10_000)
    except PlaywrightTimeoutError:
        pytest.fail(f"index.html should lead to the root page {root_url}, the browser is at {visit.page.url}")
    visit.wait_for_mathjax()
    nav_links = [link.split("#")[0] for link in visit.page.evaluate(NAV_LINKS_JS)]
    expected = [page_url(site_url, docname) for docname in TOC_PAGES]
    assert nav_links == expected, "the sidebar should list every page of _toc.yml, in its order"


def math_problems(page) -> list[str]:
    """Math that MathJax left untypeset, could not parse, or never saw (raw TeX in the prose)."""
    problems = [f"math left untypeset: {text!r}" for text in page.locator(
        "span.math:not(:has(mjx-container)), div.math:not(:has(mjx-container))").all_inner_texts()]
    problems += [f"MathJax could not parse: {error.get_attribute('data-mjx-error')!r}"
                 for error in page.locator("mjx-merror").all()]
    problems += [f"raw TeX in the text: {raw!r}" for raw in RAW_TEX.findall(page.evaluate(PROSE_TEXT_JS))]
    return problems


# One visit per page (a visit costs about 2 s): loading, console, requests, math and widgets together.
@pytest.mark.parametrize("docname", TOC_PAGES)
def test_page_works_offline_with_typeset_math_and_no_console_error(open_page, docname):
    visit = open_page(f"{docname}.html")
    try:
        visit.wait_for_widgets()
        widget_problems = []
    except PlaywrightTimeoutError:
        widget_problems = ["saved widget views that the widget manager did not render"]
    problems = visit.problems() + math_problems(visit.page) + widget_problems
    assert not problems, f"{docname}.html:\n" + "\n".join(problems)


def test_search_works_offline(open_page):
    # The word is taken from the root page's title, so it is in the search index whatever the chapters say.
    visit = open_page(f"{TOC_PAGES[0]}.html")
    word = max(re.findall(r"[A-Za-z]{4,}", visit.page.title().split("\u2014")[0]), key=len)
    search = open_page(f"search.html?q={word}")
    results = search.page.locator("#search-results li")
    results.first.wait_for(timeout=15_000)
    assert results.count() >= 1 and not search.problems(), search.problems()


def test_math_comes_from_the_sites_own_mathjax(open_page, site_url):
    """Guards the math test above: at least one page has math, typeset by /vendor/mathjax."""
    for docname in TOC_PAGES:
        visit = open_page(f"{docname}.html")
        if visit.page.locator("mjx-container").count():
            sources = visit.page.evaluate(
                "() => Array.from(document.scripts).map(s => s.src).filter(src => src.includes('mathjax'))")
            assert sources and all(src.startswith(urljoin(site_url, "vendor/mathjax/")) for src in sources)
            return
    pytest.fail("no page of the book has typeset math")


# Markup that makes the browser fetch something at once (unlike <a href>): a remote URL in it is a request
# leaving the machine on every visit, whether or not the browser test visits that page.
REMOTE_RESOURCE_TAG = re.compile(
    r"<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*?\b(?:src|href|data)=[\"']?((?:https?:)?//[^\"' >]+)",
    re.IGNORECASE)
REMOTE_CSS_URL = re.compile(r"(?:url\(|@import)\s*[\"']?((?:https?:)?//[^\"') ;]+)", re.IGNORECASE)


def test_no_built_page_or_stylesheet_loads_from_another_host(site_dir):
    remote = {}
    for path in [*site_dir.rglob("*.html"), *site_dir.rglob("*.css")]:
        pattern = REMOTE_RESOURCE_TAG if path.suffix == ".html" else REMOTE_CSS_URL
        urls = sorted(set(pattern.findall(path.read_text(encoding="utf-8", errors="replace"))))
        if urls:
            remote[str(path.relative_to(site_dir))] = urls
    assert not remote, f"files of the site that load from another host: {remote}"


def test_vendor_has_nothing_left_to_do_once_the_site_is_built(site_dir):
    # `make book` runs `make vendor` each time: once done it must be a no-op (no npm, no copy).
    result = subprocess.run(["make", "-q", "vendor"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"`make vendor` would run again: {result.stdout}{result.stderr}"
    assert (site_dir / "vendor" / "mathjax" / "tex-mml-chtml.js").is_file()


SIDEBAR_ENTRIES_JS = """() => Array.from(document.querySelectorAll('nav.bd-docs-nav a.reference.internal'))
    .map(a => [a.href, a.textContent.trim()])"""


def test_sections_of_every_chapter_are_numbered_from_one(open_page, site_url):
    """Chapter c's pages are c.1, c.2, ... in toc order (a heading on a chapter's first page would take a
    number and shift them)."""
    visit = open_page(f"{TOC_PAGES[0]}.html")
    entries = visit.page.evaluate(SIDEBAR_ENTRIES_JS)
    chapter, expected_section, wrong = None, 0, []
    for _, text in entries:
        number = re.match(r"^(\d+)\.(?:(\d+)\.)?\s", text)
        if not number:
            continue
        if number.group(2) is None:
            chapter, expected_section = number.group(1), 1
            continue
        if number.group(1) != chapter or int(number.group(2)) != expected_section:
            wrong.append(f"{text!r}: expected {chapter}.{expected_section}")
        expected_section += 1
    assert chapter is not None, "no numbered chapter in the sidebar"
    assert not wrong, "\n".join(wrong)


def test_the_exercises_page_states_the_points_the_notebooks_give(site_dir):
    """The page's points table is computed when the page executes; a cached run would keep old totals."""
    import json

    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", (site_dir / "book" / "exercises.html").read_text()))
    for name in ("sequence_models", "rnn", "lstm", "gru", "char_lm"):
        cells = json.loads((REPO_ROOT / "exercises" / name / f"{name}.ipynb").read_text())["cells"]
        total = sum(c["metadata"]["nbgrader"]["points"] for c in cells
                    if c["metadata"].get("nbgrader", {}).get("grade"))
        assert re.search(rf"\b{name} total {total:g}\b", text), f"{name}: the page does not state {total:g} points"
