"""Measure the checks on a blind set of wrong implementations (issue 14), through the grading path, on the CPU.

    .venv/bin/python tests/heldout/measure_blind.py --set tuning [--messages] [--jobs 2]
    .venv/bin/python tests/heldout/measure_blind.py --set sealed

For every entry: do the hidden checks take points (`autograder.assess.run_check` with a term seed that is
not the default), do the visible checks raise (`autograder.selfcheck.check`), does the hidden message, less
its case description, name the mistake or pin it to its place (the entry's `where`), and does it name another
mistake (`wrong_names`, matched against the hint alone: the "Likely mistake" part, not the localisation or
a raised error's text)? Printed per check family, per kind of mistake and in total. The tuning set may
also print each entry's message (--messages); the sealed set prints aggregates only, so the team can tune
on one and measure on the other.

Every entry runs from a fresh copy of its module (state kept between calls starts empty for each check),
in worker processes. The correct solutions run through the same path first: each must pass both checks.
Entries that are wrong only on a GPU (needs_cuda) are counted apart on the CPU.
"""
import argparse
import contextlib
import importlib
import io
import multiprocessing
import re
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (HERE, HERE.parent, HERE.parents[1]):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

SEED = 20261206
SETS = {"tuning": ("blind_tuning", "BLIND_TUNING"), "sealed": ("blind_sealed", "BLIND_SEALED"),
        "sealed2": ("blind_sealed2", "BLIND_SEALED2")}
SEALED = ("sealed", "sealed2")
MESSAGE_CHARS = 400

FAMILIES = {
    "sequence models": ("ar_design_matrix", "fit_ar", "predict_ahead", "transition_matrix", "markov_log_likelihood",
                        "latent_update"),
    "gates and updates": ("forget_gate", "input_gate", "candidate", "cell_update", "output_gate_and_hidden",
                          "reset_gate", "update_gate", "gru_candidate", "gru_hidden_update"),
    "cells": ("rnn_cell", "lstm_cell", "gru_cell"),
    "unrolled layers": ("rnn_forward", "lstm_forward", "gru_forward"),
    "backward passes": ("rnn_bptt", "lstm_step_backward", "lstm_bptt", "gru_step_backward"),
    "gradient norms and clipping": ("hidden_gradient_norms", "clip_grad_norm"),
    "experiment and training": ("smallest_nonvanishing_radius", "adding_parameters", "smallest_forecasting_window"),
    "parameter counts": ("lstm_param_count", "parameter_counts"),
    "character-level model": ("encode", "decode", "step_losses", "perplexity", "tbptt_chunk", "sample_characters",
                              "language_model_parameters"),
    "answers": ("answer_q1", "answer_q2", "answer_q3"),
}


def family_of(check_id):
    name = check_id.split(".", 1)[1]
    return next(family for family, names in FAMILIES.items() if name in names)


def explanation(message, check_id):
    """The hidden message less the check id and the case description of its first line, which names the
    inputs and options whatever the mistake."""
    first, _, rest = message.replace(check_id, "").partition("\n")
    if "hidden case" in first:
        first = re.sub(r"\(.*\)", "", first)
    return f"{first}\n{rest}"


def run_hidden(check_id, fn):
    """(caught, message, hint): an exception out of the engine fails the grading cell too, so it is a catch.
    The message includes the hint; the hint alone is what can name a wrong mistake."""
    from autograder.assess import run_check
    try:
        result = run_check(check_id, fn, device="cpu", seed=SEED)
    except Exception as error:
        return True, f"ENGINE RAISED {type(error).__name__}: {error}", ""
    text = result.message or ""
    hint = getattr(result, "hint", None) or ""
    if hint and hint not in text:
        text = f"{text}\n{hint}"
    if not hint:  # a hint written into the message: its "Likely mistake" lines
        hint = "\n".join(line for line in text.splitlines() if re.match(r"\s*likely mistake", line, re.IGNORECASE))
    return not result.passed, text, hint


def run_visible(check_id, fn):
    from autograder.selfcheck import check
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            check(check_id, fn)
    except Exception as error:  # any raise is a catch
        return True, f"{type(error).__name__}: {error}"
    return False, "passed"


def _fresh_entry(module_name, list_name, name):
    """The entry `name` from a freshly executed copy of its module, so no state is left from other calls."""
    module = importlib.reload(importlib.import_module(module_name))
    return next(entry for entry in getattr(module, list_name) if entry.name == name)


