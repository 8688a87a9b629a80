"""Ctrl-C (SIGINT) and SIGTERM, caught for a command's run and remembered: the connector (`source.run`) and the DuckDB
loader (`loader.command.main`) stop the same way. No airbyte-cdk import here: the loader installs this before it imports
anything heavy (docs/performance.md, "Stopping a load")."""

import contextlib
import signal
import threading
from typing import Any, Iterator, List

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interruption:
    """The signals received while `handling()`: the first raises KeyboardInterrupt where the main thread is; every one
    is kept in `received`, so that a signal a library turned into something else on its way (DuckDB's "Query
    interrupted", a generator that swallowed it) is still known (`check()` raises it again), and later ones raise
    nothing, so that they cannot break the clean-up the first one started."""

    def __init__(self) -> None:
        self.received: List[int] = []

    def __call__(self, signum: int, frame: Any) -> None:
        self.received.append(signum)
        if len(self.received) == 1:
            raise KeyboardInterrupt

    def check(self) -> None:
        """At a safe point: raise KeyboardInterrupt again if a signal came."""
        if self.received:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def handling(self) -> Iterator[None]:
        """SIGINT and SIGTERM handled so meanwhile, and the handlers found restored after (the command may run inside a
        caller's process, as in the tests). Outside the main thread, where Python delivers no signal, it changes
        nothing."""
        self.received = []
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {signum: signal.signal(signum, self) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Signals held back meanwhile (delivered when it ends): for a step that must happen whole or not at all."""
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
