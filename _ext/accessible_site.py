"""Sphinx extension: what the course adds to the theme so that every reader can use the site.

- Figures: a figure a chapter draws carries its alt text inside its PNG (rnn_demos.alt_text, set up by
  rnn_demos.style in the kernel); here it becomes the `alt` of the page's <img> (myst-nb would
  otherwise write the file path). A figure with no text is a build warning (an error under -W).
- Theme fixes, on every page (tests/test_accessibility.py lists what is left and why):
  * the sidebar's expand buttons (<summary> with only an icon) are named after their chapter;
  * the folded code cells' toggles lose myst-nb's aria-label "Toggle hidden content", which differs from
    the visible "Show code cell source" (a speech-input user says what they see);
  * course.css: a visible focus ring, demos that reflow at 400 px (a control's row grows when it wraps),
    display equations that scroll inside the text column when scaling them (accessible_site.js) is not
    enough;
  * accessible_site.js: names and values of the demo controls, live summaries (see the script).
"""
import html
import re
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

from rnn_demos.alt_text import png_alt

logger = logging.getLogger(__name__)


def _image_alt_from_png(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    for image in doctree.findall(nodes.image):
        uri = image.get("uri", "")
        if image.get("alt") and image["alt"] != uri:
            continue
        if not uri.endswith(".png") or "://" in uri:
            continue
        # myst-nb writes its figures outside the source folder and gives their path from the source root
        # (or an absolute one); a figure of a page's own is relative to the page.
        places = [Path(uri), Path(app.srcdir) / uri.lstrip("/"), Path(app.env.relfn2path(uri, docname)[1])]
        path = next((place for place in places if place.is_file()), None)
        text = png_alt(path.read_bytes()) if path else None
        if text:
            image["alt"] = text
        else:
            logger.warning(f"figure without alt text: {uri} (describe it with rnn_demos.style.set_alt_text)",
                           location=image, type="accessible_site", subtype="alt")


# pydata-sphinx-theme's sidebar: <a ...>Chapter</a><details ...><summary><span class="toctree-toggle" ...
SIDEBAR_TOGGLE = re.compile(r'(<a class="reference internal" href="[^"]*">([^<]+)</a>\s*<details[^>]*>\s*)<summary>')
CODE_TOGGLE_LABEL = '<summary aria-label="Toggle hidden content">'


def name_sidebar_toggles(toctree):
    """The theme's sidebar (HTML text, or the BeautifulSoup tree some of its callers ask for) with each
    expand button named after its chapter."""
    if isinstance(toctree, str):
        return SIDEBAR_TOGGLE.sub(
            lambda m: f'{m.group(1)}<summary aria-label="Sections of '
                      f'{html.escape(html.unescape(m.group(2)).strip())}">', toctree)
    for summary in toctree.select("li.has-children > details > summary:not([aria-label])"):
        link = summary.parent.find_previous_sibling("a")
        if link is not None:
            summary["aria-label"] = f"Sections of {link.get_text().strip()}"
    return toctree


def _fix_theme_markup(app, pagename, templatename, context, doctree) -> None:
    generate = context.get("generate_toctree_html")
    if generate is not None and not getattr(generate, "names_toggles", False):
        def generate_named(*args, **kwargs):
            return name_sidebar_toggles(generate(*args, **kwargs))

        generate_named.names_toggles = True
        context["generate_toctree_html"] = generate_named
    if "body" in context:
        context["body"] = context["body"].replace(CODE_TOGGLE_LABEL, "<summary>")


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", _image_alt_from_png)
    app.connect("html-page-context", _fix_theme_markup, priority=900)  # after the theme fills the context
    app.add_css_file("course.css")
    app.add_js_file("accessible_site.js")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
