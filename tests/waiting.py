"""Waiting on a run in another process until it reaches a point, for kill and signal tests."""
import time
from collections.abc import Callable


def wait_for(process, ready: Callable[[], bool], what: str, timeout: float = 300) -> None:
    """Poll ``ready()`` until it holds; fail if ``process`` ends first or ``timeout`` passes."""
    deadline = time.time() + timeout
    while not ready():
        assert process.poll() is None, f"the run ended before {what}"
        assert time.time() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(0.02)
