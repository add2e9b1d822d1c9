"""SIGINT/SIGTERM as a request to stop at the next step boundary, with a checkpoint.

One object holds the request for the whole `specc train` command: installed when the
command starts (a signal that arrives while the spec or the data loads is kept and
honoured at step 0), read by the Trainer at every step boundary. A second signal
aborts at once (KeyboardInterrupt), so a process stuck before training can always be
stopped. Handlers can only be installed from the main thread; elsewhere (a sweep
trial in a worker thread, a notebook thread) the object only carries requests made
in code (`request("hook")`, `request("another rank")`).
"""
from __future__ import annotations

import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    def __init__(self):
        self.name: str | None = None  # what asked to stop: "SIGINT", "SIGTERM", "hook", "another rank"
        self._previous: dict = {}

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.getsignal(sig)
                signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc) -> bool:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
        return False

    @property
    def requested(self) -> bool:
        return self.name is not None

    def request(self, why: str) -> None:
        """Ask to stop (the first reason is kept)."""
        self.name = self.name or why

    def _handler(self, signum, frame):
        if self.name is not None and self.name in {s.name for s in SIGNALS}:
            raise KeyboardInterrupt  # a second signal aborts at once, e.g. a hung read
        self.request(signal.Signals(signum).name)
