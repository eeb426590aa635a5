"""One run per directory: a lock file naming the process that holds it.

A second run into the same directory stops at once with a line naming the holder; a lock left by
a process that no longer runs (killed with SIGKILL, a crashed node of this host) is taken over
with a warning. A lock from another host cannot be checked and is never taken over.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from moduli.core.errors import UserInputError

log = logging.getLogger(__name__)
LOCK = "run.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


@contextmanager
def run_lock(folder: Path) -> Iterator[Path]:
    """Hold ``folder/run.lock`` for the block (see the module docstring)."""
    path = Path(folder) / LOCK
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(path)
            if holder and (holder.get("host") != me["host"] or _alive(int(holder.get("pid", -1)))):
                raise UserInputError(
                    f"another run (pid {holder.get('pid')} on {holder.get('host')}, started "
                    f"{holder.get('started')}) is writing into {folder}; wait for it to finish or "
                    f"choose another output (a lock left by a dead process of another host: remove "
                    f"{path})") from None
            log.warning("took over the lock %s of a process that no longer runs (%s)", path,
                        holder or "unreadable lock file")
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump(me, handle)
        break
    else:  # pragma: no cover - a third process won the race twice
        raise UserInputError(f"could not take the lock {path}: another run is starting in {folder}")
    try:
        yield path
    finally:
        if (_holder(path) or {}).get("pid") == me["pid"]:
            path.unlink(missing_ok=True)
