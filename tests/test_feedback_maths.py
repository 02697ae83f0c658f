"""The maths of a feedback page: typeset into SVG where Node and the vendored MathJax are there, else the
vendored MathJax copied beside the page; a page typeset once is left alone. Node is there wherever the site
is built (`make vendor` runs npm), so the first test is never skipped."""
import pytest

from autograder.nbgrader.feedback import MATHJAX_FILE, typeset_feedback

PAGE = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>feedback</title>
<script>window.MathJax = {{tex: {{inlineMath: [['$', '$'], ['\\\\(', '\\\\)']]}}}};</script>
<script src="{MATHJAX_FILE}" defer></script></head>
<body><div class="text_cell_render"><p>The step is $h_t = \\tanh(x_t W_{{ih}}^\\top + h_{{t-1}} W_{{hh}}^\\top)$ and
\\(\\sigma(a) &lt; 1\\).</p><p>$$\\frac{{\\partial L}}{{\\partial h_{{t-1}}}} = \\delta_t W_{{hh}}$$</p></div>
<pre>print("costs $5, not $6")</pre></body></html>
"""


@pytest.fixture
def feedback_folder(tmp_path):
    folder = tmp_path / "feedback" / "ann" / "rnn"
    folder.mkdir(parents=True)
    (folder / "rnn.html").write_text(PAGE, encoding="utf-8")
    return folder


def test_maths_is_typeset_into_the_page_and_its_scripts_go(feedback_folder):
    assert typeset_feedback(feedback_folder)
    page = (feedback_folder / "rnn.html").read_text(encoding="utf-8")
    assert page.count("<mjx-container") == 3 and page.count("<svg") >= 3
    assert "<script" not in page and "$h_t" not in page and "\\(" not in page
    assert 'costs $5, not $6' in page  # code is not maths
    assert not (feedback_folder / "mathjax").exists()

    typeset_once = (feedback_folder / "rnn.html").stat().st_mtime_ns
    assert typeset_feedback(feedback_folder)
    assert (feedback_folder / "rnn.html").stat().st_mtime_ns == typeset_once


def test_without_node_the_vendored_mathjax_goes_beside_the_page(feedback_folder, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "no programs here"))
    assert typeset_feedback(feedback_folder)
    assert (feedback_folder / "rnn.html").read_text(encoding="utf-8") == PAGE
    assert (feedback_folder / MATHJAX_FILE).is_file()
