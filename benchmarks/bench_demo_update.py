"""Time per live update of each gradient demo at its default sizes: move a control, wait for the new figure.

A live widget redraws synchronously inside the control's observer, so the time of `knob.index = ...` is
the time the kernel needs per update (numbers + matplotlib + PNG); the browser round trip is not
included. Prints the median over --repeats moves, cycling through every control and every value.

    .venv/bin/python benchmarks/bench_demo_update.py [--repeats 15]
"""
import argparse
import os
import platform
import statistics
import time

import torch

from rnn_demos import demos, widgets

GOAL_MS = 100.0


def control_moves(demo, knobs, repeats):
    """(knob, index) pairs that each change one control, cycling over all controls and values."""
    moves = []
    while len(moves) < repeats:
        for knob, control in zip(knobs, demo.controls):
            moves.append((knob, (knob.index + 1 + len(moves)) % len(control.options)))
    return moves[:repeats]


def time_live_updates(demo, repeats):
    box = widgets.live_widget(demo)
    knobs = [child for child in box.children if hasattr(child, "index")]
    image = box.children[-1]
    times = []
    for knob, index in control_moves(demo, knobs, repeats):
        if knob.index == index:
            continue
        before = image.value
        start = time.perf_counter()
        knob.index = index
        times.append(time.perf_counter() - start)
        assert image.value != before, "the update did not change the figure"
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="control moves per demo (default 15)")
    args = parser.parse_args()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load} "
          f"(other work on the machine slows every figure), torch threads {torch.get_num_threads()}")
    print(f"{'demo':12s} {'median ms':>10s} {'min ms':>8s} {'max ms':>8s} {'frames':>7s}  "
          f"goal <= {GOAL_MS:.0f} ms")
    for name, make_demo in demos.DEMOS.items():
        demo = make_demo()
        widgets.render_frame(demo)  # warm-up: fonts, mathtext cache
        times_ms = [1000 * t for t in time_live_updates(demo, args.repeats)]
        median = statistics.median(times_ms)
        verdict = "met" if median <= GOAL_MS else "MISSED"
        print(f"{name:12s} {median:10.1f} {min(times_ms):8.1f} {max(times_ms):8.1f} "
              f"{widgets.frame_count(demo):7d}  {verdict}")


if __name__ == "__main__":
    main()
