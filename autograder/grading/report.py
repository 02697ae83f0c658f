"""The instructor's view of a graded batch: one HTML file that works opened from disk (figures embedded
as PNG, one small inline script of its own that sorts the submissions' table, no request), and a CSV for
an LMS.

    write_report(results, "report.html", title="RNN course, term 1", answers=answers)
    write_csv(results, "grades.csv")

The report holds the submissions flagged for review (the lines found and the command that settles each),
a table of every submission (status, reason, score, time, links to its feedback and autograded notebook;
sorted by any column from the buttons of its headers, with the mouse or the keyboard),
the statuses with their counts and messages, the score distribution of each assignment and of each of its
parts in notebook order (graded submissions only), the most frequent diagnosed mistakes of each part
(``PartResult.hint``), the slowest submissions, and, given the answer cells' sources, the pairs of
submissions whose answers are identical once comments, docstrings, layout and identifier names are
normalised away (see ``similar_answers``).
"""
import ast
import base64
import csv
import html
import io
import itertools
import os
import shlex
import textwrap
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .results import GRADED
from .safe_text import csv_cell, printable
from .results import STATUSES

CSV_COLUMNS = ("student", "assignment", "score", "max_score", "status", "reason", "seconds")
# An answer is compared only when its normalised syntax tree has at least this many nodes:
# `return torch.sigmoid(x @ W.T + b)` in its def has about 20, so one-line answers are left out.
MIN_ANSWER_NODES = 30
# Identical answers shared by more than this share of a part's submissions are the common solution,
# not a sign of copying.
COMMON_ANSWER_SHARE = 0.2


def write_csv(results, path):
    """One row per submission: student, assignment, score, max_score, status, reason, seconds; every text
    cell made safe for a spreadsheet (no control bytes, no formula: autograder.grading.safe_text)."""
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for r in sorted(results, key=lambda r: (r.student, r.assignment)):
            writer.writerow([csv_cell(r.student), csv_cell(r.assignment), f"{r.score:g}", f"{r.max_score:g}",
                             r.status, csv_cell(r.message), f"{r.seconds:.2f}"])
    return Path(path)


# ---------------------------------------------------------------- similar answers

@dataclass
class SimilarPair:
    assignment: str
    student_a: str
    student_b: str
    grade_ids: list        # the answer cells that are identical once normalised


