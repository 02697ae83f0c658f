"""Grade one submission: read it, plan it, scan it, run it in a sandbox, judge what came back.

`grade_one(job)` never raises for anything a submission does: every way it can end is a status of
autograder.grading.results. The grader builds every input here (from the term seed), sends the inputs of
each check into the sandbox as arrays, and reads back only the records the sandbox wrote (npz without
pickle, size-checked, one per call it asked for); `autograder.assess` rebuilds the inputs and computes
the references here, in a process the student's code never touched. The sandbox knows no answer.
"""
import functools
import hashlib
import io
import json
import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat

from autograder.assess import assess, prepare_references
from autograder.checks.cases import hidden_cases
from autograder.checks.collect import case_records, planned_calls
from autograder.checks.specs import SPECS
from autograder.sandbox.devices import disable_tf32
from autograder.sandbox.observe import warm_meta_device
from autograder.sandbox.snapshots import OtherSnapshot, ScalarSnapshot
from autograder.sandbox.wire import load_records, write_inputs
from .plan import Tampered, parts_of, plan_submission
from .results import PartResult, SubmissionResult
from .sandbox import Limits, ensure_runtime, run_in_server, run_job
from .scan import scan_cells
from .safe_text import clean, redact_numbers
from .submission_files import RefusedFile, folder_listing, read_file

MAX_NOTEBOOK_BYTES = 20 << 20
MAX_RECORDS_BYTES = 16 << 20


@dataclass(frozen=True)
class GradingJob:
    student: str
    assignment: str
    submission: str      # path of the submitted notebook
    source: str          # path of the instructor's source notebook
    seed: int            # the term seed of the course's grading configuration
    runtime_dir: str     # the staged course packages the sandbox imports
    limits: Limits = Limits()
    device: str = "cpu"
    unsafe: bool = False  # run without the sandbox (only with an explicit flag)
    fork_server: bool = True  # fork a clean child of a warm sandbox instead of starting a new sandbox


def fingerprint(job):
    """What a grade depends on: the submission, the source, the seed and the device (a submission file
    that cannot be read counts by its kind and size only: it is never read through a link)."""
    digest = hashlib.sha256()
    try:
        submission = read_file(job.submission, MAX_NOTEBOOK_BYTES, root=Path(job.submission).parents[2])
    except (OSError, RefusedFile, ValueError) as error:
        submission = f"<{type(error).__name__}>".encode()
        try:
            info = os.lstat(job.submission)
            submission += f"{info.st_mode}/{info.st_size}/{info.st_nlink}/{info.st_mtime_ns}".encode()
        except OSError:
            pass
    digest.update(submission)
    digest.update(Path(job.source).read_bytes() if Path(job.source).is_file() else b"<missing>")
    digest.update(f"{job.seed}/{job.device}".encode())
    return digest.hexdigest()[:32]


_meta_warming, _meta_warm = threading.Lock(), threading.Event()


def warm_host():
    """Load the meta device's kernels in this process once (about 1 s), before grading threads compute
    meta references side by side; `python -m autograder grade` calls it while its fork server starts."""
    if not _meta_warm.is_set():
        with _meta_warming:
            if not _meta_warm.is_set():
                warm_meta_device()
                _meta_warm.set()


def grade_one(job):
    warm_host()
    start = time.perf_counter()
    if job.device == "cuda":
        disable_tf32()  # the references run here, on the host, in full float32 like the student's code
    try:
        result = _grade(job)
    except Exception as error:  # a bug of the grader: the batch goes on, the row says so
        result = SubmissionResult(job.student, job.assignment, "error",
                                  f"the grader failed: {type(error).__name__}: {error}")
    result.seconds = round(time.perf_counter() - start, 3)
    result.fingerprint = fingerprint(job)
    result.message = clean(result.message, 2000)
    for part in result.parts:
        part.message, part.hint = clean(part.message, 4000), part.hint and clean(part.hint, 500)
    if not result.max_score:
        result.max_score = _max_score(job)
    return result


