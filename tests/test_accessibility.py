"""Accessibility of the built site, in headless Chromium.

- axe-core (npm, pinned in package-lock.json, injected from node_modules: nothing is fetched) on every
  page: no critical or serious violation, apart from the few the theme causes that are listed in
  THEME_EXCEPTIONS with the reason they stay;
- every <img> has alt text, and never a file name;
- every demo control, reached and moved with the keyboard only, has the accessible name of its visible
  label, announces the value the demo defines (with its unit), shows a visible focus ring, and moving it
  changes the text summary under the figure to the one the demo computes for the new setting, inside a
  live region; slider readouts are not editable;
- at 400 px and 1280 px the demo pages keep every control and display equation on screen (screenshots
  in _build/screenshots/, not in git), and at 1280 px the demo figures are shown at their own size, so
  that their 12-point text is as large as the body text.
"""
from __future__ import annotations

import re
import pytest

from book_toc import REPO_ROOT, book_root, toc_docnames
from rnn_demos import char_lm_demos
from rnn_demos import demos as course_demos
from rnn_demos.widgets import DEMO_CLASS, FRAMES_CLASS, SUMMARY_CLASS

pytestmark = pytest.mark.browser

TOC_PAGES = toc_docnames(book_root() / "_toc.yml")
DEMO_PAGES = [docname for docname in TOC_PAGES if docname.endswith("/gradient_demo")]
AXE_SCRIPT = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = book_root() / "_build" / "screenshots"
BLOCKING_IMPACTS = ("critical", "serious")
DEMOS_BY_TITLE = {make().title: make() for make in {**course_demos.DEMOS, **char_lm_demos.DEMOS}.values()}

# (axe rule, CSS selector of the offending node as axe reports it, matched as a regular expression, why it
# stays). Each entry is a failure of the theme (sphinx-book-theme / pydata-sphinx-theme) that the course
# cannot fix without replacing the theme's templates.
THEME_EXCEPTIONS: list[tuple[str, str, str]] = [
    ("label-content-name-mismatch", r"theme-switch-button",
     "pydata-sphinx-theme's colour-mode button shows only Font Awesome icons, whose glyphs axe counts as "
     "visible text; its name 'Color mode' comes from the theme's template, which the course does not "
     "replace (the icons are marked decorative by accessible_site.js, axe still flags it)"),
]

FILE_NAME = re.compile(r"(^|/)[^/\s]+\.(png|jpe?g|gif|svg|webp)$", re.IGNORECASE)


def run_axe(page) -> list[dict]:
    if not AXE_SCRIPT.is_file():
        pytest.fail(f"{AXE_SCRIPT} is missing: run `npm ci` (package-lock.json pins axe-core)", pytrace=False)
    page.add_script_tag(content=AXE_SCRIPT.read_text(encoding="utf-8"))
    return page.evaluate("""async () => {
        const results = await axe.run(document, {resultTypes: ['violations']});
        return results.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), impact: n.impact, html: n.html.slice(0, 160)}))}));
    }""")


def excepted(rule: str, node: dict) -> bool:
    """True when a listed theme exception covers this node (matched on axe's selector or the node's HTML)."""
    return any(rule == rule_id and re.search(pattern, f"{node['target']} {node['html']}")
               for rule_id, pattern, _ in THEME_EXCEPTIONS)


@pytest.mark.parametrize("docname", TOC_PAGES)
def test_axe_finds_no_serious_violation_and_every_image_has_alt_text(open_page, docname):
    visit = open_page(f"{docname}.html")
    visit.wait_for_widgets()
    images = visit.page.evaluate(
        "() => Array.from(document.images).map(img => ({src: img.getAttribute('src') || '',"
        " alt: img.getAttribute('alt')}))")
    bad_images = [image["src"][:80] for image in images
                  if not (image["alt"] or "").strip() or FILE_NAME.search(image["alt"].strip())
                  or image["alt"].strip() == image["src"]]
    assert not bad_images, f"{docname}: images without a text alternative (or with a file name as one): {bad_images}"
    blocking = []
    for violation in run_axe(visit.page):
        for node in violation["nodes"]:
            impact = node["impact"] or violation["impact"]
            if impact in BLOCKING_IMPACTS and not excepted(violation["id"], node):
                blocking.append(f"{impact} {violation['id']} ({violation['help']}): {node['target']}  {node['html']}")
    assert not blocking, f"{docname}.html:\n" + "\n".join(blocking)


# ----- the demos with the keyboard -----

def tab_to(page, element, limit=600):
    """Press Tab until `element` (a locator) has the focus; fail after `limit` presses."""
    for _ in range(limit):
        if element.evaluate("node => node === document.activeElement"):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"{limit} presses of Tab never reached {element}")


def visible_summary(demo) -> str:
    return demo.evaluate(f"""demo => {{
        const shown = Array.from(demo.querySelectorAll('.{SUMMARY_CLASS}')).filter(p => p.offsetParent !== null);
        if (shown.length !== 1) return `expected one visible summary, found ${{shown.length}}`;
        const live = shown[0].closest('[aria-live="polite"]');
        return live && live.classList.contains('{FRAMES_CLASS}') ? shown[0].textContent : 'summary outside the live region';
    }}""")


