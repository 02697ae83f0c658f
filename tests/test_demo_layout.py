"""Layout of the demos and the display equations on the built site, measured in headless Chromium.

At 400 px (a phone) and 1280 px (a laptop), on every page of the book that has a demo or a display
equation, in one browser context:
- no two parts of a demo (its title, each control's label, the control itself, a slider's readout, the
  figure, the summary under it) overlap: their bounding boxes, measured after the page has laid out,
  intersect by at most one pixel;
- none of them, and no display equation, is cut horizontally: each lies inside every ancestor that clips
  (overflow other than visible) and inside the window, and a display equation needs no sideways scrolling
  (its box is as wide as its typeset content), so a wide equation must wrap or scale.
"""
from __future__ import annotations

import re

import pytest

from book_toc import book_root, toc_docnames
from rnn_demos.widgets import DEMO_CLASS, SUMMARY_CLASS

pytestmark = pytest.mark.browser

WIDTHS = (400, 1280)
TOLERANCE_PX = 1
BOOK = book_root()
TOC_PAGES = toc_docnames(BOOK / "_toc.yml")


def pages_to_measure() -> list[tuple[str, bool]]:
    """(docname, has a demo) for the pages whose source has a demo (a `show(` line) or a display equation
    (`$$` or a math directive)."""
    measured = []
    for docname in TOC_PAGES:
        source = next((BOOK / f"{docname}{suffix}" for suffix in (".md", ".ipynb")
                       if (BOOK / f"{docname}{suffix}").is_file()), None)
        if source is None:
            continue
        text = source.read_text(encoding="utf-8")
        has_demo = re.search(r"^show\(", text, flags=re.MULTILINE) is not None
        if has_demo or "$$" in text or "```{math}" in text:
            measured.append((docname, has_demo))
    return measured


# The boxes of every visible part of every demo, each with the demo's index and a short name.
DEMO_PARTS_JS = f"""() => {{
    const parts = [['title', '.widget-html-content b'], ['label', '.widget-label'], ['dropdown', 'select'],
                   ['slider', '.noUi-target'], ['readout', '.widget-readout'], ['figure', 'img'],
                   ['summary', '.{SUMMARY_CLASS}']];
    const found = [];
    document.querySelectorAll('.{DEMO_CLASS}').forEach((demo, index) => {{
        for (const [kind, selector] of parts) {{
            for (const node of demo.querySelectorAll(selector)) {{
                if (node.offsetParent === null) continue;  // a hidden frame of a stack
                const box = node.getBoundingClientRect();
                if (box.width === 0 || box.height === 0) continue;
                const text = (node.textContent || node.alt || '').trim().slice(0, 30);
                found.push({{demo: index, name: `${{kind}} '${{text}}'`, left: box.left, right: box.right,
                             top: box.top, bottom: box.bottom}});
            }}
        }}
    }});
    return found;
}}"""

# Parts of demos and display equations that something cuts horizontally: an ancestor that clips, the
# window, or (for an equation) its own box, narrower than its content.
CUT_JS = f"""(width) => {{
    const cut = [];
    const nodes = [...document.querySelectorAll(
        '.{DEMO_CLASS} .widget-label, .{DEMO_CLASS} select, .{DEMO_CLASS} .noUi-target, '
        + '.{DEMO_CLASS} .widget-readout, .{DEMO_CLASS} img, .{DEMO_CLASS} .{SUMMARY_CLASS}, '
        + 'div.math, mjx-container[display="true"]')];
    for (const node of nodes) {{
        if (node.offsetParent === null) continue;
        const box = node.getBoundingClientRect();
        const name = `${{node.tagName.toLowerCase()}}.${{node.className || ''}} '${{(node.textContent || node.alt || '').trim().slice(0, 40)}}'`;
        if (box.left < -{TOLERANCE_PX} || box.right > width + {TOLERANCE_PX}) {{
            cut.push(`${{name}}: ${{Math.round(box.left)}}..${{Math.round(box.right)}} px, outside the window`);
            continue;
        }}
        if (node.scrollWidth > node.clientWidth + {TOLERANCE_PX} && getComputedStyle(node).overflowX !== 'visible') {{
            cut.push(`${{name}}: content ${{node.scrollWidth}} px wide in a ${{node.clientWidth}} px box`);
            continue;
        }}
        for (let parent = node.parentElement; parent && parent !== document.body; parent = parent.parentElement) {{
            if (getComputedStyle(parent).overflowX === 'visible') continue;
            const clip = parent.getBoundingClientRect();
            if (box.left < clip.left - {TOLERANCE_PX} || box.right > clip.right + {TOLERANCE_PX}) {{
                cut.push(`${{name}}: ${{Math.round(box.left)}}..${{Math.round(box.right)}} px, clipped by `
                         + `${{parent.tagName.toLowerCase()}}.${{parent.className}} at ${{Math.round(clip.left)}}..${{Math.round(clip.right)}}`);
                break;
            }}
        }}
    }}
    return cut;
}}"""


def overlaps(parts: list[dict]) -> list[str]:
    """Every pair of parts of one demo whose boxes intersect by more than the tolerance both ways."""
    found = []
    for first_index, first in enumerate(parts):
        for second in parts[first_index + 1:]:
            if first["demo"] != second["demo"]:
                continue
            across = min(first["right"], second["right"]) - max(first["left"], second["left"])
            down = min(first["bottom"], second["bottom"]) - max(first["top"], second["top"])
            if across > TOLERANCE_PX and down > TOLERANCE_PX:
                found.append(f"demo {first['demo'] + 1}: {first['name']} overlaps {second['name']} "
                             f"({across:.0f} x {down:.0f} px)")
    return found


def test_overlaps_finds_intersecting_boxes_only():
    def box(name, left, top, right, bottom, demo=0):
        return dict(demo=demo, name=name, left=left, top=top, right=right, bottom=bottom)

    label, select = box("label", 0, 0, 100, 20), box("select", 90, 10, 200, 30)
    below, other_demo = box("figure", 0, 20.5, 100, 60), box("figure", 0, 0, 100, 20, demo=1)
    assert overlaps([label, select]) == ["demo 1: label overlaps select (10 x 10 px)"]
    assert overlaps([label, below, other_demo]) == []


def test_pages_to_measure_include_every_demo_page():
    measured = dict(pages_to_measure())
    demo_pages = {docname for docname in TOC_PAGES if docname.endswith("/gradient_demo")}
    assert demo_pages and all(measured.get(docname) for docname in demo_pages)
    assert measured.get("book/gru/index") is False  # equations, no demo


def test_no_demo_part_overlaps_another_and_nothing_is_cut(browser, site_url):
    problems = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        try:
            page = context.new_page()
            for docname, has_demo in pages_to_measure():
                page.goto(f"{site_url}{docname}.html", wait_until="networkidle")
                if has_demo:
                    page.wait_for_selector(f".{DEMO_CLASS} .{SUMMARY_CLASS}", timeout=60_000)
                page.evaluate("async () => { const s = window.MathJax && MathJax.startup; if (s) await s.promise; }")
                page.wait_for_timeout(200)
                where = f"{docname} at {width} px"
                problems += [f"{where}: {line}" for line in overlaps(page.evaluate(DEMO_PARTS_JS))]
                problems += [f"{where}: {line}" for line in page.evaluate(CUT_JS, width)]
        finally:
            context.close()
    assert not problems, f"{len(problems)} layout problems:\n" + "\n".join(problems)