def _grade(job):
    row = SubmissionResult(job.student, job.assignment, "graded")
    source_nb = nbformat.read(job.source, as_version=4)
    parts = parts_of(source_nb)
    row.max_score = sum(p.points for p in parts)
    submitted_nb, status, notes = read_submission(Path(job.submission))
    if submitted_nb is None:
        return _zero(row, parts, status, notes)
    notes = [notes] if notes else []
    kernel = submitted_nb.metadata.get("kernelspec", {}).get("name", "python3")
    if kernel != source_nb.metadata.get("kernelspec", {}).get("name", "python3"):
        notes.append(f"kernelspec {kernel!r} ignored: graded as Python")
    try:
        plan = plan_submission(source_nb, submitted_nb)
    except Tampered as error:
        return _zero(row, parts, "tampered", str(error))
    notes += plan.notes
    findings = scan_cells(plan.student_cells(), job.assignment)

    ensure_runtime(job.runtime_dir)
    request, inputs = sandbox_request(plan.cells, parts, job)
    references = threading.Thread(target=_prepare_references, args=(parts, job), daemon=True)
    references.start()  # on this host, while the sandbox runs: the sandbox never sees them
    if job.unsafe or not job.fork_server:
        run = run_job(request, inputs, job.runtime_dir, job.limits, unsafe=job.unsafe)
    else:
        run = run_in_server(request, inputs, job.runtime_dir, job.limits)
    references.join()
    report = _report(run)
    checks = {c.get("grade_id"): c for c in report.get("checks", []) if isinstance(c, dict)} if report else {}
    row.parts = [_judge_part(part, run.files, checks.get(part.grade_id), job) for part in parts]
    row.score = sum(p.score for p in row.parts)
    cell_errors = _cell_errors(report)

    if run.timed_out:
        row.status, why = "timeout", (f"stopped by the wall-clock limit of {job.limits.submission_seconds} s "
                                      "for the whole submission")
    elif report is None and run.out_of_memory:
        row.status, why = "oom", f"went over the memory limit of {job.limits.memory_mb} MB outside the checks"
    elif report is None:
        row.status, why = "crashed", _crash_reason(run)
    else:
        row.status, why = "graded", ""
    if findings:
        flag(row, findings)
        shown = "; ".join(row.findings[:5]) + (f"; and {len(findings) - 5} more" if len(findings) > 5 else "")
        why = f"for review: {shown} (the checks alone give {row.checks_score:g}/{row.max_score:g})"
    elif row.status == "graded" and any(p.message.startswith("no credit:") for p in row.parts):
        row.status = "refused"
        why = "; ".join(f"{p.grade_id}: {p.message}" for p in row.parts if p.message.startswith("no credit:"))
    lost = [p.grade_id for p in row.parts if p.score < p.max_score]
    details = [why] if why else []
    if row.status == "graded" and lost and row.score > 0:
        details.append("lost points in " + ", ".join(lost))
    if cell_errors and row.status in ("graded", "crashed"):
        details.append("cells that raised: " + ", ".join(cell_errors))
    row.message = "; ".join(details + notes)
    return row


def sandbox_request(cells, parts, job):
    """(the job the sandbox runs, the npz bytes of its checks' inputs): cells, and per graded part the
    function to call, what to refuse, its CPU time and the inputs of its hidden cases; no seed, no case
    generator, no reference."""
    checks = []
    for part in parts:
        spec = SPECS[part.check_id]
        checks.append({"grade_id": part.grade_id, "check_id": part.check_id, "function": part.function,
                       "refusals": list(spec.refusals), "cpu_seconds": spec.cpu_seconds or job.limits.check_seconds})
    inputs = _check_inputs(tuple((part.grade_id, part.check_id) for part in parts), job.device, job.seed)
    request = {"cells": cells, "checks": checks, "device": job.device, "cell_seconds": job.limits.cell_seconds}
    return request, inputs


