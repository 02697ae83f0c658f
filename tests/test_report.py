"""The instructor report: opened from disk in headless Chromium (every figure there, with alt text
giving its counts; no console error; no request leaves the file), the counts it shows, the CSV export, and
the detection of alike answers."""
import csv
import re
import random
from collections import Counter

import pytest

from autograder.grading.report import normalise_answer, similar_answers, write_csv, write_report
from autograder.grading.results import PartResult, SubmissionResult

ASSIGNMENTS = {"rnn": ("rnn_step", "bptt"), "lstm": ("forget_gate", "cell_update", "lstm_step"),
               "gru": ("reset_gate", "gru_candidate")}
HINTS = ("gate rows taken in the order i, g, f, o", "tanh where a sigmoid belongs", "reset applied before the product")

COMMON_SOLUTION = '''def lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh):
    gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = gates.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next
'''
ORIGINAL = '''def lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """One step of my LSTM."""
    z = torch.addmm(b_ih, x, W_ih.t()) + torch.addmm(b_hh, h, W_hh.t())
    parts = [z[:, k * h.shape[1]:(k + 1) * h.shape[1]] for k in range(4)]
    c2 = parts[1].sigmoid() * c + parts[0].sigmoid() * parts[2].tanh()
    return parts[3].sigmoid() * c2.tanh(), c2
'''
# ORIGINAL with other names, comments, blank lines and another docstring.
DISGUISED_COPY = '''def lstm_step(inp, hid, cell, W_ih, W_hh, b_ih, b_hh):
    # compute all four gates at once
    pre = torch.addmm(b_ih, inp, W_ih.t()) + torch.addmm(b_hh, hid, W_hh.t())

    chunks = [pre[:, j * hid.shape[1]:(j + 1) * hid.shape[1]] for j in range(4)]   # i f g o
    new_cell = chunks[1].sigmoid() * cell + chunks[0].sigmoid() * chunks[2].tanh()
    return chunks[3].sigmoid() * new_cell.tanh(), new_cell
'''
ONE_LINER = "def forget_gate(x, h, W, U, b):\n    return torch.sigmoid(x @ W.T + h @ U.T + b)\n"


def synthetic_results(n_students=12, seed=3):
    rng = random.Random(seed)
    results = []
    for i in range(n_students):
        for assignment, grade_ids in ASSIGNMENTS.items():
            status = rng.choice(["graded"] * 7 + ["timeout", "crashed", "flagged", "missing"])
            parts = []
            if status in ("graded", "flagged"):
                for grade_id in grade_ids:
                    score = rng.choice([0.0, 1.0, 2.0, 2.0])
                    hint = rng.choice(HINTS) if score < 2 and rng.random() < 0.7 else None
                    parts.append(PartResult(grade_id, f"{assignment}.{grade_id}", score, 2.0, hint=hint))
            message = {"timeout": "ran past 60 s", "crashed": "killed by signal 9",
                       "missing": f"no file {assignment}.ipynb"}.get(status, "")
            results.append(SubmissionResult(
                f"s{i:02d}", assignment, status, message=message, score=sum(p.score for p in parts),
                max_score=2.0 * len(grade_ids), seconds=round(rng.uniform(0.2, 9.0), 2), parts=parts))
    return results


def answers_with_a_copy(n_students=12):
    """Most students hand in the common solution; s03 and s07 the same original one, s07 disguised;
    everyone's one-line forget gate is identical."""
    answers = {}
    for i in range(n_students):
        step = {3: ORIGINAL, 7: DISGUISED_COPY}.get(i, COMMON_SOLUTION)
        answers[f"s{i:02d}", "lstm"] = {"lstm_step": step, "forget_gate": ONE_LINER}
    return answers


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    results = synthetic_results()
    folder = tmp_path_factory.mktemp("report")
    made = folder / "course" / "feedback"          # feedback exists for the graded rows of s00 only

    def files(row):
        feedback = made / row.student / row.assignment / f"{row.assignment}.html"
        if row.student == "s00" and row.status == "graded":
            feedback.parent.mkdir(parents=True, exist_ok=True)
            feedback.write_text("<p>feedback</p>")
        return feedback, folder / "course" / "autograded" / "none.ipynb"

    path = write_report(results, folder / "reports" / "report.html", title="Term 1 <grading>",
                        answers=answers_with_a_copy(), files=files, course_dir=folder / "course dir")
    return results, path


