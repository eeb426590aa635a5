"""The one structure reader: JSON tables and lines, structure dicts, CIF / POSCAR text, files on
disk and zip members, each failure an :class:`UnreadableStructure` that says why in words.

Training sources (:mod:`moduli.data.sources`) and prediction corpora (:mod:`moduli.predict.corpus`)
both read through here, so "how a structure is read" and "what an unreadable one is called" live
in one place. A *payload* is how a corpus refers to a structure it has not parsed yet:

- ``("dict", structure_dict)``: a pymatgen ``Structure.as_dict()``;
- ``("text", fmt, text)``: CIF / POSCAR text (``fmt`` "cif", "poscar" or None: recognised);
- ``("json_line", line, column)``: one line of a JSON Lines file, the structure in ``column``;
- ``("file", path)``: a structure file on disk;
- ``("zip", zip_path, member)``: a file inside a zip archive, read without extracting;
- ``("missing", reason)`` / ``("unreadable", reason)``: an input that has no structure to read.
"""
from __future__ import annotations

import gzip
import json
import math
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pymatgen.core import Structure

# File names read as structures: these suffixes (any case) and VASP's POSCAR* / CONTCAR* names.
STRUCTURE_SUFFIXES = (".cif", ".vasp", ".poscar")
POSCAR_NAMES = ("poscar", "contcar")


class UnreadableStructure(ValueError):
    """An input that holds no readable structure; the message says why, in words."""


def unreadable_reason(err: Exception) -> str:
    """The rejection reason for a structure that could not be read."""
    detail = str(err) if isinstance(err, UnreadableStructure) else f"{type(err).__name__}: {err}"
    return f"unreadable structure: {detail}"


def open_text(path: str | Path) -> IO[str]:
    """A text handle on a file, gunzipped on the fly when its name ends in ``.gz``."""
    opener = gzip.open if str(path).endswith(".gz") else open
    return opener(path, "rt", encoding="utf-8")


def read_json(path: str | Path) -> Any:
    """Read a JSON file, gzipped or not."""
    with open_text(path) as handle:
        return json.load(handle)