@functools.lru_cache(maxsize=32)
def _check_inputs(parts, device, seed):
    """The npz bytes of the hidden inputs of parts ((grade id, check id), ...): the same for every
    submission of an assignment in a term, so encoded once per worker (a quarter of a second per rnn
    submission otherwise)."""
    buffer = io.BytesIO()
    write_inputs(buffer, {grade_id: planned_calls(check_id, hidden_cases(check_id, device, seed))
                          for grade_id, check_id in parts})
    return buffer.getvalue()


def prepare_references_for(source, device, seed):
    """The reference outcomes of the hidden cases of the assignment whose source notebook is `source`,
    computed now in this process (the grade command does it while its fork server starts; the grading
    threads then find them). A failure is left to the judging, as in _prepare_references."""
    try:
        parts = parts_of(nbformat.read(source, as_version=4))
    except Exception:
        return
    if device == "cuda":
        disable_tf32()  # as grade_one does before its references
    _prepare_references(parts, GradingJob("", "", "", source, seed, "", device=device))


def _prepare_references(parts, job):
    """The reference outcomes of the parts' hidden cases, computed ahead of the judging (a failure here is
    left to the judging, which computes them again and says what failed)."""
    try:
        prepare_references({part.check_id: hidden_cases(part.check_id, job.device, job.seed) for part in parts})
    except Exception:
        pass


def flag(row, findings):
    """Score a flagged row 0 and keep what its checks gave, for a person to accept or reject."""
    row.status = "flagged"
    row.findings = [clean(str(f), 300) for f in findings[:50]]
    row.checks_score = row.score
    row.score = 0.0
    for part in row.parts:
        part.checks_score, part.score = part.score, 0.0
        part.message = "not credited until a person reviews it: the submission is flagged\n" + part.message


def read_submission(path):
    """(notebook, None, note) when it can be graded, else (None, status, message).

    `path` is DIR/submitted/<student>/<assignment>/<assignment>.ipynb; nothing on the way from
    submitted/ may be a link, and the notebook must be a regular file with one name
    (autograder.grading.submission_files)."""
    path = Path(path)
    try:
        data = read_file(path, MAX_NOTEBOOK_BYTES, root=path.parents[2])
    except FileNotFoundError:
        others = folder_listing(path.parent)
        found = f"; found instead: {', '.join(others)}" if others else ""
        return None, "missing", f"no file {path.name} in {path.parent.name}/{found}"
    except RefusedFile as error:
        return None, "refused", f"not read: {error}"
    except ValueError as error:
        return None, "invalid", f"the notebook is too large: {error}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "invalid", "not a notebook: the file is not UTF-8 text"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return None, "invalid", f"not a notebook: invalid JSON at line {error.lineno}, column {error.colno} ({error.msg})"
    except RecursionError:
        return None, "invalid", "not a notebook: the JSON is nested too deeply"
    if not isinstance(document, dict) or ("cells" not in document and "worksheets" not in document):
        return None, "invalid", "not a notebook: the JSON has no cells"
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # nbformat raises many types for broken documents
        return None, "invalid", f"not a valid notebook: {str(error).splitlines()[0][:200]}"
    version = document.get("nbformat")
    return nb, None, f"converted from nbformat {version}" if version != 4 else ""


def _zero(row, parts, status, message):
    row.status, row.message = status, message
    row.parts = [PartResult(p.grade_id, p.check_id, 0.0, p.points, f"not graded: {message}") for p in parts]
    return row


def _report(run):
    data = run.files.get("report.json")
    if data is None or len(data) > 1 << 20:
        return None
    try:
        report = json.loads(data)
    except ValueError:
        return None
    return report if isinstance(report, dict) else None


def _cell_errors(report):
    if not report:
        return []
    return [f"{c.get('grade_id')} ({str(c.get('error'))[:120]})" for c in report.get("cells", [])
            if isinstance(c, dict) and c.get("error") and c.get("kind") in ("answer", "extra")][:5]


