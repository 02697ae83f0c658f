"""What the instructor's term leaves on disk, opened in headless Chromium with every request off the
machine aborted: the report of a real grading round (the `term` of tests/instructor_term.py:
`grade` then `feedback` of sequence_models and rnn) and the feedback pages it links.

- the report lists every submission, its links resolve, its table sorts by a column from the mouse and
  from the keyboard (aria-sort follows, numbers sort as numbers), and axe-core finds no violation;
- each feedback page carries its maths typeset (SVG) and loads no script at all, so it reads offline on its
  own, as nbgrader's release_feedback hands it out (the .html file alone); opened alone with the network
  blocked its maths shows, and at a phone's width nothing on it is wider than the window (long lines wrap);
  plain `nbgrader generate_feedback` makes the same page.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_accessibility import run_axe

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PHONE_WIDTH = 400


def open_offline(browser, path, allowed_root, width=1280):
    """(context, page, blocked URLs): path opened from disk; only files under allowed_root may load."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    blocked = []
    root = allowed_root.resolve().as_uri()

    def on_disk_only(route):
        url = route.request.url
        if url.startswith(root + "/") or url.startswith("data:"):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", on_disk_only)
    page = context.new_page()
    page.goto(path.as_uri(), wait_until="load")
    return context, page, blocked


def submissions(course_dir):
    return {(p.stem, p.parent.name): json.loads(p.read_text())
            for p in (course_dir / ".grading" / "results").glob("*/*.json")}


def table_rows(page):
    return page.eval_on_selector_all(
        "#submission-table tbody tr", "rows => rows.map(r => Array.from(r.cells, c => c.textContent))")


def sort_state(page):
    return page.eval_on_selector_all("#submission-table thead th",
                                     "cells => cells.map(c => c.getAttribute('aria-sort'))")


def test_the_report_lists_links_and_sorts_every_submission(term, browser):
    course_dir, _, feedback = term
    assert feedback.returncode == 0, feedback.stderr[-2000:]
    report = course_dir / "reports" / "sequence_models-rnn.html"
    graded = submissions(course_dir)
    context, page, blocked = open_offline(browser, report, course_dir)
    try:
        rows = table_rows(page)
        assert sorted((row[0], row[1]) for row in rows) == sorted(graded)
        links = page.eval_on_selector_all("#submission-table a", "links => links.map(a => a.getAttribute('href'))")
        assert len(links) == 2 * len(graded) and all((report.parent / link).is_file() for link in links)
        scores = {row["score"] for row in graded.values()}
        assert len(scores) > 1, scores              # the two assignments' full marks differ

        header = page.eval_on_selector_all("#submission-table thead th", "cells => cells.map(c => c.textContent)")
        score = header.index("score")
        button = page.locator("#submission-table th button", has_text="score")
        button.click()
        ascending = [float(row[score].split("/")[0]) for row in table_rows(page)]
        assert ascending == sorted(ascending) != sorted(ascending, reverse=True)
        assert sort_state(page)[score] == "ascending" and sort_state(page).count(None) == len(header) - 1
        button.click()
        descending = [float(row[score].split("/")[0]) for row in table_rows(page)]
        assert descending == sorted(ascending, reverse=True) and sort_state(page)[score] == "descending"

        student = header.index("student")
        page.locator("#submission-table th button", has_text="student").focus()
        page.keyboard.press("Enter")
        names = [row[student] for row in table_rows(page)]
        assert names == sorted(names) and sort_state(page)[student] == "ascending"
        assert sort_state(page)[score] is None
        page.keyboard.press("Space")
        assert [row[student] for row in table_rows(page)] == sorted(names, reverse=True)

        violations = run_axe(page)
    finally:
        context.close()
    assert blocked == []
    assert violations == [], json.dumps(violations, indent=1)[:3000]


def feedback_pages(course_dir):
    pages = sorted(course_dir.glob("feedback/*/*/*.html"))
    assert pages
    return pages


def typeset_and_script_free(html):
    """Whether a feedback page shows its maths as SVG and has no script (none to load, none to run)."""
    return "<script" not in html and re.search(r"<mjx-container[^>]*><svg", html) is not None


def test_feedback_pages_carry_typeset_maths_and_no_script(term):
    course_dir = term[0]
    for page in feedback_pages(course_dir):
        assert typeset_and_script_free(page.read_text(encoding="utf-8")), page
    assert not list(course_dir.glob("feedback/*/*/mathjax"))


def test_feedback_maths_shows_from_the_page_alone_and_fits_a_phone(term, browser, tmp_path):
    course_dir = term[0]
    alone = tmp_path / "released"  # as release_feedback hands it out: the page, nothing beside it
    alone.mkdir()
    page_file = Path(shutil.copy(course_dir / "feedback" / "eve" / "rnn" / "rnn.html", alone))  # a wide formula
    context, page, blocked = open_offline(browser, page_file, alone, width=PHONE_WIDTH)
    try:
        rendered = page.locator("mjx-container > svg").count()
        tex_left = page.evaluate("() => /\\$[^$\\s][^$]*\\$/.test(document.querySelector('#notebook, body').innerText)")
        errors = page.locator("mjx-merror, [data-mjx-error]").count()
        too_wide = page.evaluate("""() => {
            const width = document.documentElement.clientWidth;
            return Array.from(document.body.querySelectorAll('*'))
                .filter(e => e.getBoundingClientRect().right > width + 1 && !(e.parentElement && e.parentElement.closest('mjx-container')))
                .map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 60));
        }""")
        scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    finally:
        context.close()
    assert blocked == []
    assert rendered > 20 and errors == 0 and not tex_left
    assert too_wide == [] and scroll_width <= PHONE_WIDTH, too_wide[:10]


def test_plain_nbgrader_generate_feedback_typesets_its_page(term):
    course_dir = term[0]
    page_file = course_dir / "feedback" / "ann" / "rnn" / "rnn.html"
    page_file.unlink()
    run = subprocess.run([str(Path(sys.executable).with_name("nbgrader")), "generate_feedback", "rnn", "--student",
                          "ann", "--force"], cwd=course_dir, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": ""})
    assert run.returncode == 0, run.stderr[-2000:]
    page = page_file.read_text(encoding="utf-8")
    assert typeset_and_script_free(page) and "cdnjs" not in page
    assert not (page_file.parent / "mathjax").exists()