def normalise_answer(source):
    """The answer's code with comments, docstrings, layout and identifier names normalised away
    (names renamed v0, v1, ... in order of appearance; attributes such as torch.tanh kept), and the
    size of its syntax tree; (None, 0) when it does not parse."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except (SyntaxError, ValueError):
        return None, 0
    tree = _Renamer().visit(_without_docstrings(tree))
    return ast.unparse(tree), sum(1 for _ in ast.walk(tree))


def _without_docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


class _Renamer(ast.NodeTransformer):
    def __init__(self):
        self.names = {}

    def _rename(self, name):
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        node.id = self._rename(node.id)
        return node

    def visit_arg(self, node):
        node.arg = self._rename(node.arg)
        node.annotation = None
        return node

    def _visit_definition(self, node):
        node.name = self._rename(node.name)
        return self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _visit_definition


def similar_answers(answers, min_nodes=MIN_ANSWER_NODES, common_share=COMMON_ANSWER_SHARE):
    """Pairs of students of one assignment with identical normalised answers in non-trivial cells,
    most shared cells first. answers: {(student, assignment): {grade_id: source}}."""
    groups = defaultdict(lambda: defaultdict(list))     # (assignment, grade_id) -> normalised -> students
    for (student, assignment), cells in answers.items():
        for grade_id, source in cells.items():
            code, size = normalise_answer(source)
            if code is not None and size >= min_nodes:
                groups[assignment, grade_id][code].append(student)
    shared = defaultdict(list)                          # (assignment, a, b) -> grade ids
    for (assignment, grade_id), by_code in groups.items():
        answered = sum(len(students) for students in by_code.values())
        for students in by_code.values():
            if len(students) > max(2, common_share * answered):
                continue
            for a, b in itertools.combinations(sorted(students), 2):
                shared[assignment, a, b].append(grade_id)
    pairs = [SimilarPair(assignment, a, b, sorted(ids)) for (assignment, a, b), ids in shared.items()]
    return sorted(pairs, key=lambda p: (-len(p.grade_ids), p.assignment, p.student_a, p.student_b))


# ---------------------------------------------------------------- figures

def _png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure_html(figure, alt):
    return (f'<figure><img src="data:image/png;base64,{_png(figure)}" alt="{html.escape(alt)}">'
            f"<figcaption>{html.escape(alt)}</figcaption></figure>")


def _status_figure(counts):
    figure = Figure(figsize=(6, 0.4 * len(counts) + 1))
    axes = figure.subplots()
    names = list(counts)
    axes.barh(names, [counts[n] for n in names], color="#4c72b0")
    axes.invert_yaxis()
    axes.set_xlabel("submissions")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("Statuses")
    alt = "Bar chart of statuses: " + ", ".join(f"{n} {counts[n]}" for n in names)
    return _figure_html(figure, alt)


def _score_figure(assignment, scores, max_score):
    figure = Figure(figsize=(6, 2.8))
    axes = figure.subplots()
    top = max(max_score, *scores)
    whole_points = top <= 40 and all(float(s).is_integer() for s in [top, *scores])
    bins = [k - 0.5 for k in range(int(top) + 2)] if whole_points else 10   # one bar per point
    axes.hist(scores, bins=bins, range=None if whole_points else (0, top or 1), color="#55a868",
              edgecolor="white")
    axes.set_xlabel(f"score (out of {max_score:g})")
    axes.set_ylabel("submissions")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(f"{assignment}: scores")
    full = sum(1 for s in scores if max_score and s >= max_score)
    zero = sum(1 for s in scores if s == 0)
    mean = sum(scores) / len(scores)
    alt = (f"Histogram of {assignment} scores out of {max_score:g}, {len(scores)} submissions: "
           f"{full} at full marks, {zero} at zero, mean {mean:.1f}")
    return _figure_html(figure, alt)


def _parts_figure(assignment, part_counts):
    """Stacked bars per part: submissions with full, partial and no marks."""
    names = list(part_counts)
    figure = Figure(figsize=(6, 0.45 * len(names) + 1.2))
    axes = figure.subplots()
    left = [0] * len(names)
    for kind, colour in (("full", "#55a868"), ("partial", "#dd8452"), ("zero", "#c44e52")):
        values = [part_counts[n][kind] for n in names]
        axes.barh(names, values, left=left, color=colour, label=kind)
        left = [a + b for a, b in zip(left, values)]
    axes.invert_yaxis()
    axes.set_xlabel("submissions")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(f"{assignment}: marks per part")
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    alt = f"Stacked bar chart of {assignment} marks per part (full, partial, zero): " + "; ".join(
        f"{n} {c['full']} full, {c['partial']} partial, {c['zero']} zero" for n, c in part_counts.items())
    return _figure_html(figure, alt)


# ---------------------------------------------------------------- the page

def _table(table_id, header, rows):
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _status_section(results):
    counts = Counter(r.status for r in results)
    ordered = {s: counts[s] for s in [*STATUSES, *sorted(set(counts) - set(STATUSES))] if counts[s]}
    messages = Counter((r.status, r.message) for r in results if r.message)
    return (
        '<section id="statuses"><h2>Statuses</h2>'
        + _status_figure(ordered)
        + _table("status-counts", ("status", "submissions", "meaning"),
                 [(s, n, STATUSES.get(s, "")) for s, n in ordered.items()])
        + "<h3>Messages</h3>"
        + _table("status-messages", ("status", "message", "submissions"),
                 [(s, m, n) for (s, m), n in messages.most_common()])
        + "</section>")


def _score_section(results):
    counted = [r for r in results if r.status == "graded"]
    left_out = Counter(r.status for r in results if r.status != "graded")
    note = ("<p>Scores of graded submissions only" + (": not counted here, " + ", ".join(
        f"{n} {status}" for status, n in sorted(left_out.items())) if left_out else "") + ".</p>")
    parts = ['<section id="scores"><h2>Scores</h2>', note]
    by_assignment = defaultdict(list)
    for r in counted:
        by_assignment[r.assignment].append(r)
    for assignment in sorted(by_assignment):
        group = by_assignment[assignment]
        max_score = max(r.max_score for r in group)
        parts.append(f"<h3>{html.escape(assignment)}</h3>")
        parts.append(_score_figure(assignment, [r.score for r in group], max_score))
        part_counts = defaultdict(Counter)    # filled in notebook order (a result lists its parts so)
        for r in group:
            for p in r.parts:
                kind = "full" if p.score >= p.max_score > 0 else "zero" if p.score <= 0 else "partial"
                part_counts[p.grade_id][kind] += 1
        if part_counts:
            parts.append(_parts_figure(assignment, dict(part_counts)))
    parts.append("</section>")
    return "".join(parts)


def _link(path, folder, text):
    """A relative link from the report's folder to path, when the file exists."""
    if path is None or not Path(path).is_file():
        return ""
    return f'<a href="{html.escape(os.path.relpath(path, folder))}">{html.escape(text)}</a>'


