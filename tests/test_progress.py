"""The batch progress display, driven by a fake clock and written to a string buffer."""
import io
import time

from autograder.grading.progress import BatchProgress, format_duration
from autograder.grading.results import SubmissionResult


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


def result(student, status="graded", seconds=0.0, score=3.0):
    return SubmissionResult(student, "lstm", status, score=score, max_score=4.0, seconds=seconds)


def test_log_mode_prints_each_submission_and_a_bar_line_every_interval():
    clock, log = FakeClock(), io.StringIO()
    progress = BatchProgress(total=4, stream=log, clock=clock, interval=5.0)
    assert progress.interactive is False           # a StringIO is not a terminal

    progress.started("ann", "lstm")
    progress.started("ben", "lstm")
    clock.now += 2.0
    progress.finished(result("ann"))               # measured by the clock: 2 s
    clock.now += 1.0
    progress.finished(result("ben", status="timeout", seconds=30.0))   # the result's own time wins
    clock.now += 3.0
    progress.tick()                                # 6 s since the first bar line: a new line
    progress.tick()                                # 0 s since: nothing

    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert lines == [
        "[........................] 0/4 done, 1 running, 0 failed, elapsed 0:00, left ~?",
        "ann lstm: graded 3/4 in 2.0 s",
        "ben lstm: timeout - in 30.0 s",
        "[############............] 2/4 done, 0 running, 1 failed, elapsed 0:06, left ~0:06",
    ]


def test_terminal_mode_redraws_the_bar_in_place():
    clock, terminal = FakeClock(), Terminal()
    progress = BatchProgress(total=3, stream=terminal, clock=clock)
    assert progress.interactive is True

    progress.started("ann", "lstm")
    clock.now += 10.0
    progress.finished(result("ann"))
    progress.started("ben", "lstm")
    clock.now += 20.0
    progress.tick()

    screen = terminal.getvalue()
    assert screen.count("\n") == 1                       # only the finished submission scrolled up
    rows = screen.split("\n")
    first_bar, row = rows[0].split("\r")[1:]
    assert row.rstrip() == "ann lstm: graded 3/4 in 10.0 s"
    assert len(row) == len(first_bar)                    # padded over the bar it replaced
    last_drawing = rows[1].split("\r")[-1]
    assert last_drawing == "[########................] 1/3 done, 1 running, 0 failed, elapsed 0:30, left ~1:00"


def test_time_left_is_the_rate_so_far_times_what_remains():
    clock = FakeClock()
    progress = BatchProgress(total=10, stream=io.StringIO(), clock=clock)
    assert progress.time_left() is None
    for student in ("a", "b", "c", "d"):
        clock.now += 3.0
        progress.finished(result(student, seconds=6.0))   # two workers: 6 s each, one every 3 s
    assert progress.time_left() == 18.0                 # 12 s for 4, 6 left


def test_a_start_announced_after_its_result_is_not_running():
    progress = BatchProgress(total=2, stream=io.StringIO(), clock=FakeClock())
    progress.finished(result("ann"))
    progress.started("ann", "lstm")
    progress.started("ben", "lstm")
    assert progress.running == 1


def test_close_prints_the_summary():
    clock, log = FakeClock(), io.StringIO()
    progress = BatchProgress(total=3, stream=log, clock=clock)
    progress.finished(result("a", seconds=1.0))
    progress.finished(result("b", seconds=5.0, status="crashed"))
    progress.finished(result("c", seconds=3.0))
    clock.now += 3725.0
    progress.close()
    assert log.getvalue().splitlines()[-1] == (
        "3/3 submissions in 1:02:05 (1 failed); 3.0 s per submission graded now, slowest 5.0 s")


def test_kept_results_are_marked_and_left_out_of_the_times():
    clock, log = FakeClock(), io.StringIO()
    progress = BatchProgress(total=3, stream=log, clock=clock)
    progress.finished(result("a", seconds=400.0), kept=True)     # its old duration must not count
    progress.finished(result("b", seconds=2.0))
    clock.now += 10.0
    assert progress.time_left() == 10.0                           # one graded now in 10 s, one left
    progress.finished(result("c", seconds=4.0))
    progress.close()
    lines = log.getvalue().splitlines()
    assert "a lstm: graded 3/4, kept from an earlier run" in lines
    assert lines[-1] == "3/3 submissions in 0:10 (0 failed, 1 kept from an earlier run); 3.0 s per submission " \
                        "graded now, slowest 4.0 s"


def test_the_last_bar_line_is_not_written_twice_to_a_log():
    clock, log = FakeClock(), io.StringIO()
    progress = BatchProgress(total=1, stream=log, clock=clock, interval=0.0)
    progress.finished(result("a", seconds=1.0))
    progress.close()
    bars = [line for line in log.getvalue().splitlines() if line.startswith("[")]
    assert len(bars) == len(set(bars)) == 1


def test_the_ticker_writes_a_line_while_nothing_finishes():
    log = io.StringIO()
    progress = BatchProgress(total=2, stream=log, interval=0.05)
    progress.started("a", "lstm")
    progress.start_ticker()
    deadline = time.monotonic() + 5
    while log.getvalue().count("1 running") < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    progress.close()
    assert log.getvalue().count("1 running") >= 3


def test_format_duration():
    assert format_duration(0) == "0:00"
    assert format_duration(59.6) == "1:00"
    assert format_duration(3 * 3600 + 61) == "3:01:01"