def table_rows(data: Any) -> list[dict[str, Any]]:
    """Rows of a JSON table: a list of dicts, a pandas ``split`` dict, or a pandas columns dict."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and {"columns", "data"} <= data.keys():
        return [dict(zip(data["columns"], row)) for row in data["data"]]
    if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()):
        keys = list(next(iter(data.values())).keys())
        return [{col: values.get(key) for col, values in data.items()} for key in keys]
    raise ValueError("unrecognised JSON table layout: expected a list of dicts or a pandas "
                     "'split'/'columns' orientation")


def json_lines(path: str | Path) -> Iterator[tuple[int, Any, str, str | None]]:
    """(line number from 1, parsed object, raw line, problem) per non-empty line of a JSON Lines
    file; a line that is no valid JSON has object None and the problem in words."""
    with open_text(path) as handle:
        for n, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line), line, None
            except json.JSONDecodeError as err:
                yield n, None, line, f"unreadable JSON on line {n} ({err.msg}, column {err.colno})"


def table_file_rows(path: str | Path) -> Iterator[tuple[int, Any, str | None, str | None]]:
    """The rows of a JSON table file, the one reader that training sources and prediction corpora
    share: (row number from 1, row, raw line, problem).

    ``.jsonl`` (gzipped or not): one object per line, streamed so memory stays flat; the raw line
    comes along, and a line that is no valid JSON has row None and the problem in words (its
    number is the line's). Otherwise a whole JSON table (:func:`table_rows`), raw line None.
    """
    if ".jsonl" in Path(path).name:
        yield from json_lines(path)
        return
    for n, row in enumerate(table_rows(read_json(path)), start=1):
        yield n, row, None, None


def is_structure_file(name: str) -> bool:
    """Whether a file name is read as a structure (CIF, ``.vasp``, ``.poscar``, POSCAR*, CONTCAR*)."""
    name = name.lower()
    return name.endswith(STRUCTURE_SUFFIXES) or name.startswith(POSCAR_NAMES)


def text_format(text: str) -> str | None:
    """``"cif"``, ``"poscar"`` or None (neither) for the text of a structure file."""
    if "_cell_length_a" in text or re.search(r"^\s*data_", text, re.MULTILINE):
        return "cif"
    lines = [line.split() for line in text.strip().splitlines()]
    if len(lines) >= 7 and _numbers(lines[1], 1) and all(_numbers(lines[i], 3) for i in (2, 3, 4)):
        return "poscar"
    return None


def _numbers(fields: list[str], count: int) -> bool:
    try:
        return len(fields) >= count and all(math.isfinite(float(f)) for f in fields[:count])
    except ValueError:
        return False


def _unreadable_text(text: str, err: Exception) -> UnreadableStructure:
    """The error for text pymatgen could not parse, named after what the text looks like."""
    fmt = text_format(text)
    if fmt is None:
        return UnreadableStructure("text that is neither CIF nor POSCAR")
    return UnreadableStructure(f"unreadable {'CIF' if fmt == 'cif' else 'POSCAR'} "
                               f"({type(err).__name__}: {err})")


def structure_from_text(text: str, fmt: str | None = None) -> Structure:
    """A structure from CIF or POSCAR text (``fmt`` None: recognised from the text)."""
    fmt = fmt or text_format(text)
    if fmt is None:
        raise UnreadableStructure("text that is neither CIF nor POSCAR")
    try:
        return Structure.from_str(text, fmt=fmt)
    except Exception as err:  # noqa: BLE001 - pymatgen raises many kinds
        raise _unreadable_text(text, err) from err


def structure_from_file(path: str | Path) -> Structure:
    """A structure from a CIF / POSCAR file (format from the name, as pymatgen reads it)."""
    try:
        return Structure.from_file(path)
    except Exception as err:  # noqa: BLE001
        text = Path(path).read_text(errors="replace") if Path(path).is_file() else ""
        raise _unreadable_text(text, err) from err


_OPEN_ZIPS: dict[tuple[int, str], zipfile.ZipFile] = {}


def structure_from_zip(zip_path: str | Path, member: str) -> Structure:
    """A structure from a CIF / POSCAR member of a zip archive, read without extracting."""
    key = (os.getpid(), str(zip_path))  # one handle per process: zip handles do not survive a fork
    if key not in _OPEN_ZIPS:
        _OPEN_ZIPS[key] = zipfile.ZipFile(zip_path)
    text = _OPEN_ZIPS[key].read(member).decode("utf-8", errors="replace")
    return structure_from_text(text, "cif" if member.lower().endswith(".cif") else "poscar")


def parse_structure(raw: Any) -> Structure:
    """A pymatgen Structure from a Structure, its ``as_dict()`` or a CIF / POSCAR string.

    Raises :class:`UnreadableStructure` saying what is wrong (no sites, text that is neither
    CIF nor POSCAR, ...).
    """
    if isinstance(raw, Structure):
        return raw
    if isinstance(raw, dict):
        if not raw.get("sites"):
            raise UnreadableStructure("no sites")
        try:
            return Structure.from_dict(raw)
        except Exception as err:  # noqa: BLE001
            raise UnreadableStructure(f"unreadable structure dict ({type(err).__name__}: {err})") from err
    if isinstance(raw, str):
        return structure_from_text(raw)
    raise UnreadableStructure("no structure" if raw is None else
                              f"a {type(raw).__name__} where a structure should be")


def read_payload(payload: tuple) -> Structure:
    """The structure a payload (see the module docstring) describes; raises on anything
    unreadable (:class:`UnreadableStructure` says why in words)."""
    kind = payload[0]
    if kind == "json_line":
        return parse_structure(json.loads(payload[1]).get(payload[2]))
    if kind == "dict":
        return parse_structure(payload[1])
    if kind == "text":
        return structure_from_text(payload[2], payload[1])
    if kind == "file":
        return structure_from_file(payload[1])
    if kind == "zip":
        return structure_from_zip(payload[1], payload[2])
    if kind == "missing":
        raise FileNotFoundError(payload[1])
    if kind == "unreadable":
        raise UnreadableStructure(payload[1])
    raise ValueError(f"unknown payload kind {kind!r}")
