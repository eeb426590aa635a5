"""Corpus readers: stream :class:`CorpusEntry` items (id, raw payload, metadata) from a source.

Readers never parse structures: parsing happens later, in DataLoader workers, so a corpus of
hundreds of thousands of files streams with flat memory and a bad file costs one
``rejected.csv`` line, not the run. A payload says where the structure is (see
:mod:`moduli.core.structures`, which reads it). Metadata holds what the corpus knows without the
structure (``band_gap_ev``, ``decomposition_energy_ev_atom``, ``energy_above_hull_ev_atom``,
``crystal_system``...).
"""
from __future__ import annotations

import csv
import json
import math
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moduli.core.atomic import atomic_write
from moduli.core.errors import MissingInputError, UserInputError
from moduli.predict.screening import element_list
from moduli.core.structures import STRUCTURE_SUFFIXES, is_structure_file, table_file_rows

# Metadata key of an entry that could not be read at all (its value is the reason); such an
# entry is rejected at stage ``parse`` before any screening.
UNREADABLE = "unreadable"


@dataclass
class CorpusEntry:
    id: str
    payload: tuple
    metadata: dict[str, Any] = field(default_factory=dict)


def _finite_or_none(value: Any) -> float | None:
    """A float for numbers and numeric strings; None for empty, NaN, inf or text."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def read_cif_dir(path: str | Path) -> Iterator[CorpusEntry]:
    """Every ``.cif`` / ``.CIF`` / POSCAR-like file below ``path`` (recursive, sorted).

    The id is the path relative to ``path`` without its suffix.
    """
    root = Path(path)
    if root.is_file():
        raise UserInputError(f"corpus=cif_dir needs a folder of structure files, and {root} is a "
                             "file (a JSON table of structures: corpus=structures_json)")
    if not root.is_dir():
        raise MissingInputError(f"corpus folder {root} does not exist")
    for file in sorted(root.rglob("*")):
        if file.is_file() and is_structure_file(file.name):
            rel = file.relative_to(root)
            stem = rel.with_suffix("") if rel.suffix.lower() in STRUCTURE_SUFFIXES else rel
            yield CorpusEntry(stem.as_posix(), ("file", str(file)))


def read_structures_json(path: str | Path, id_column: str = "material_id",
                         structure_column: str = "structure",
                         band_gap_column: str | None = "band_gap") -> Iterator[CorpusEntry]:
    """Rows of a JSON table of structures, gzipped or not.

    ``.json``: a list of dicts or a pandas split/columns table, read whole. ``.jsonl``: one JSON
    object per line, streamed, so memory stays flat however large the corpus. A line that is not
    valid JSON becomes an entry whose structure fails to load (one rejection). ``structure_column``
    holds a structure dict or CIF / POSCAR text; ``band_gap_column`` (eV) is optional and kept as
    ``band_gap_ev`` metadata (missing or non-finite: None).
    """
    if Path(path).is_dir():
        raise UserInputError(f"corpus=structures_json needs a JSON or JSON Lines file, and {path} is "
                             "a folder (a folder of CIF / POSCAR files: corpus=cif_dir)")
    if not Path(path).is_file():
        raise MissingInputError(f"corpus file {path} does not exist")
    checked = False
    for n, (number, row, line, problem) in enumerate(table_file_rows(path)):
        if problem is not None:
            yield CorpusEntry(f"line-{number}", ("unreadable", problem), {UNREADABLE: problem})
            continue
        if not checked:
            checked = True
            for setting, column in (("structure_column", structure_column), ("id_column", id_column)):
                if column not in row:
                    raise UserInputError(f"no column {column!r} in {path} (its columns: "
                                         f"{', '.join(map(repr, row))}); set corpus.{setting}")
        raw = row.get(structure_column)
        mid = str(row.get(id_column, f"row-{n + 1}"))
        if line is not None:
            # Keep the line, not the parsed dict: a chunk of 10k dicts of floats costs hundreds
            # of MB and is copied into every forked worker; the worker parses the line again.
            payload = ("json_line", line, structure_column)
        elif isinstance(raw, str):
            payload = ("text", None, raw)  # the format is recognised from the text
        else:
            payload = ("dict", raw)
        metadata = {"formula": row.get("formula") or row.get("formula_pretty")}
        if band_gap_column and band_gap_column in row:
            metadata["band_gap_ev"] = _finite_or_none(row[band_gap_column])
        for column in ("e_above_hull", "energy_above_hull"):
            if column in row:
                metadata["energy_above_hull_ev_atom"] = _finite_or_none(row[column])
        yield CorpusEntry(mid, payload, metadata)


GNOME_COLUMNS = {"Bandgap": "band_gap_ev", "Decomposition Energy Per Atom": "decomposition_energy_ev_atom",
                 "Crystal System": "crystal_system", "Space Group Number": "spacegroup_number",
                 "Reduced Formula": "formula", "NSites": "nsites"}


def read_gnome(summary_csv: str | Path, zip_path: str | Path) -> Iterator[CorpusEntry]:
    """The GNoME release: ``stable_materials_summary.csv`` joined to a zip of CIFs.

    Zip members are matched to summary rows by file stem: the ``MaterialId`` (``by_id.zip``)
    or the ``Composition`` / ``Reduced Formula`` (``by_composition.zip``). Suffixes may be
    ``.CIF`` or ``.cif``. A summary row with no CIF still yields an entry, whose structure then
    fails to load (one rejection, not a silent drop).
    """
    for given in (summary_csv, zip_path):
        if not Path(given).is_file():
            raise MissingInputError(f"GNoME file {given} does not exist")
    with zipfile.ZipFile(zip_path) as archive:
        members = {Path(m).stem: m for m in archive.namelist()
                   if m.lower().endswith(".cif") and not m.endswith("/")}
    with open(summary_csv, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            mid = row["MaterialId"]
            member = next((members[k] for k in (mid, row.get("Composition"), row.get("Reduced Formula"))
                           if k in members), None)
            metadata = {name: row.get(column) for column, name in GNOME_COLUMNS.items()}
            metadata["band_gap_ev"] = _finite_or_none(row.get("Bandgap"))
            metadata["decomposition_energy_ev_atom"] = _finite_or_none(
                row.get("Decomposition Energy Per Atom"))
            payload = ("zip", str(zip_path), member) if member else ("missing", f"no CIF for {mid} in {zip_path}")
            yield CorpusEntry(mid, payload, metadata)


MP_API_HOST = ("api.materialsproject.org", 443)
MP_FIELDS = ["material_id", "formula_pretty", "structure", "band_gap", "energy_above_hull"]


def read_mp_api(cache_path: str | Path, band_gap: tuple[float, float] | None = (0.1, 3.0),
                exclude_elements: str | list[str] | None = None, api_key_env: str = "MP_API_KEY",
                extra_criteria: dict[str, Any] | None = None) -> Iterator[CorpusEntry]:
    """Materials Project summary documents through the ``mp-api`` client, cached locally.

    The band-gap window and the element exclusions are pushed into the query, so only the
    screened part of MP is downloaded. The result is written once to ``cache_path`` (JSON,
    atomically) and read from there on every later run, with no query. Without a cache, the
    key comes from ``$MP_API_KEY``; offline, the call fails at once with a clear message.
    """
    cache = Path(cache_path)
    if not cache.is_file():
        _download_mp(cache, band_gap, exclude_elements, api_key_env, extra_criteria or {})
    yield from read_structures_json(cache, id_column="material_id", structure_column="structure",
                                    band_gap_column="band_gap")


def _download_mp(cache: Path, band_gap, exclude_elements, api_key_env: str, extra: dict) -> None:
    import socket

    key = os.environ.get(api_key_env)
    if not key:
        raise RuntimeError(f"no Materials Project API key: set ${api_key_env} (or provide the cache "
                           f"file {cache})")
    try:
        from mp_api.client import MPRester
    except ImportError as err:
        raise RuntimeError("the mp_api corpus needs the mp-api client: pip install mp-api") from err
    try:
        socket.create_connection(MP_API_HOST, timeout=10).close()
    except OSError as err:
        raise RuntimeError(f"cannot reach the Materials Project API ({err}); run where it is "
                           f"reachable, or provide the cache file {cache}") from err
    criteria = dict(extra)
    if band_gap is not None and any(v is not None for v in band_gap):
        criteria["band_gap"] = tuple(band_gap)
    if exclude_elements:
        criteria["exclude_elements"] = element_list(exclude_elements)
    with MPRester(key) as rester:
        docs = rester.materials.summary.search(fields=MP_FIELDS, **criteria)
    rows = [{"material_id": str(doc.material_id), "formula": doc.formula_pretty,
             "structure": doc.structure.as_dict(), "band_gap": doc.band_gap,
             "energy_above_hull": doc.energy_above_hull} for doc in docs]
    atomic_write(cache, lambda tmp: Path(tmp).write_text(json.dumps(rows)))
