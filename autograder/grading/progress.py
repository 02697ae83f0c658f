"""Progress of a grading batch: submissions done, running and failed, time elapsed and left.

    progress = BatchProgress(total=len(jobs))
    progress.started("alice", "lstm")          # when a submission starts (grade_on_dask's on_start)
    progress.finished(result)                  # each SubmissionResult as it arrives
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
        self.seconds = []             # time each finished submission took
        self._last_line_time = None
        self._bar_width = 0           # characters of the bar now on the terminal line
        self._lock = threading.RLock()

    @property
    def running(self):
        return len(self.started_at)

    def elapsed(self):
        return self.clock() - self.start_time

    def time_left(self):
        """Seconds left at the rate so far (all workers together); None before the first result."""
        if not self.done:
            return None
        return self.elapsed() / self.done * (self.total - self.done)

    def started(self, student, assignment):
        with self._lock:
            if (student, assignment) not in self.finished_keys:
                self.started_at[student, assignment] = self.clock()
            self._show()

    def finished(self, result):
        """Count a SubmissionResult and print its row with the time it took."""
        with self._lock:
            self._finished(result)

    def _finished(self, result):
        began = self.started_at.pop((result.student, result.assignment), None)
        self.finished_keys.add((result.student, result.assignment))
        took = result.seconds if result.seconds or began is None else self.clock() - began
        self.done += 1
        self.failed += result.status not in GRADED
        self.seconds.append(took)
        score = f"{result.score:g}/{result.max_score:g}" if result.status in GRADED else "-"
        self._print_row(f"{printable(result.student)} {result.assignment}: {result.status} {score} in {took:.1f} s")
        self._show()

    def bar(self):
        filled = self.width * self.done // self.total if self.total else self.width
        left = self.time_left()
        left_text = "?" if left is None else format_duration(left)
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} done, "
                f"{self.running} running, {self.failed} failed, elapsed {format_duration(self.elapsed())}, "
                f"left ~{left_text}")

    def summary(self):
        if not self.seconds:
            return f"0/{self.total} submissions graded in {format_duration(self.elapsed())}"
        mean = sum(self.seconds) / len(self.seconds)
        return (f"{self.done}/{self.total} submissions in {format_duration(self.elapsed())} "
                f"({self.failed} failed); {mean:.1f} s per submission, slowest {max(self.seconds):.1f} s")

    def tick(self):
        """Call now and then while waiting: keeps the elapsed time (and the CI line) current."""
        with self._lock:
            self._show()

    def close(self):
        with self._lock:
            if self.interactive:
                self._draw(self.bar())
                self.stream.write("\n")
            else:
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
            self.stream.write(self.bar() + "\n")
        self.stream.flush()

    def _draw(self, text):
        """Overwrite the terminal line with text (padded over what was there)."""
        self.stream.write("\r" + text.ljust(self._bar_width))
        self._bar_width = len(text)
        self.stream.flush()