def test_normalised_answers_ignore_names_comments_and_layout():
    original, size = normalise_answer(ORIGINAL)
    assert size >= 30
    assert normalise_answer(DISGUISED_COPY)[0] == original
    assert normalise_answer(COMMON_SOLUTION)[0] != original
    assert normalise_answer(ORIGINAL.replace("sigmoid() * c +", "tanh() * c +"))[0] != original
    assert normalise_answer("def broken(:\n") == (None, 0)


def test_only_the_copied_pair_is_alike():
    pairs = similar_answers(answers_with_a_copy())
    assert [(p.assignment, p.student_a, p.student_b, p.grade_ids) for p in pairs] == [
        ("lstm", "s03", "s07", ["lstm_step"])]


@pytest.mark.browser
def test_report_opens_offline_with_every_figure_and_its_counts(report, browser):
    results, path = report
    context = browser.new_context()
    requests, console_errors, page_errors = [], [], []

    def only_this_file(route):
        url = route.request.url
        requests.append(url)
        if url == path.as_uri() or url.startswith("data:"):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context.route("**/*", only_this_file)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    try:
        page.goto(path.as_uri(), wait_until="load")
        images = page.eval_on_selector_all(
            "img", "imgs => imgs.map(i => ({alt: i.alt, loaded: i.complete && i.naturalWidth > 0}))")
        tables = {table_id: page.eval_on_selector_all(
            f"#{table_id} tbody tr", "rows => rows.map(r => Array.from(r.cells, c => c.textContent))")
            for table_id in ("status-counts", "status-messages", "mistakes", "slowest", "similar",
                             "submission-table")}
        links = page.eval_on_selector_all("#submission-table a", "links => links.map(a => a.getAttribute('href'))")
        review_commands = page.eval_on_selector_all("#flagged code", "codes => codes.map(c => c.textContent)")
        title = page.title()
    finally:
        context.close()

    assert console_errors == [] and page_errors == []
    assert [url for url in requests if url != path.as_uri() and not url.startswith("data:")] == []
    assert title == "Term 1 <grading>"

    # figures: statuses, and per assignment its scores and its parts (if any submission has parts)
    with_parts = {r.assignment for r in results if r.parts}
    assert len(images) == 1 + len(ASSIGNMENTS) + len(with_parts)
    assert all(image["loaded"] and image["alt"] for image in images)
    statuses = Counter(r.status for r in results)
    status_alt = next(image["alt"] for image in images if image["alt"].startswith("Bar chart of statuses"))
    for status, count in statuses.items():
        assert f"{status} {count}" in status_alt
    graded = [r for r in results if r.status == "graded"]    # the statistics leave the others out
    for assignment in ASSIGNMENTS:
        scores = [r.score for r in graded if r.assignment == assignment]
        full = sum(1 for r in graded if r.assignment == assignment and r.score == r.max_score)
        assert any(image["alt"].startswith(f"Histogram of {assignment} scores") and
                   f"{len(scores)} submissions: {full} at full marks" in image["alt"] for image in images)
    lstm_parts = next(image["alt"] for image in images if image["alt"].startswith("Stacked bar chart of lstm"))
    forget = [p for r in graded if r.assignment == "lstm" for p in r.parts if p.grade_id == "forget_gate"]
    assert (f"forget_gate {sum(p.score == 2 for p in forget)} full, {sum(p.score == 1 for p in forget)} partial, "
            f"{sum(p.score == 0 for p in forget)} zero") in lstm_parts

    # tables
    assert {row[0]: int(row[1]) for row in tables["status-counts"]} == statuses
    messages = Counter((r.status, r.message) for r in results if r.message)
    assert {(s, m): int(n) for s, m, n in tables["status-messages"]} == messages
    hints = Counter((r.assignment, p.grade_id, p.hint) for r in results for p in r.parts if p.hint)
    shown = {(a, g, h): int(n) for a, g, h, n in tables["mistakes"]}
    assert shown == hints                       # at most 3 hints per part here: all shown
    slowest = sorted(results, key=lambda r: -r.seconds)[:10]
    assert [(row[0], row[1], float(row[3])) for row in tables["slowest"]] == [
        (r.student, r.assignment, round(r.seconds, 1)) for r in slowest]
    assert tables["similar"] == [["lstm", "s03", "s07", "1", "lstm_step"]]

    # every submission, the flagged ones first, each with its review command; links only to files that exist
    rows = tables["submission-table"]
    assert sorted((row[0], row[1], row[2]) for row in rows) == sorted((r.student, r.assignment, r.status)
                                                                      for r in results)
    flagged = [r for r in results if r.status == "flagged"]
    assert flagged and [row[2] for row in rows[:len(flagged)]] == ["flagged"] * len(flagged)
    assert len(review_commands) == len(flagged)
    assert all("--course-dir '" in command and " --accept" in command for command in review_commands)
    s00_graded = sum(r.student == "s00" and r.status == "graded" for r in results)
    assert len(links) == s00_graded > 0 and all((path.parent / link).is_file() for link in links)


