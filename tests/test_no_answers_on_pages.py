"""No page of the built site shows the code of a graded answer.

The chapters give equations, diagrams, shapes and demos; the code of each solution stays in the solution
notebooks. A page's code cells, code blocks and printed outputs (every <pre> of the built page, so a
`print(inspect.getsource(...))` counts) are compared line by line with the solution regions of the
notebooks. Short lines and idioms that many pages share (`loss.backward()`, `with torch.no_grad():`) say
nothing about an answer and are left out; two further lines of one region on one page (or the whole region,
when it has a single line) count as printing it.
"""
from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from bs4 import BeautifulSoup

from book_toc import REPO_ROOT
from autograder.nbgrader.submissions import SOLUTION_MARKERS

SHORTEST_LINE = 12  # characters without spaces: "returnh" or "h=x@W" fit any answer
IDIOM_PAGES = 3  # a line shown on this many pages is course-wide idiom, not an answer
REGION = re.compile(re.escape(SOLUTION_MARKERS[0]) + r"\n(.*?)" + re.escape(SOLUTION_MARKERS[1]), re.S)


def normalised(line: str) -> str:
    return re.sub(r"\s+", "", line.split("#")[0])


def meaningful(text: str) -> set[str]:
    return {line for line in map(normalised, text.splitlines()) if len(line) >= SHORTEST_LINE}


def solution_regions() -> dict[str, set[str]]:
    """{"notebook:grade id": its solution lines} of every solution notebook."""
    regions = {}
    for notebook in sorted((REPO_ROOT / "solutions").glob("*/*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or SOLUTION_MARKERS[0] not in source:
                continue
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "?")
            lines = set().union(*(meaningful(region) for region in REGION.findall(source)))
            if lines:
                regions[f"{notebook.stem}:{grade_id}"] = lines
    return regions


def shown_code(html: str) -> set[str]:
    return set().union(set(), *(meaningful(block.get_text()) for block in BeautifulSoup(html, "html.parser")("pre")))


def printed_answers(pages: dict[str, set[str]], regions: dict[str, set[str]]) -> list[str]:
    """'page shows region: lines' for each region that a page prints."""
    seen_on = Counter(line for lines in pages.values() for line in lines)
    found = []
    for name, lines in regions.items():
        telling = {line for line in lines if seen_on[line] < IDIOM_PAGES}
        for page, shown in pages.items():
            hits = telling & shown
            if hits and len(hits) >= min(2, len(telling)):
                found.append(f"{page} shows {name}: {sorted(hits)}")
    return found


@pytest.fixture(scope="module")
def regions():
    found = solution_regions()
    assert len(found) >= 40, f"only {len(found)} solution regions found: the markers or the notebooks moved"
    return found


def test_no_page_prints_the_code_of_a_graded_answer(site_dir, regions):
    pages = {str(page.relative_to(site_dir)): shown_code(page.read_text())
             for page in sorted((site_dir / "book").rglob("*.html"))}
    assert len(pages) >= 30
    assert printed_answers(pages, regions) == []


def test_a_page_that_prints_a_solution_body_is_found(regions):
    name = "rnn:rnn_bptt"
    body = "\n".join(sorted(regions[name]))
    pages = {"leaky.html": shown_code(f"<pre>{body}</pre>"), "quiet.html": shown_code("<pre>print(1)</pre>")}
    found = printed_answers(pages, {name: regions[name]})
    assert len(found) == 1 and found[0].startswith(f"leaky.html shows {name}")


def test_one_line_answers_are_found_and_idioms_are_not(regions):
    one_line = next(name for name, lines in regions.items() if len(lines) == 1)
    (line,) = regions[one_line]
    assert printed_answers({"page.html": {line}}, {one_line: {line}})
    idiom = {f"p{i}.html": {"withtorch.no_grad():", line} for i in range(IDIOM_PAGES)}
    assert printed_answers(idiom, {one_line: {line}}) == []
