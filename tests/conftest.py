"""Shared fixtures: the built site, served on 127.0.0.1, and a headless Chromium that records what a page
does wrong (console errors, uncaught exceptions, failed loads, requests that leave the machine).

The site is the repository's book (or the one under $COURSE_BOOK_ROOT, e.g. a small scratch book):
its `_toc.yml` and its `_build/html`.
"""
from __future__ import annotations

import functools
import shutil
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

from book_toc import book_root as _book_root
from instructor_term import term  # noqa: F401 (a graded term, shared by the instructor and browser tests)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Schemes that never reach a network (inline data, in-page objects).
OFFLINE_SCHEMES = {"data", "blob", "about"}


@pytest.fixture(scope="session")
def book_root() -> Path:
    """The folder holding _config.yml, _toc.yml and _build/ of the book under test."""
    return _book_root()


@pytest.fixture(scope="session")
def site_dir(book_root: Path) -> Path:
    """The built site, `_build/html`. Never skipped: a missing build is a failure."""
    html = book_root / "_build" / "html"
    if not (html / "index.html").is_file():
        pytest.fail(
            f"The site is not built: {html / 'index.html'} does not exist. "
            f"Run `make book` in {book_root} first.",
            pytrace=False,
        )
    return html


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature fixed by http.server
        pass


@pytest.fixture(scope="session")
def site_url(site_dir: Path):
    """Base URL (ending in '/') of the built site served by a threaded http.server on a free port."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (no browser download)."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} not found: run `make system-deps` (installs Debian's chromium).",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def is_local_url(url: str) -> bool:
    """True for URLs that cannot leave the machine: loopback hosts and data:/blob:/about: URLs."""
    parts = urlsplit(url)
    if parts.scheme in OFFLINE_SCHEMES:
        return True
    return parts.hostname in LOCAL_HOSTS or (parts.scheme == "file" and not parts.hostname)


@dataclass
class PageVisit:
    """A page opened in its own browser context, and what went wrong while it loaded and ran.

    Requests to other hosts are aborted before they leave the machine and listed in external_requests.
    """

    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every recorded problem, one line each (empty when the page behaved)."""
        return (
            [f"console error: {text}" for text in self.console_errors]
            + [f"page error: {text}" for text in self.page_errors]
            + [f"request leaving the machine: {url}" for url in self.external_requests]
            + [f"failed request: {text}" for text in self.failed_requests]
        )

    def wait_for_mathjax(self) -> None:
        """Wait until MathJax, if it loaded, has finished typesetting the page.

        Call once the page's scripts have run (open_page does, after the load event); when MathJax did
        not load (blocked, missing), this returns at once and the math stays untypeset for tests to see.
        """
        self.page.evaluate(
            "async () => { const startup = window.MathJax && window.MathJax.startup;"
            " if (startup && startup.promise) await startup.promise; }"
        )

    def wait_for_widgets(self, timeout_ms: float = 30_000) -> None:
        """Wait until the widget manager has rendered every saved widget view on the page."""
        self.page.wait_for_function(UNRENDERED_WIDGET_VIEWS_JS + ".length === 0", timeout=timeout_ms)


# Saved widget views (one <script> per view, in the cell output) that have no rendered widget next to them.
UNRENDERED_WIDGET_VIEWS_JS = """Array.from(
    document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')
).filter(view => !view.parentElement.querySelector('.jupyter-widgets'))"""


def _watch(context, visit: PageVisit) -> None:
    def route(route):
        url = route.request.url
        if is_local_url(url):
            route.continue_()
        else:
            visit.external_requests.append(url)
            route.abort("blockedbyclient")

    def on_response(response):
        if response.status >= 400 and is_local_url(response.url):
            visit.failed_requests.append(f"{response.status} {response.url}")

    def on_request_failed(request):
        if is_local_url(request.url):
            visit.failed_requests.append(f"{request.failure} {request.url}")

    context.route("**/*", route)
    context.on("response", on_response)
    context.on("requestfailed", on_request_failed)


def _record_console_error(visit: PageVisit, message) -> None:
    if message.type == "error":
        visit.console_errors.append(f"{message.text} (at {message.location.get('url') or '?'})")


@pytest.fixture
def open_page(browser, site_url):
    """open_page(path_or_url, wait_until="networkidle") -> PageVisit.

    A relative path is taken from the site's root (e.g. "book/rnn/index.html"). Each call gets a fresh
    browser context, closed at the end of the test. The recorded lists keep filling while the test
    interacts with the page.
    """
    contexts = []

    def open_(path_or_url: str, wait_until: str = "networkidle") -> PageVisit:
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        visit = PageVisit(page)
        _watch(context, visit)
        page.on("console", functools.partial(_record_console_error, visit))
        page.on("pageerror", lambda error: visit.page_errors.append(str(error)))
        page.goto(urljoin(site_url, path_or_url), wait_until=wait_until)
        visit.wait_for_mathjax()
        return visit

    yield open_
    for context in contexts:
        context.close()
