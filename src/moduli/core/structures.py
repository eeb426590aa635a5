"""The one structure reader: JSON tables and lines, structure dicts, CIF / POSCAR text, files on
disk and zip members, each failure an :class:`UnreadableStructure` that says why in words.

Training sources (:mod:`moduli.data.sources`) and prediction corpora (:mod:`moduli.corpus.readers`)
both read through here, so "how a structure is read" and "what an unreadable one is called" live
in one place. A *payload* is how a corpus refers to a structure it has not parsed yet:

- ``("dict", structure_dict)``: a pymatgen ``Structure.as_dict()``;
- ``("text", fmt, text)``: CIF / POSCAR text (``fmt`` "cif", "poscar" or None: recognised);
- ``("json_line", line, column)``: one line of a JSON Lines file, the structure in ``column``;
- ``("file", path)``: a CIF / POSCAR file on disk, compressed or not;
- ``("frame", fmt, text)``: one frame of a multi-frame text file in ASE format ``fmt`` (extended XYZ);
- ``("atoms", atoms)``: an ASE ``Atoms`` (from a file ASE reads, or from Python);
- ``("zip", zip_path, member)``: a file inside a zip archive, read without extracting;
- ``("missing", reason)`` / ``("unreadable", reason)``: an input that has no structure to read.
"""
from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import math
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pymatgen.core import IStructure, Structure

class UnreadableStructure(ValueError):
    """An input that holds no readable structure; the message says why, in words."""


def unreadable_reason(err: Exception) -> str:
    """The rejection reason for a structure that could not be read."""
    detail = str(err) if isinstance(err, UnreadableStructure) else f"{type(err).__name__}: {err}"
    return f"unreadable structure: {detail}"


# Compressed files are read through these, chosen by the name's last suffix (any case).
OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def open_text(path: str | Path) -> IO[str]:
    """A text handle on a file, decompressed on the fly when its name ends in ``.gz``, ``.bz2``
    or ``.xz``."""
    opener = OPENERS.get(Path(path).suffix.lower(), open)
    return opener(path, "rt", encoding="utf-8", errors="replace")


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


def structure_from_file(path: str | Path, fmt: str | None = None) -> Structure:
    """A structure from a CIF / POSCAR file, compressed or not (``fmt`` None: from the text)."""
    try:
        with open_text(path) as handle:
            text = handle.read()
    except OSError as err:
        raise UnreadableStructure(f"cannot read {path} ({type(err).__name__}: {err})") from err
    return structure_from_text(text, fmt)


def structure_from_atoms(atoms: Any) -> Structure:
    """The crystal an ASE ``Atoms`` describes: periodic in all three directions with a cell of
    positive volume, or an :class:`UnreadableStructure` saying what it is instead."""
    pbc = [bool(p) for p in atoms.pbc]
    volume = abs(float(atoms.cell.volume)) if atoms.cell.rank == 3 else 0.0
    if not all(pbc) or volume < 1e-6:
        what = "a molecule" if not any(pbc) else "a slab or chain"
        raise UnreadableStructure(f"{what} without a periodic 3D lattice (pbc={pbc}, cell volume "
                                  f"{volume:.3g} Å³): only crystals can be predicted")
    if len(atoms) == 0:
        raise UnreadableStructure("no sites")
    return Structure(atoms.cell.array, atoms.get_chemical_symbols(), atoms.positions,
                     coords_are_cartesian=True)


def as_structures(given: Any) -> list[Structure | UnreadableStructure]:
    """A ``Structure``, an ASE ``Atoms`` or a list (tuple) of either, as a list of structures; an
    ``Atoms`` that is no crystal (a molecule) stays in its place as the
    :class:`UnreadableStructure` saying so. Anything else is a :class:`TypeError`."""
    items = list(given) if isinstance(given, (list, tuple)) else [given]
    converted: list[Structure | UnreadableStructure] = []
    for position, item in enumerate(items):
        if isinstance(item, IStructure):
            converted.append(item if isinstance(item, Structure) else Structure.from_sites(item))
        elif _is_atoms(item):
            try:
                converted.append(structure_from_atoms(item))
            except UnreadableStructure as err:
                converted.append(err)
        else:
            where = f" (item {position})" if isinstance(given, (list, tuple)) else ""
            raise TypeError(f"a {type(item).__module__}.{type(item).__name__}{where} where a pymatgen "
                            "Structure, an ASE Atoms or a list of either is accepted (read files with "
                            "Structure.from_file or ase.io.read, or run `moduli predict FILE...`)")
    return converted


def _is_atoms(item: Any) -> bool:
    try:
        from ase import Atoms
    except ImportError:  # pragma: no cover - ase is a dependency
        return False
    return isinstance(item, Atoms)


def structure_from_frame(fmt: str, text: str) -> Structure:
    """A structure from the text of one frame of a file in ASE format ``fmt``."""
    from ase.io import read

    try:
        atoms = read(io.StringIO(text), format=fmt)
    except Exception as err:  # noqa: BLE001 - ASE raises many kinds
        raise UnreadableStructure(f"unreadable {fmt} frame ({type(err).__name__}: {err})") from err
    return structure_from_atoms(atoms)


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
        if "lattice" not in raw and (raw.get("@class") == "Molecule" or raw.get("sites")):
            raise UnreadableStructure("a molecule without a lattice: only crystals can be predicted")
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
        row = json.loads(payload[1])
        return parse_structure(row if payload[2] is None else row.get(payload[2]))
    if kind == "dict":
        return parse_structure(payload[1])
    if kind == "text":
        return structure_from_text(payload[2], payload[1])
    if kind == "file":
        return structure_from_file(*payload[1:])
    if kind == "frame":
        return structure_from_frame(payload[1], payload[2])
    if kind == "atoms":
        return structure_from_atoms(payload[1])
    if kind == "zip":
        return structure_from_zip(payload[1], payload[2])
    if kind == "missing":
        raise FileNotFoundError(payload[1])
    if kind == "unreadable":
        raise UnreadableStructure(payload[1])
    raise ValueError(f"unknown payload kind {kind!r}")
