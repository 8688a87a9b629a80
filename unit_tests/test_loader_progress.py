"""The loader's progress lines (source_chartmogul/loader/progress.py): a line per stream done with its records and time,
a total every few seconds while records come, a live line on a terminal, plain lines when piped."""

import io
import time

from source_chartmogul.loader.progress import Progress


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_per_stream_done_with_its_records_and_time_and_a_total_every_few_seconds_while_records_come():
    out, clock, counts = io.StringIO(), _Clock(), {}
    progress = Progress(lambda: counts, out=out, every=10.0, clock=clock, live=False)
    progress.started = progress.last = clock.now

    progress.status("customers", "STARTED")
    progress.status("activities", "STARTED")
    clock.now += 2.0
    progress.status("customers", "RUNNING")
    counts.update(customers=3, activities=1)
    progress.tick()
    assert out.getvalue() == ""  # nothing done, less than 10 s

    clock.now += 8.0
    counts["customers"] = 4
    progress.tick()  # 10 s in: the total
    clock.now += 1.0
    counts["customers"] = 5
    progress.tick()  # 1 s after the last line: not printed
    progress.status("customers", "COMPLETE")
    progress.status("account", "STARTED")
    clock.now += 0.5
    progress.status("account", "COMPLETE")
    clock.now += 20.0
    progress.tick()  # a record came since the last total (customers' fifth): the total
    clock.now += 20.0
    progress.tick()  # none since: no line
    progress.close()

    assert out.getvalue().splitlines() == [
        "[  10.0 s] 5 records so far, 0 streams done",
        "[  11.0 s] customers done: 5 records in 9.0 s",  # from its RUNNING status, not from the read's start
        "[  11.5 s] account done: 0 records in 0.5 s",  # never RUNNING: from its STARTED status
        "[  31.5 s] 6 records so far, 2 streams done",
    ]


def test_the_total_is_printed_by_a_ticker_of_its_own_while_the_records_come():
    out, counts = io.StringIO(), {"invoices": 0}
    progress = Progress(lambda: counts, out=out, every=0.05, live=False)

    progress.start()
    for n in range(1, 6):
        counts["invoices"] = n * 100
        time.sleep(0.1)
    progress.close()

    lines = out.getvalue().splitlines()
    assert len(lines) >= 2 and all(line.endswith("records so far, 0 streams done") for line in lines)


def test_on_a_terminal_a_live_total_is_drawn_and_the_streams_done_are_printed_above_it():
    out, clock, counts = io.StringIO(), _Clock(), {"invoices": 3, "activities": 1}
    progress = Progress(lambda: counts, out=out, clock=clock, live=True)

    progress.start()
    clock.now += 1.0
    line = progress._live_line().plain
    progress.status("invoices", "COMPLETE")
    progress.close()

    assert line == "[   1.0 s] 4 records so far, 0 streams done; reading invoices 3, activities 1"
    drawn = out.getvalue()
    assert "[   1.0 s] invoices done: 3 records in 1.0 s" in drawn
    assert "\x1b[" in drawn  # drawn with terminal control codes, which a pipe never gets


def test_piped_the_output_is_plain_text():
    assert Progress(dict, out=io.StringIO()).live is False
