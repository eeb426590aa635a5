"""SIGTERM and SIGINT as a clean stop: a long run keeps what it finished and says so.

A batch scheduler sends SIGTERM before SIGKILL (SLURM at its time limit); a user presses Ctrl-C.
Inside :func:`stop_on_signals` either signal raises :class:`RunStopped` in the main thread, so
the run unwinds through its ``finally`` blocks (temporary files removed, locks released), the
command prints one line and exits with 128 + the signal number (143 for SIGTERM, 130 for
SIGINT), which schedulers and shells read as "stopped", not "finished".
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class RunStopped(BaseException):
    """The run was stopped by a signal; ``str()`` says what was kept and how to go on.

    A ``BaseException``, as ``KeyboardInterrupt`` is, so that code catching ``Exception`` (a
    logging handler writing to a slow pipe, a library's broad error handling) lets it through."""

    def __init__(self, signum: int, message: str = ""):
        self.signum = signum
        super().__init__(message or f"stopped by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def said(self, message: str) -> "RunStopped":
        """The same stop, with ``message`` saying what was kept."""
        return RunStopped(self.signum, f"stopped by {signal.Signals(self.signum).name} {message}")


class StopRequest:
    """Whether a stop signal has arrived (the first one's number), for code that must tell a
    stop from a failure it caused (a DataLoader whose workers the same signal killed)."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def check(self) -> None:
        """Raise :class:`RunStopped` if a stop signal arrived (should the exception raised by
        the handler have been swallowed where it landed)."""
        if self.signum is not None:
            raise RunStopped(self.signum)


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Within the block, SIGTERM and SIGINT raise :class:`RunStopped` (main thread only; elsewhere
    the block runs with the handlers it has). The previous handlers come back afterwards."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):
        first = request.signum is None
        request.signum = request.signum or signum
        if first:
            raise RunStopped(signum)

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield request
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def default_signals_in_worker(_worker_id: int = 0) -> None:
    """For forked DataLoader workers: SIGTERM ends the worker, SIGINT is left to the main process
    (which stops the workers itself)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