def measure_entry(job):
    module_name, list_name, name = job
    import torch
    torch.set_num_threads(1)
    entry = _fresh_entry(module_name, list_name, name)
    start = time.process_time()
    caught_hidden, message, hint = run_hidden(entry.check_id, entry.fn)
    entry = _fresh_entry(module_name, list_name, name)
    caught_visible, visible = run_visible(entry.check_id, entry.fn)
    text = explanation(message, entry.check_id) if caught_hidden else ""
    named = bool(text and re.search(entry.where, text, re.IGNORECASE))
    wrong_named = bool(caught_hidden and hint and entry.wrong_names and re.search(entry.wrong_names, hint,
                                                                                      re.IGNORECASE))
    return {"name": name, "check_id": entry.check_id, "needs_cuda": entry.needs_cuda, "hidden": caught_hidden,
            "visible": caught_visible, "named": named, "wrong_named": wrong_named, "message": message,
            "visible_message": visible, "seconds": time.process_time() - start}


def measure_correct(check_id):
    import torch
    torch.set_num_threads(1)
    from blind_probes import CORRECT
    fn = CORRECT[check_id]
    caught_hidden, message, _ = run_hidden(check_id, fn)
    caught_visible, visible = run_visible(check_id, fn)
    return check_id, caught_hidden, message, caught_visible, visible


def _share(count, total):
    return f"{count:3d}/{total:<3d} {100 * count / total:5.1f}%" if total else "  -/0         "


def aggregate_lines(rows, group_of, title):
    groups = defaultdict(list)
    for row in rows:
        groups[group_of(row)].append(row)
    width = max([len(title)] + [len(group) for group in groups])
    lines = [f"{title:<{width}}  {'hidden catch':>14}  {'visible catch':>14}  {'names/localises':>15}  wrong hints"]
    for group in sorted(groups, key=lambda g: (g == "TOTAL", g)):
        part = groups[group]
        n = len(part)
        lines.append(f"{group:<{width}}  {_share(sum(r['hidden'] for r in part), n):>14}  "
                     f"{_share(sum(r['visible'] for r in part), n):>14}  "
                     f"{_share(sum(r['named'] for r in part), n):>15}  {sum(r['wrong_named'] for r in part):>5}")
    return lines


def report(rows, kinds, set_name, messages):
    on_cpu = [row for row in rows if not row["needs_cuda"]]
    device_rows = [row for row in rows if row["needs_cuda"]]
    lines = [f"blind set '{set_name}': {len(rows)} entries, {len(on_cpu)} wrong on the CPU, "
             f"{len(device_rows)} wrong only on a GPU; term seed {SEED}, device cpu", ""]
    lines += aggregate_lines(on_cpu, lambda row: family_of(row["check_id"]), "check family") + [""]
    lines += aggregate_lines(on_cpu, lambda row: kinds[row["name"]], "kind of mistake") + [""]
    lines += aggregate_lines(on_cpu, lambda row: "TOTAL", "all entries wrong on the CPU")
    if device_rows:
        lines += ["", "entries wrong only on a GPU, run on the CPU (a catch means a case off the CPU device type):",
                  *aggregate_lines(device_rows, lambda row: "TOTAL", "device entries")]
    lines += ["", f"CPU seconds in the checks: {sum(row['seconds'] for row in rows):.1f}"]
    if messages:
        lines += ["", "entry  hid vis named wrong  (message less its case description)"]
        for row in rows:
            flags = " ".join("yes" if row[key] else " - " for key in ("hidden", "visible", "named", "wrong_named"))
            text = " ".join(explanation(row["message"], row["check_id"]).split())[:MESSAGE_CHARS]
            lines.append(f"{row['name']} ({row['check_id']}, {kinds[row['name']]}): {flags}\n    {text}")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", choices=sorted(SETS), required=True)
    parser.add_argument("--messages", action="store_true", help="print each entry's message (tuning set only)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", default="", help="a regex: measure only the entries whose name matches")
    args = parser.parse_args(argv)
    if args.messages and args.set in SEALED:
        parser.error("the sealed set is measured in aggregate only")
    module_name, list_name = SETS[args.set]
    module = importlib.import_module(module_name)
    entries = [entry for entry in getattr(module, list_name) if re.search(args.only, entry.name)]
    context = multiprocessing.get_context("spawn")
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
        checks = sorted({entry.check_id for entry in entries})
        correct = list(pool.map(measure_correct, checks))
        rows = list(pool.map(measure_entry, [(module_name, list_name, entry.name) for entry in entries]))
    failing = [(check_id, message if hidden else "", visible if visible_caught else "")
               for check_id, hidden, message, visible_caught, visible in correct if hidden or visible_caught]
    lines = [f"correct solutions through the same path: {len(correct) - len(failing)} of {len(correct)} pass both "
             "checks"]
    for check_id, hidden, visible in failing:
        lines.append(f"  CORRECT SOLUTION CAUGHT: {check_id}: hidden: {' '.join(hidden.split())[:300]} "
                     f"| visible: {' '.join(visible.split())[:300]}")
    lines += [""] + report(rows, module.KIND, args.set, args.messages)
    lines.append(f"wall seconds: {time.perf_counter() - start:.0f} ({args.jobs} workers)")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
