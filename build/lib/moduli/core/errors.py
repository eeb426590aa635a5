"""Errors in what the user asked for, and how the command-line tools report them.

A :class:`UserInputError` says in one line what to change (a path, a name, a column, a run dir).
``train.py`` and ``predict.py`` print it to stderr and exit with status 2, without a traceback
(``HYDRA_FULL_ERROR=1`` shows the traceback). Everything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class UserInputError(ValueError):
    """A problem with the user's input or settings, told in one line."""


class MissingInputError(UserInputError, FileNotFoundError):
    """A file or folder the user named does not exist."""


def exit_on_user_error(program: str, run: Callable[[], T]) -> T:
    """``run()``; on a :class:`UserInputError` one line on stderr and exit status 2."""
    try:
        return run()
    except UserInputError as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"{program}: error: {' '.join(str(err).split())}", file=sys.stderr)
        sys.exit(2)