def test_report_escapes_what_students_wrote(tmp_path):
    hostile = SubmissionResult("<script>alert(1)</script>", "lstm", "crashed",
                               message='<img src="http://example.org/x">', seconds=1.0)
    text = write_report([hostile], tmp_path / "r.html").read_text()
    assert "<script>alert" not in text and '<img src="http' not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_csv_has_one_row_per_submission(tmp_path):
    results = synthetic_results(n_students=4)
    with open(write_csv(results, tmp_path / "grades.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["student", "assignment", "score", "max_score", "status", "reason", "seconds"]
    assert len(rows) == len(results)
    by_key = {(r["student"], r["assignment"]): r for r in rows}
    for r in results:
        row = by_key[r.student, r.assignment]
        assert (float(row["score"]), float(row["max_score"]), row["status"], float(row["seconds"])) == (
            r.score, r.max_score, r.status, r.seconds)
        assert row["reason"] == r.message


def test_csv_cells_are_never_formulas_nor_control_bytes(tmp_path):
    """A student id or a message chosen by a student cannot become a spreadsheet formula or move a cursor."""
    rows = [SubmissionResult(name, "lstm", "graded", message=message, score=1.0, max_score=2.0)
            for name, message in (("=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0"), ("@sum", "-1+2"),
                                  ("\tbob", "ok"), ("eve\x1b[2J\x9b", "line\rover\x07"))]
    text = write_csv(rows, tmp_path / "grades.csv").read_text()
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text)
    with open(tmp_path / "grades.csv", newline="") as f:
        for row in csv.DictReader(f):
            for key in ("student", "reason"):
                assert not row[key].startswith(("=", "+", "-", "@", "\t", "\r")), row[key]


@pytest.mark.browser
def test_the_submissions_table_sorts_numbers_as_numbers(tmp_path, browser):
    """Scores and times sort by value ("2.25" before "2.5" before "10", which neither a text nor a
    digit-run collation gives), text columns by text; the order flips on the
    second press, from the mouse or the keyboard, and aria-sort says which way."""
    rows = [SubmissionResult(student, "rnn", "graded", score=score, max_score=13.0, seconds=seconds)
            for student, score, seconds in (("amy", 10.0, 3.0), ("bob", 2.5, 100.0), ("cat", 2.25, 20.0))]
    path = write_report(rows, tmp_path / "report.html")
    page = browser.new_page()
    try:
        page.goto(path.as_uri())

        def column(index):
            return page.eval_on_selector_all("#submission-table tbody tr",
                                             f"rows => rows.map(r => r.cells[{index}].textContent)")

        page.click("#submission-table th button:text-is('score')")
        assert column(4) == ["2.25/13", "2.5/13", "10/13"]
        assert page.get_attribute("#submission-table th:nth-child(5)", "aria-sort") == "ascending"
        page.click("#submission-table th button:text-is('score')")
        assert column(4) == ["10/13", "2.5/13", "2.25/13"]
        assert page.get_attribute("#submission-table th:nth-child(5)", "aria-sort") == "descending"
        page.focus("#submission-table th button:text-is('seconds')")
        page.keyboard.press("Enter")
        assert column(5) == ["3.0", "20.0", "100.0"]
        assert page.get_attribute("#submission-table th:nth-child(5)", "aria-sort") is None
        page.keyboard.press("Enter")
        page.focus("#submission-table th button:text-is('student')")
        page.keyboard.press("Space")
        assert column(0) == ["amy", "bob", "cat"]
        assert page.eval_on_selector_all("#submission-table th[aria-sort]", "cells => cells.length") == 1
    finally:
        page.close()