# (header, kind of its values: "text" or "number", None when the column is not sorted)
SUBMISSION_COLUMNS = (("student", "text"), ("assignment", "text"), ("status", "text"), ("reason", "text"),
                      ("score", "number"), ("seconds", "number"), ("files", None))

# Sorts #submission-table by the column of the header button pressed: ascending, then descending on the next
# press; numbers by the data-value of their cells. The header's aria-sort says the order to screen readers.
SORT_SCRIPT = """(function () {
  var table = document.getElementById("submission-table");
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  function key(row, column, numeric) {
    var cell = row.cells[column];
    return numeric ? parseFloat(cell.getAttribute("data-value")) : cell.textContent;
  }
  headers.forEach(function (header, column) {
    var button = header.querySelector("button");
    if (!button) return;
    button.addEventListener("click", function () {
      var ascending = header.getAttribute("aria-sort") !== "ascending";
      var numeric = header.getAttribute("data-kind") === "number";
      headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a, column, numeric), y = key(b, column, numeric);
        var order = numeric ? x - y : x.localeCompare(y, undefined, {numeric: true});
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();"""


def _submission_header(name, kind):
    if kind is None:
        return f"<th>{name}</th>"
    return (f'<th data-kind="{kind}"><button type="button" title="sort by {name}">{name}</button></th>')


