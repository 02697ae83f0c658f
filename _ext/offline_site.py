"""Sphinx extension that keeps the built site self-contained (no request leaves the reader's machine).

- Serves the two scripts in `static/` from `_static/` (listed in `nb_ipywidgets_js` in _config.yml,
  between require.js and the widget manager): widgets_require_paths.js lets the widget manager find its
  fonts on the site, widgets_mathjax3.js lets it typeset widget labels with MathJax 3.
- Stops sphinx-thebe from adding its loader to every page. Jupyter Book always loads sphinx-thebe, whose
  loader points at unpkg.com; this course has no live-code button, and Sphinx 7.4 writes the loader's
  inline `const THEBE_JS_URL` twice (an asset added after the builder starts is added again with the
  filename '' instead of None), which throws "Identifier 'THEBE_JS_URL' has already been declared".
"""
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

STATIC_DIR = Path(__file__).parent / "static"
THEBE_LOADER = ("sphinx_thebe", "init_thebe_core")


def _add_static_dir(app: Sphinx, config) -> None:
    config.html_static_path.append(str(STATIC_DIR))


def _drop_thebe_loader(app: Sphinx) -> None:
    listeners = app.events.listeners.get("env-before-read-docs", [])
    loaders = [
        listener for listener in listeners
        if (listener.handler.__module__, listener.handler.__name__) == THEBE_LOADER
    ]
    if "sphinx_thebe" in app.extensions and not loaders:
        raise ExtensionError(
            "offline_site: sphinx_thebe is loaded but its init_thebe_core listener was not found; "
            "check whether the sphinx-thebe version still adds a CDN loader to every page."
        )
    for listener in loaders:
        app.disconnect(listener.id)


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx_thebe")  # so that its listeners exist before we remove the loader
    _drop_thebe_loader(app)
    app.connect("config-inited", _add_static_dir)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
