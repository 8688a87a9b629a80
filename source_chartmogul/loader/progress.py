"""What the read has done so far, on standard error, from the connector's messages: a line when a stream is done (its
STREAM_STATUS COMPLETE), with its records and the time it took, and every few seconds a line with the total.

On a terminal the total is a live line at the bottom instead, redrawn in place four times a second with the records
per stream being read (`rich`, which comes with the CDK), and the other lines go above it. Piped to a file or another
program, the output is the plain lines only. Records are counted where they are written (`tables.Spool`): nothing
here runs per record.
"""

import os
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, TextIO


class Progress:
    def __init__(self, counts: Callable[[], Mapping[str, int]], out: Optional[TextIO] = None, every: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, live: Optional[bool] = None) -> None:
        self.counts, self.out, self.every, self.clock = counts, out or sys.stderr, every, clock
        self.started = self.last = clock()
        self.queued: Dict[str, float] = {}  # stream → its STARTED status (the CDK starts every stream at once)
        self.began: Dict[str, float] = {}  # stream → its RUNNING status: when its first partition was read
        self.complete: List[str] = []
        self.live = is_terminal(self.out) if live is None else live
        self._view: Any = None
        self._shown = 0  # records in the last total line
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ticker: Optional[threading.Thread] = None

    def start(self) -> None:
        """From now on, the total: a live line on a terminal, otherwise a line every `every` seconds."""
        self.started = self.last = self.clock()
        if self.live:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.out, force_terminal=True, highlight=False)
            self._view = Live(console=console, auto_refresh=True, refresh_per_second=4, transient=True,
                              get_renderable=self._live_line)
            self._view.start()
        else:
            self._ticker = threading.Thread(target=self._tick_every, name="progress", daemon=True)
            self._ticker.start()

    def status(self, stream: str, status: str) -> None:
        """A STREAM_STATUS of the connector."""
        now = self.clock()
        with self._lock:
            if status == "STARTED":
                self.queued.setdefault(stream, now)
            elif status == "RUNNING":
                self.began.setdefault(stream, now)
            elif status == "COMPLETE" and stream not in self.complete:
                self.complete.append(stream)
                self.print(self.done_line(stream, now))

    def done_line(self, stream: str, now: float) -> str:
        count = self.counts().get(stream, 0)
        took = now - self.began.get(stream, self.queued.get(stream, self.started))
        return f"[{now - self.started:6.1f} s] {stream} done: {count:,} record{'s' * (count != 1)} in {took:.1f} s"

    def total_line(self, now: float) -> str:
        total, done = sum(self.counts().values()), len(self.complete)
        return f"[{now - self.started:6.1f} s] {total:,} record{'s' * (total != 1)} so far, {done} stream{'s' * (done != 1)} done"

    def tick(self) -> None:
        """The total line, when `every` seconds passed since the last line and records came meanwhile."""
        now = self.clock()
        with self._lock:
            total = sum(self.counts().values())
            if now - self.last >= self.every and total != self._shown:
                self._shown = total
                self.print(self.total_line(now))

    def print(self, line: str) -> None:
        """A line above the live line (or a plain line)."""
        with self._lock:
            self.last = self.clock()
            if self._view is not None:
                self._view.console.print(line, markup=False, highlight=False, soft_wrap=True)
            else:
                print(line, file=self.out, flush=True)

    def _tick_every(self) -> None:
        while not self._stop.wait(min(self.every, 1.0)):
            self.tick()

    def _live_line(self) -> Any:
        from rich.text import Text

        now = self.clock()
        counts = self.counts()
        reading = sorted(((n, s) for s, n in counts.items() if s not in self.complete and n), reverse=True)
        streams = ", ".join(f"{stream} {count:,}" for count, stream in reading[:4]) + (", ..." if len(reading) > 4 else "")
        return Text(self.total_line(now) + (f"; reading {streams}" if streams else ""), no_wrap=True, overflow="ellipsis")

    def close(self) -> None:
        """Stop the total (the summary or the error follows)."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        if self._view is not None:
            self._view.stop()
            self._view = None


def is_terminal(out: TextIO) -> bool:
    try:
        return bool(out.isatty()) and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False