def wait_for_summary(demo, expected, what):
    import time

    deadline = time.monotonic() + 10
    while (shown := visible_summary(demo)) != expected:
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: the summary under the figure reads {shown!r}, expected {expected!r}")
        time.sleep(0.05)


def focus_ring_width(element) -> float:
    style = element.evaluate("node => { const s = getComputedStyle(node); return [s.outlineStyle, s.outlineWidth]; }")
    return 0.0 if style[0] == "none" else float(style[1].removesuffix("px"))


@pytest.mark.parametrize("docname", DEMO_PAGES)
def test_every_demo_control_works_from_the_keyboard_and_says_what_it_shows(open_page, docname):
    visit = open_page(f"{docname}.html")
    page = visit.page
    page.wait_for_selector(f".{DEMO_CLASS} .{SUMMARY_CLASS}", timeout=60_000)
    visit.wait_for_widgets()
    boxes = page.locator(f".{DEMO_CLASS}")
    assert boxes.count() >= 1
    for number in range(boxes.count()):
        box = boxes.nth(number)
        title = box.locator(".widget-html-content").first.inner_text().strip()
        demo = DEMOS_BY_TITLE[title]
        values = demo.defaults()
        assert box.get_attribute("role") == "group" and page.get_by_role("group", name=title).count() == 1
        wait_for_summary(box, demo.describe(**values), f"{title}: at the defaults")
        assert box.evaluate("b => Array.from(b.querySelectorAll('.widget-readout')).every(r => !r.isContentEditable)")
        for control in demo.controls:
            role = "slider" if control.kind == "slider" else "combobox"
            element = box.get_by_role(role, name=control.label, exact=True)
            assert element.count() == 1, f"{title}: no {role} named {control.label!r}"
            tab_to(page, element)
            assert focus_ring_width(element) >= 2, f"{title} / {control.label}: no visible focus ring"
            labels = [label for label, _ in control.options]
            position = control.values.index(values[control.name])
            if role == "slider":
                assert element.get_attribute("aria-valuetext") == labels[position]
            for step in range(len(labels) - 1):
                key = "ArrowLeft" if position == len(labels) - 1 else "ArrowRight"
                if role == "combobox":
                    key = "ArrowUp" if position == len(labels) - 1 else "ArrowDown"
                page.keyboard.press(key)
                position += -1 if key in ("ArrowLeft", "ArrowUp") else 1
                values[control.name] = control.values[position]
                what = f"{title} / {control.label} -> {labels[position]}"
                if role == "slider":
                    assert element.get_attribute("aria-valuetext") == labels[position], what
                else:
                    assert element.evaluate("s => s.options[s.selectedIndex].text") == labels[position], what
                wait_for_summary(box, demo.describe(**values), what)
                if step >= 2:
                    break  # three moves per control: enough to see it work, and the page stays quick
    assert visit.problems() == []


# ----- narrow and wide screens -----

OFF_SCREEN_JS = """(width) => {
    const selectors = ['.rnn-gradient-demo .noUi-handle', '.rnn-gradient-demo select',
                       '.rnn-gradient-demo .widget-readout', '.rnn-gradient-demo .widget-label',
                       '.rnn-gradient-demo img', 'div.math'];
    const off = [];
    for (const selector of selectors) {
        for (const node of document.querySelectorAll(selector)) {
            if (node.offsetParent === null) continue;  // a hidden frame of a stack
            const box = node.getBoundingClientRect();
            if (box.left < -1 || box.right > width + 1) off.push(`${selector} at ${Math.round(box.left)}..${Math.round(box.right)}: ${(node.textContent || node.alt || '').trim().slice(0, 40)}`);
        }
    }
    return off;
}"""


@pytest.mark.parametrize("width", [400, 1280])
def test_demo_pages_keep_controls_and_equations_on_screen(browser, site_url, width):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        problems = []
        for docname in DEMO_PAGES:
            page = context.new_page()
            page.goto(f"{site_url}{docname}.html", wait_until="networkidle")
            page.wait_for_selector(f".{DEMO_CLASS} .{SUMMARY_CLASS}", timeout=60_000)
            page.evaluate("async () => { const s = window.MathJax && MathJax.startup; if (s) await s.promise; }")
            page.wait_for_timeout(300)
            page.screenshot(path=str(SCREENSHOTS / f"{docname.replace('/', '_')}_{width}px.png"), full_page=True)
            problems += [f"{docname}: {line}" for line in page.evaluate(OFF_SCREEN_JS, width)]
            if width >= 1280:
                scaled = page.evaluate(f"""() => Array.from(document.querySelectorAll('.{DEMO_CLASS} img'))
                    .filter(img => img.offsetParent !== null && img.width < img.naturalWidth)
                    .map(img => `${{img.width}} of ${{img.naturalWidth}} px`)""")
                problems += [f"{docname}: demo figure shrunk to {size}" for size in scaled]
            page.close()
        assert not problems, "\n".join(problems)
    finally:
        context.close()

