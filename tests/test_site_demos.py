"""The gradient demos on the built site, in headless Chromium with no kernel.

For each chapter's demo page: every control of every demo is moved through all its positions (sliders
with the keyboard, dropdowns by selecting), and after each move the picture shown must differ from the
one before (compared by a SHA-256 of the image bytes, since every render gets a fresh blob: URL). The
page must log no console error, raise no exception, and send no request off the machine (fixtures in
conftest.py). The page's weight and its embedded widget state are checked on the HTML file.
"""
import re
import time

import pytest

from rnn_demos.widgets import DEMO_CLASS

CHAPTERS = ("sequence_models", "rnn", "lstm", "gru", "char_lm")
MAX_PAGE_BYTES = 2_000_000
CHANGE_TIMEOUT_S = 10.0

# The hash of the one visible <img> in a demo, or a string saying why there is not exactly one.
SHOWN_IMAGE_JS = """async (demo) => {
    const shown = Array.from(demo.querySelectorAll('img')).filter(img => img.offsetParent !== null);
    if (shown.length !== 1) return `expected one visible image, found ${shown.length}`;
    if (!shown[0].complete || shown[0].naturalWidth === 0) return 'image not loaded yet';
    const bytes = await (await fetch(shown[0].src)).arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', bytes);
    return 'sha256:' + Array.from(new Uint8Array(digest), b => b.toString(16).padStart(2, '0')).join('');
}"""


def page_path(chapter):
    return f"book/{chapter}/gradient_demo.html"


def demos_in_source(book_root, chapter):
    """How many demos the page's source shows: one `show(...)` line per demo."""
    source = (book_root / "book" / chapter / "gradient_demo.md").read_text()
    return len(re.findall(r"^show\(", source, flags=re.MULTILINE))


def shown_image(demo):
    return demo.evaluate(SHOWN_IMAGE_JS)


def wait_for_new_image(demo, previous, what):
    deadline = time.monotonic() + CHANGE_TIMEOUT_S
    while True:
        current = shown_image(demo)
        if current.startswith("sha256:") and current != previous:
            return current
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: the shown figure did not change within {CHANGE_TIMEOUT_S} s ({current})")
        time.sleep(0.05)


def move_slider_through_all_positions(demo, handle, label, shown):
    last = int(float(handle.get_attribute("aria-valuemax")))
    handle.focus()
    if float(handle.get_attribute("aria-valuenow")) != 0:
        handle.press("Home")
        shown = wait_for_new_image(demo, shown, f"slider {label!r} to its first position")
    for position in range(1, last + 1):
        handle.press("ArrowRight")
        assert int(float(handle.get_attribute("aria-valuenow"))) == position, f"slider {label!r} did not move"
        shown = wait_for_new_image(demo, shown, f"slider {label!r} to position {position}")
    return shown


def move_dropdown_through_all_options(demo, select, label, shown):
    options = select.locator("option").count()
    start = select.evaluate("s => s.selectedIndex")
    for index in [*range(start + 1, options), *range(0, start + 1)]:
        select.select_option(index=index)
        shown = wait_for_new_image(demo, shown, f"dropdown {label!r} to option {index}")
    return shown


@pytest.mark.browser
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_control_of_every_demo_changes_the_figure(open_page, book_root, chapter):
    visit = open_page(page_path(chapter))
    page = visit.page
    page.wait_for_selector(f".{DEMO_CLASS} img", timeout=60_000)
    demos = page.locator(f".{DEMO_CLASS}")
    assert demos.count() == demos_in_source(book_root, chapter) >= 1
    for number in range(demos.count()):
        demo = demos.nth(number)
        title = demo.locator(".widget-html-content").first.inner_text()
        assert f"{DEMO_CLASS}-static" in demo.get_attribute("class"), f"{title}: the site needs the static demo"
        shown = wait_for_new_image(demo, None, f"{title}: first figure")
        selects = demo.locator("select")
        handles = demo.locator(".noUi-handle")
        assert selects.count() + handles.count() >= 1, f"{title}: no control found"
        for index in range(selects.count()):
            label = demo.locator(".widget-dropdown .widget-label").nth(index).inner_text()
            shown = move_dropdown_through_all_options(demo, selects.nth(index), f"{title} / {label}", shown)
        for index in range(handles.count()):
            label = demo.locator(".widget-slider .widget-label").nth(index).inner_text()
            shown = move_slider_through_all_positions(demo, handles.nth(index), f"{title} / {label}", shown)
    assert visit.problems() == []


@pytest.mark.browser
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_demo_page_is_light_and_embeds_its_widget_state(site_dir, chapter):
    html = (site_dir / page_path(chapter)).read_bytes()
    assert len(html) <= MAX_PAGE_BYTES, f"{page_path(chapter)} weighs {len(html) / 1e6:.2f} MB"
    assert b"application/vnd.jupyter.widget-state+json" in html
    assert f"{DEMO_CLASS}-static".encode() in html
