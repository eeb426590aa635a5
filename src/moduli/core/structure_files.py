"""Structure files by name: which format a file is, its id, and the structures (frames) it holds.

Every file a user of this field has is read: CIF (``.cif``, ``.mcif``), POSCAR / CONTCAR /
``*.vasp`` / ``*.poscar``, pymatgen JSON (a structure, a list of them, or a table with a
``structure`` column) and JSON Lines, extended XYZ (``.extxyz``, ``.xyz``) and every other file
ASE reads (``.traj``, ``OUTCAR``, ``vasprun.xml``, ``.res``, ``.xsf``...), each also compressed
(``.gz``, ``.bz2``, ``.xz``). A file that holds several structures (frames, a CIF of several data
blocks, a JSON list) gives one per structure, with id ``<file id>#<k>`` (k from 0, as ASE
numbers frames).

:func:`file_entries` yields *payloads* (see :mod:`moduli.core.structures`) without parsing CIF,
POSCAR or extended XYZ, so a folder of a million files streams cheaply and a bad file costs one
rejection where its structure is parsed (a CIF is read here only to count its data blocks). JSON
files and the rarer ASE formats are read here, whole, since their number of structures is not
known before.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from moduli.core.records import finite_or_none
from moduli.core.structures import OPENERS, open_text, read_json, table_file_rows, table_rows

# Formats by lower-case suffix; VASP's names (POSCAR*, CONTCAR*) are matched apart.
PYMATGEN_SUFFIXES = {".cif": "cif", ".mcif": "cif", ".vasp": "poscar", ".poscar": "poscar"}
VASP_NAMES = ("poscar", "contcar")
JSON_SUFFIXES = {".json": "json", ".jsonl": "jsonl"}
XYZ_SUFFIXES = {".extxyz": "extxyz", ".xyz": "extxyz"}
# Suffixes of files that sit beside structures and are never structures (ASE would guess a
# format for some of them: README.md reads as a CASTEP MD file).
NOT_STRUCTURES = {".md", ".txt", ".csv", ".tsv", ".py", ".sh", ".yaml", ".yml", ".toml", ".ini",
                  ".pdf", ".png", ".jpg", ".jpeg", ".svg", ".html", ".ipynb", ".parquet", ".zip",
                  ".tar", ".npz", ".npy", ".pt", ".ckpt"}
FRAME_SEPARATOR = "#"
ROW_ID = "row_id"  # metadata key of the id a JSON table row names


def split_compression(name: str) -> tuple[str, str]:
    """(name without a compression suffix, that suffix or "")."""
    suffix = Path(name).suffix.lower()
    return (name[: -len(suffix)], suffix) if suffix in OPENERS else (name, "")


def file_format(name: str) -> str | None:
    """The format a file name says: ``cif``, ``poscar``, ``json``, ``jsonl``, ``extxyz``,
    ``ase:<ASE format>``, or None for a name no reader takes."""
    base, _ = split_compression(Path(name).name)
    lower, suffix = base.lower(), Path(base.lower()).suffix
    if suffix in PYMATGEN_SUFFIXES:
        return PYMATGEN_SUFFIXES[suffix]
    if lower.startswith(VASP_NAMES) and suffix in ("", ".vasp") or lower in VASP_NAMES:
        return "poscar"
    if suffix in JSON_SUFFIXES:
        return JSON_SUFFIXES[suffix]
    if suffix in XYZ_SUFFIXES:
        return XYZ_SUFFIXES[suffix]
    if suffix in NOT_STRUCTURES:
        return None
    return _ase_format(base)


def _ase_format(name: str) -> str | None:
    from ase.io.formats import UnknownFileTypeError, filetype, ioformats

    try:
        fmt = filetype(name, read=False, guess=False)
    except (UnknownFileTypeError, ValueError, OSError):
        return None
    return f"ase:{fmt}" if fmt in ioformats and ioformats[fmt].can_read else None


def file_id(path: str | Path) -> str:
    """A file's id: its path without the compression and structure suffixes
    (``cifs/NaCl.cif.gz`` -> ``cifs/NaCl``; ``run/CONTCAR`` stays)."""
    base, _ = split_compression(Path(path).as_posix())
    suffix = Path(base).suffix
    known = (suffix.lower() in PYMATGEN_SUFFIXES or suffix.lower() in JSON_SUFFIXES
             or suffix.lower() in XYZ_SUFFIXES or (file_format(base) or "").startswith("ase:"))
    stripped = base[: -len(suffix)] if suffix and known else base
    return stripped or base


def unknown_reason(path: str | Path) -> str:
    """Why a file is not read: the rejection reason for a name :func:`file_format` does not take."""
    name = Path(path).name
    suffix = Path(split_compression(name)[0]).suffix or "(no suffix)"
    return (f"not a structure file ({suffix}): moduli reads CIF, POSCAR / CONTCAR / .vasp, pymatgen "
            "JSON / JSON Lines, extended XYZ and the formats ASE reads, each also .gz / .bz2 / .xz")


def file_entries(path: str | Path, fid: str) -> Iterator[tuple[str, tuple, dict[str, Any]]]:
    """(id, payload, metadata) for each structure in the file at ``path`` whose id is ``fid``.

    A file no reader takes, or one that cannot be opened, gives one ``("unreadable", reason)``
    payload, so it is rejected with its reason and counted, never skipped.
    """
    fmt = file_format(str(path))
    if fmt is None:
        yield fid, ("unreadable", unknown_reason(path)), {}
        return
    try:
        if fmt == "cif":
            blocks = cif_blocks(path)
            if len(blocks) <= 1:
                yield fid, ("file", str(path), fmt), {}
            else:
                yield from _numbered(fid, ((("text", "cif", block), {}) for block in blocks))
        elif fmt == "poscar":
            yield fid, ("file", str(path), fmt), {}
        elif fmt in ("json", "jsonl"):
            yield from _json_entries(path, fid)
        elif fmt == "extxyz":
            yield from _numbered(fid, ((("frame", "extxyz", text), {}) for text in xyz_frames(path)))
        else:
            yield from _ase_entries(path, fid, fmt.removeprefix("ase:"))
    except Exception as err:  # noqa: BLE001 - any unreadable file is one rejection with its reason
        yield fid, ("unreadable", f"unreadable {fmt} file ({type(err).__name__}: {err})"), {}


def _numbered(fid: str, items: Iterator[tuple[tuple, dict]]) -> Iterator[tuple[str, tuple, dict]]:
    """``fid`` for a file of one structure, ``fid#0``, ``fid#1``... for one of several; a table
    row that names its id (``material_id`` / ``id``) keeps that id."""
    first = next(items, None)
    if first is None:
        yield fid, ("unreadable", "no structure in the file"), {}
        return
    second = next(items, None)
    numbered = [(0, first)] if second is None else [(0, first), (1, second)]
    for k, (payload, metadata) in itertools.chain(numbered, enumerate(items, start=2)):
        own = metadata.pop(ROW_ID, None)
        yield own or (fid if second is None else f"{fid}{FRAME_SEPARATOR}{k}"), payload, metadata


def cif_blocks(path: str | Path) -> list[str]:
    """The data blocks of a CIF file that hold atom sites, each as the text of a CIF of its own
    (a file of one block gives one); blocks without atoms (a global or publication block) are
    not structures and are left out."""
    with open_text(path) as handle:
        text = handle.read()
    starts = [m.start() for m in re.finditer(r"^[ \t]*data_", text, re.MULTILINE)]
    if len(starts) <= 1:
        return [text]
    blocks = [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]
    return [block for block in blocks if "_atom_site_" in block]


def xyz_frames(path: str | Path) -> Iterator[str]:
    """The text of each frame of an (extended) XYZ file: an atom count, a comment line (the
    lattice and properties in extended XYZ), then that many atom lines."""
    with open_text(path) as handle:
        while True:
            header = handle.readline()
            while header and not header.strip():
                header = handle.readline()
            if not header:
                return
            if not re.fullmatch(r"\s*\d+\s*", header):
                raise ValueError(f"expected an atom count, found {header.strip()[:40]!r}")
            lines = [header, handle.readline()]
            for _ in range(int(header)):
                line = handle.readline()
                if not line:
                    raise ValueError(f"the file ends inside a frame of {int(header)} atoms")
                lines.append(line)
            yield "".join(lines)


def _json_entries(path: str | Path, fid: str) -> Iterator[tuple[str, tuple, dict[str, Any]]]:
    """A pymatgen structure dict, a list of them, or a table with a ``structure`` column (ids
    from its ``material_id`` / ``id`` column); JSON Lines: one of those per line."""
    if ".jsonl" in Path(path).name.lower():
        rows = ((n, row, line, problem) for n, row, line, problem in table_file_rows(path))
    else:
        data = read_json(path)
        if _is_structure_dict(data):
            yield fid, ("dict", data), {}
            return
        rows = ((n, row, None, None) for n, row in enumerate(table_rows(data), start=1))
    yield from _numbered(fid, (_json_row(row, line, problem) for _, row, line, problem in rows))


def _json_row(row: Any, line: str | None, problem: str | None) -> tuple[tuple, dict[str, Any]]:
    if problem is not None:
        return ("unreadable", problem), {}
    if not isinstance(row, dict):
        return ("unreadable", f"a JSON {type(row).__name__} where a structure should be"), {}
    column = None if _is_structure_dict(row) or "structure" not in row else "structure"
    metadata = {} if column is None else _row_metadata(row)
    if line is not None:
        return ("json_line", line, column), metadata
    return ("dict", row if column is None else row[column]), metadata


def _row_metadata(row: dict[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for column in ("material_id", "id"):
        if row.get(column) is not None:
            metadata[ROW_ID] = str(row[column])
            break
    if "band_gap" in row:
        metadata["band_gap_ev"] = finite_or_none(row["band_gap"])
    return metadata


def _is_structure_dict(data: Any) -> bool:
    return isinstance(data, dict) and "sites" in data and ("lattice" in data or "@class" in data)


def _ase_entries(path: str | Path, fid: str, fmt: str) -> Iterator[tuple[str, tuple, dict[str, Any]]]:
    from ase.io import read

    frames = read(str(path), index=":", format=fmt)
    yield from _numbered(fid, ((("atoms", atoms), {}) for atoms in frames))