def _crash_reason(run):
    if run.exit_code is not None and run.exit_code < 0:
        return f"the sandbox was killed by signal {-run.exit_code} before the checks ended"
    if "report.json" in run.files:
        return "the run's report was unreadable or over its size limit"
    return f"the notebook's code ended the run (exit status {run.exit_code}) before the checks ended"


def _judge_part(part, files, check_report, job):
    """PartResult of one graded cell, from the records the sandbox wrote and nothing else it said."""
    def failed(message, hint=None):
        return PartResult(part.grade_id, part.check_id, 0.0, part.points, message, hint)

    data = files.get(f"{part.grade_id}.npz")
    if data is None:
        error = (check_report or {}).get("error") if isinstance(check_report, dict) else None
        if isinstance(error, str) and error.startswith("not defined"):
            return failed(f"{part.check_id}: {part.function} is {error[:200]}")
        return failed(f"{part.check_id}: no result" + (f" ({str(error)[:200]})" if error else ""))
    try:
        check_id, loaded = load_records(data, MAX_RECORDS_BYTES)
    except Exception as error:
        return failed(f"{part.check_id}: unreadable result ({type(error).__name__})")
    expected = hidden_cases(part.check_id, job.device, job.seed)
    complete = len(loaded) == len(expected) or (0 < len(loaded) < len(expected) and loaded[-1][0].forbidden)
    if check_id != part.check_id or not complete:
        return failed(f"{part.check_id}: the result does not answer the cases the grader asked for")
    result = assess(part.check_id, [_without_values(record) for record in case_records(expected, loaded)])
    if result.passed:
        return PartResult(part.grade_id, part.check_id, part.points, part.points, result.message)
    message = result.message
    if ": not implemented" in message:
        message = f"{part.check_id}: not implemented yet"
    return failed(message, result.hint)


def _without_values(record):
    """The record with every text the sandbox wrote bounded and cleaned; the student's exception text cut
    to its first line of 120 characters with every digit redacted (it reaches the feedback, and a function
    can put the hidden inputs it was given into its own error message)."""
    o = record.observation

    def text(value, limit):
        return None if value is None else clean(str(value), limit)

    def names(values):
        return tuple(clean(v, 60) for v in values[:10])

    message = redact_numbers(clean(o.error_message.splitlines()[0] if o.error_message else "", 120))
    bounded = replace(o, result=_bounded_snapshot(o.result), error_type=text(o.error_type, 100),
                      error_message=message, modified_inputs=names(o.modified_inputs),
                      returned_inputs=names(o.returned_inputs), forbidden=text(o.forbidden, 300),
                      gradient_error=o.gradient_error and redact_numbers(clean(o.gradient_error, 200)),
                      detached_outputs=o.detached_outputs[:50], aliased_outputs=o.aliased_outputs[:50],
                      gradients=None if o.gradients is None else {clean(k, 60): v for k, v in
                                                                  list(o.gradients.items())[:50]})
    return replace(record, observation=bounded)


def _bounded_snapshot(value, depth=0):
    """A snapshot whose strings (values, keys, type names) are bounded and cleaned."""
    if isinstance(value, str):
        return clean(value, 200)
    if isinstance(value, OtherSnapshot):
        return OtherSnapshot(clean(value.type_name, 100))
    if isinstance(value, ScalarSnapshot):
        return ScalarSnapshot(clean(value.type_name, 100), value.value)
    if isinstance(value, (tuple, list)):
        return type(value)(_bounded_snapshot(v, depth + 1) for v in value[:1000])
    if isinstance(value, dict):
        return {clean(k, 100): _bounded_snapshot(v, depth + 1) for k, v in list(value.items())[:1000]}
    return value


def _max_score(job):
    try:
        return sum(p.points for p in parts_of(nbformat.read(job.source, as_version=4)))
    except Exception:
        return 0.0
