"""Corpus readers: stream :class:`CorpusEntry` items (id, raw payload, metadata) from a source.

Readers do not parse CIF, POSCAR or XYZ structures: parsing happens later, in DataLoader workers,
so a corpus of hundreds of thousands of files streams with flat memory and a bad file costs one
``rejected.csv`` line, not the run (JSON files and the rarer ASE formats are read whole here, see
:mod:`moduli.core.structure_files`). A payload says where the structure is (see
:mod:`moduli.core.structures`, which reads it). Metadata holds what the corpus knows without the
structure (``band_gap_ev``, ``decomposition_energy_ev_atom``, ``energy_above_hull_ev_atom``,
``crystal_system``...).
"""
from __future__ import annotations

import csv
import glob
import json
import logging
import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moduli.core.atomic import atomic_write
from moduli.core.errors import MissingInputError, UserInputError
from moduli.corpus.screening import element_list
from moduli.core.records import finite_or_none
from moduli.core.structure_files import file_entries, file_id
from moduli.core.structures import table_file_rows

log = logging.getLogger(__name__)

# Metadata key of an entry that could not be read at all (its value is the reason); such an
# entry is rejected at stage ``parse`` before any screening.
UNREADABLE = "unreadable"


@dataclass
class CorpusEntry:
    id: str
    payload: tuple
    metadata: dict[str, Any] = field(default_factory=dict)


def read_files(path: str | Path | Sequence[str | Path]) -> Iterator[CorpusEntry]:
    """Every structure in the files, folders (searched recursively, in sorted order) and globs
    of ``path`` (one or a list), in the order given.

    Every file in a folder is an input: one whose name no reader takes is rejected with the
    reason (see :mod:`moduli.core.structure_files` for the formats), never skipped. Hidden folders
    (``.git``...) are not searched, with a warning. Ids: a folder's files are named by their path
    below the folder, a file given by its path as given, both without the structure suffixes; a
    file of several structures gives ``<id>#<k>``.
    """
    for file, fid in input_files(path):
        for entry_id, payload, metadata in file_entries(file, fid):
            unreadable = {UNREADABLE: payload[1]} if payload[0] == "unreadable" else {}
            yield CorpusEntry(entry_id, payload, {**metadata, **unreadable})


def input_paths(path: str | Path | Sequence[str | Path]) -> list[str]:
    """``path`` as a list of strings; raises at once for a given path that neither exists nor
    matches any file as a glob."""
    given = [str(p) for p in ([path] if isinstance(path, (str, Path)) else path)]
    if not given:
        raise UserInputError("no input given: name structure files, folders or globs")
    for item in given:
        if not Path(item).exists() and not (glob.has_magic(item) and glob.glob(item, recursive=True)):
            raise MissingInputError(f"input {item} does not exist"
                                    + (" (a glob that matches no file)" if glob.has_magic(item) else ""))
    return given


def input_files(path: str | Path | Sequence[str | Path]) -> Iterator[tuple[Path, str]]:
    """(file, id) for every file of the given files, folders and globs, in order."""
    for given in input_paths(path):
        for match in [given] if Path(given).exists() else sorted(glob.glob(given, recursive=True)):
            item = Path(match)
            if item.is_dir():
                yield from ((file, file_id(file.relative_to(item))) for file in _walk(item))
            else:
                yield item, file_id(_shown(item))


def _shown(path: Path) -> Path:
    """A path as the user sees it: relative to the current folder when below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()) if path.is_absolute() else path
    except ValueError:
        return path


def _walk(folder: Path) -> Iterator[Path]:
    """The files below ``folder`` in sorted order, depth first; hidden folders are not searched."""
    entries = sorted(folder.iterdir(), key=lambda p: p.name)
    for entry in entries:
        if entry.is_dir():
            if entry.name.startswith("."):
                log.warning("not searched: hidden folder %s", entry)
                continue
            yield from _walk(entry)
        elif entry.is_file():
            yield entry


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
                             "a folder (a folder of structure files: corpus=files)")
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
            metadata["band_gap_ev"] = finite_or_none(row[band_gap_column])
        for column in ("e_above_hull", "energy_above_hull"):
            if column in row:
                metadata["energy_above_hull_ev_atom"] = finite_or_none(row[column])
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
            metadata["band_gap_ev"] = finite_or_none(row.get("Bandgap"))
            metadata["decomposition_energy_ev_atom"] = finite_or_none(
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
