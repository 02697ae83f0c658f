"""Progress of a grading batch: submissions done, running and failed, time elapsed and left.

    progress = BatchProgress(total=len(jobs))
    progress.started("alice", "lstm")          # when a submission starts (grade_on_dask's on_start)
    progress.finished(result, kept=False)      # each SubmissionResult as it arrives (kept: from an earlier run)
    progress.start_ticker()                    # a line at least every `interval` seconds, also while one hangs
    progress.close()                           # the summary line

On a terminal the bar is redrawn in place (carriage return) and each finished submission is printed above
it with the time it took; elsewhere (a CI log) the finished submissions are printed as they come and the
bar is printed as a line at most every ``interval`` seconds, and once at the end. Its methods may be called
from several threads (Dask announces starts from its client thread).
"""
import sys
import threading
import time

from .results import GRADED
from .safe_text import printable


def format_duration(seconds):
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class BatchProgress:
    def __init__(self, total, stream=None, clock=time.monotonic, interactive=None, interval=5.0, width=24):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.interval = interval
        self.width = width
        self.start_time = clock()
        self.started_at = {}          # (student, assignment) -> clock time it started
        self.finished_keys = set()    # a start announced after the result (Dask) is not counted as running
        self.done = 0
        self.failed = 0
        self.seconds = []             # time each submission graded in this run took
        self.kept = 0                 # results kept from an earlier run: counted, not timed
        self._last_line = None        # the bar line last written to a log (not written twice)
        self._ticker = None
        self._last_line_time = None
        self._bar_width = 0           # characters of the bar now on the terminal line
        self._lock = threading.RLock()

    @property
    def running(self):
        return len(self.started_at)

    def elapsed(self):
        return self.clock() - self.start_time

    def time_left(self):
        """Seconds left at the rate so far (all workers together, kept results left out); None before the
        first submission graded in this run."""
        graded_now = self.done - self.kept
        if not graded_now:
            return None
        return self.elapsed() / graded_now * (self.total - self.done)

    def started(self, student, assignment):
        with self._lock:
            if (student, assignment) not in self.finished_keys:
                self.started_at[student, assignment] = self.clock()
            self._show()

    def finished(self, result, kept=False):
        """Count a SubmissionResult and print its row with the time it took (kept: its grade was kept from
        an earlier run; printed as such and left out of the times)."""
        with self._lock:
            self._finished(result, kept)

    def _finished(self, result, kept):
        began = self.started_at.pop((result.student, result.assignment), None)
        self.finished_keys.add((result.student, result.assignment))
        self.done += 1
        self.failed += result.status not in GRADED
        score = f"{result.score:g}/{result.max_score:g}" if result.status in GRADED else "-"
        if kept:
            self.kept += 1
            self._print_row(f"{printable(result.student)} {result.assignment}: {result.status} {score}, "
                            "kept from an earlier run")
        else:
            took = result.seconds if result.seconds or began is None else self.clock() - began
            self.seconds.append(took)
            self._print_row(f"{printable(result.student)} {result.assignment}: {result.status} {score} "
                            f"in {took:.1f} s")
        self._show()

    def bar(self):
        filled = self.width * self.done // self.total if self.total else self.width
        left = self.time_left()
        left_text = "?" if left is None else format_duration(left)
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} done, "
                f"{self.running} running, {self.failed} failed, elapsed {format_duration(self.elapsed())}, "
                f"left ~{left_text}")

    def summary(self):
        kept = f", {self.kept} kept from an earlier run" if self.kept else ""
        if not self.seconds:
            return f"{self.done}/{self.total} submissions, none graded in this run{kept}"
        mean = sum(self.seconds) / len(self.seconds)
        return (f"{self.done}/{self.total} submissions in {format_duration(self.elapsed())} "
                f"({self.failed} failed{kept}); {mean:.1f} s per submission graded now, "
                f"slowest {max(self.seconds):.1f} s")

    def tick(self):
        """Call now and then while waiting: keeps the elapsed time (and the CI line) current."""
        with self._lock:
            self._show()

    def start_ticker(self):
        """A thread that calls tick() every `interval` seconds until close(): a log gets a line at least
        that often, also while every worker waits on a submission that hangs."""
        stop = threading.Event()

        def run():
            while not stop.wait(self.interval):
                self.tick()
        self._ticker = (stop, threading.Thread(target=run, daemon=True))
        self._ticker[1].start()

    def close(self):
        if self._ticker:
            self._ticker[0].set()
            self._ticker[1].join()
        with self._lock:
            if self.interactive:
                self._draw(self.bar())
                self.stream.write("\n")
            elif self.bar() != self._last_line:
                self.stream.write(self.bar() + "\n")
            self.stream.write(self.summary() + "\n")
            self.stream.flush()

    def _print_row(self, text):
        if self.interactive:
            self._draw(text)
            self.stream.write("\n")
            self._bar_width = 0
        else:
            self.stream.write(text + "\n")

    def _show(self):
        if self.interactive:
            self._draw(self.bar())
            return
        now = self.clock()
        if self._last_line_time is None or now - self._last_line_time >= self.interval:
            self._last_line_time = now
            self._last_line = self.bar()
            self.stream.write(self._last_line + "\n")
        self.stream.flush()

    def _draw(self, text):
        """Overwrite the terminal line with text (padded over what was there)."""
        self.stream.write("\r" + text.ljust(self._bar_width))
        self._bar_width = len(text)
        self.stream.flush()