def _submissions_section(results, files, folder):
    """Every submission, flagged first, then by assignment and student; files(result) -> (feedback, notebook).
    The table sorts itself (SORT_SCRIPT) by any column but the links."""
    order = sorted(results, key=lambda r: (r.status != "flagged", r.assignment, r.student))
    rows = []
    for r in order:
        feedback, notebook = files(r) if files else (None, None)
        links = " ".join(filter(None, (_link(feedback, folder, "feedback"), _link(notebook, folder, "notebook"))))
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in (
            r.student, r.assignment, r.status, printable(r.message, 300)))
            + f'<td data-value="{r.score:g}">{r.score:g}/{r.max_score:g}</td>'
            + f'<td data-value="{r.seconds:.3f}">{r.seconds:.1f}</td>' + f"<td>{links}</td></tr>")
    head = "".join(_submission_header(name, kind) for name, kind in SUBMISSION_COLUMNS)
    return ('<section id="submissions"><h2>Submissions</h2><p>Press a column\'s header to sort by it (again: '
            'the other way).</p>'
            f'<table id="submission-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f"<script>{SORT_SCRIPT}</script></section>")


def _flagged_section(results, course_dir):
    flagged = [r for r in results if r.status == "flagged" and not r.review]
    if not flagged:
        return ""
    where = shlex.quote(str(course_dir)) if course_dir else "DIR"
    items = []
    for r in sorted(flagged, key=lambda r: (r.assignment, r.student)):
        lines = "".join(f"<li>{html.escape(printable(line, 300))}</li>" for line in r.findings[:20])
        command = (f"python -m autograder review {r.assignment} --course-dir {where} "
                   f"--student {shlex.quote(r.student)} --accept   # or --reject, with --note TEXT")
        checks = f"{r.checks_score:g}/{r.max_score:g}" if r.checks_score is not None else "?"
        items.append(f"<li><strong>{html.escape(r.student)}</strong> ({html.escape(r.assignment)}; the checks "
                     f"give {checks}):<ul>{lines}</ul><code>{html.escape(command)}</code></li>")
    return ('<section id="flagged"><h2>Flagged for review</h2><p>Scored 0 until a person decides. Read the '
            "lines the scan found, then run the command beside them.</p>"
            f'<ul>{"".join(items)}</ul></section>')


def _mistakes_section(results, top):
    hints = defaultdict(Counter)                 # (assignment, grade_id) -> hint -> submissions
    for r in results:
        for p in r.parts:
            if p.hint:
                hints[r.assignment, p.grade_id][p.hint] += 1
    rows = [(assignment, grade_id, hint, n)
            for (assignment, grade_id) in sorted(hints)
            for hint, n in hints[assignment, grade_id].most_common(top)]
    return ('<section id="mistakes"><h2>Most frequent diagnosed mistakes</h2>'
            + (_table("mistakes", ("assignment", "part", "likely mistake", "submissions"), rows)
               if rows else "<p>No mistake was diagnosed.</p>")
            + "</section>")


def _slowest_section(results, count):
    slowest = sorted(results, key=lambda r: -r.seconds)[:count]
    return ('<section id="slowest"><h2>Slowest submissions</h2>'
            + _table("slowest", ("student", "assignment", "status", "seconds"),
                     [(r.student, r.assignment, r.status, f"{r.seconds:.1f}") for r in slowest])
            + "</section>")


def _similar_section(answers):
    if answers is None:
        return ""
    pairs = similar_answers(answers)
    note = (f"<p>Answer cells compared after removing comments, docstrings and layout and renaming every "
            f"identifier; only answers of at least {MIN_ANSWER_NODES} syntax nodes, and not answers shared "
            f"by more than {COMMON_ANSWER_SHARE:.0%} of a part's submissions (the common solution). "
            f"{len(pairs)} pairs found.</p>")
    table = _table("similar", ("assignment", "student", "student", "identical cells", "cells"),
                   [(p.assignment, p.student_a, p.student_b, len(p.grade_ids), ", ".join(p.grade_ids))
                    for p in pairs]) if pairs else ""
    return f'<section id="similar"><h2>Suspiciously alike answers</h2>{note}{table}</section>'


STYLE = """body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
th{background:#f3f3f3}th button{font:inherit;font-weight:bold;color:#1a4e8a;background:none;border:0;padding:0;
cursor:pointer;text-decoration:underline}th button:focus-visible{outline:3px solid #1a4e8a;outline-offset:2px}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
figure{margin:1rem 0}img{max-width:100%}figcaption{font-size:.85rem;color:#555}"""


def write_report(results, path, title="Grading report", answers=None, top_mistakes=5, slowest=10, files=None,
                 course_dir=None):
    """Write the instructor report of results (SubmissionResults) to one HTML file at path.

    files(result) -> (feedback HTML, autograded notebook) paths, linked from the submissions' table when
    they exist; course_dir goes into the review commands of flagged submissions."""
    results = list(results)
    students = {r.student for r in results}
    assignments = {r.assignment for r in results}
    graded = sum(1 for r in results if r.status in GRADED)
    overview = (f'<p id="overview">{len(results)} submissions from {len(students)} students, '
                f"{len(assignments)} assignments: {graded} graded, {len(results) - graded} not graded.</p>")
    body = (overview + _flagged_section(results, course_dir)
            + _submissions_section(results, files, Path(path).resolve().parent)
            + _status_section(results) + _score_section(results)
            + _mistakes_section(results, top_mistakes) + _slowest_section(results, slowest)
            + _similar_section(answers)) if results else "<p>No submission.</p>"
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(page, encoding="utf-8")
    return Path(path)
