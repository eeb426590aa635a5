"""Errors in what the user asked for, and how the command-line tools report them.

A :class:`UserInputError` says in one line what to change (a path, a name, a column, a run dir).
``moduli``, ``train.py`` and ``predict.py`` print it to stderr and exit with status 2, without a
traceback (``HYDRA_FULL_ERROR=1`` shows the traceback), before any model is loaded where the
mistake can be seen from the settings. Everything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from typing import TypeVar

from moduli.core.signals import RunStopped

T = TypeVar("T")


class UserInputError(ValueError):
    """A problem with the user's input or settings, told in one line."""


class MissingInputError(UserInputError, FileNotFoundError):
    """A file or folder the user named does not exist."""


class FeaturesMismatch(ValueError):
    """A head trained on features of another definition, package or weights than the ones made
    here: loading it would predict from numbers it never saw, so it is refused with the reason."""


class NothingPredicted(RuntimeError):
    """A run over a non-empty input that predicted nothing: every input was rejected. Its files
    (the rejections with their reasons) are written; the command exits with status 1."""


def exit_on_user_error(program: str, run: Callable[[], T],
                       on_refusal: Callable[[], object] | None = None) -> T:
    """``run()``; on a :class:`UserInputError` one line on stderr and exit status 2 (after
    ``on_refusal()``, which removes what the refused run made), on :class:`NothingPredicted`
    one line and exit status 1, on :class:`RunStopped` (SIGTERM, SIGINT) its line and 143 / 130,
    on a full disk one line and exit status 1."""
    try:
        return run()
    except UserInputError as err:
        if on_refusal is not None:
            on_refusal()
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"{program}: error: {' '.join(str(err).split())}", file=sys.stderr)
        sys.exit(2)
    except NothingPredicted as err:
        print(f"{program}: {' '.join(str(err).split())}", file=sys.stderr)
        sys.exit(1)
    except RunStopped as err:
        print(f"{program}: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    except OSError as err:
        if not is_disk_full(err):
            raise
        where = f" writing {err.filename}" if getattr(err, "filename", None) else ""
        print(f"{program}: error: no space left on the device{where}: free some space (or choose an "
              "output folder on another disk) and rerun the same command; finished work is kept",
              file=sys.stderr)
        sys.exit(1)


def is_disk_full(err: BaseException) -> bool:
    """Whether an error is the disk filling up (errno ENOSPC, or a library's message for it)."""
    return getattr(err, "errno", None) == errno.ENOSPC or "No space left on device" in str(err)
