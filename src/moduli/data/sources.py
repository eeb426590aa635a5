"""Data sources: each turns files into ordered :class:`Record` lists plus :class:`Rejection` lists.

Sources apply the Matbench-style record cleaning (finite, positive moduli; Reuss <= VRH <= Voigt
where the bounds are given) and order their records deterministically, so folds computed over
the record order are the same in any implementation. Structure-level checks (disorder, unknown
elements, overlapping atoms) happen at featurisation, where the feature table is known.
"""
from __future__ import annotations

import csv
import gzip
import json
import math
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pymatgen.core import Structure

from moduli.data.assets import ASSETS, fetch
from moduli.data.records import Record, Rejection

SourceResult = tuple[list[Record], list[Rejection]]


def read_json(path: str | Path) -> Any:
    """Read a JSON file, gzipped or not."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
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


class UnreadableStructure(ValueError):
    """An input that holds no readable structure; the message says why, in words."""


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


def _unreadable(fmt: str, err: Exception) -> UnreadableStructure:
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
        raise _unreadable(fmt, err) from err


def structure_from_file(path: str | Path) -> Structure:
    """A structure from a CIF / POSCAR file (format from the name, as pymatgen reads it)."""
    try:
        return Structure.from_file(path)
    except Exception as err:  # noqa: BLE001
        text = Path(path).read_text(errors="replace") if Path(path).is_file() else ""
        fmt = text_format(text)
        if fmt is None:
            raise UnreadableStructure("text that is neither CIF nor POSCAR") from err
        raise _unreadable(fmt, err) from err


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


def unreadable_reason(err: Exception) -> str:
    """The rejection reason for a structure that could not be read."""
    detail = str(err) if isinstance(err, UnreadableStructure) else f"{type(err).__name__}: {err}"
    return f"unreadable structure: {detail}"


def moduli_problem(values: dict[str, Any]) -> str | None:
    """Why a set of moduli (GPa) fails the Matbench cleaning, or None if it passes.

    ``values`` maps names like ``K_VRH``, ``G_Voigt`` to numbers; absent bounds are not checked.
    """
    for name, value in values.items():
        if value is None:
            continue
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"non-finite modulus {name}={value!r}"
        if value <= 0:
            return f"non-positive modulus {name}={value}"
    for kind in ("K", "G"):
        reuss, vrh, voigt = (values.get(f"{kind}_{b}") for b in ("Reuss", "VRH", "Voigt"))
        if vrh is None:
            continue
        if reuss is not None and reuss > vrh + 1e-6:
            return f"{kind}_Reuss={reuss} > {kind}_VRH={vrh}"
        if voigt is not None and vrh > voigt + 1e-6:
            return f"{kind}_VRH={vrh} > {kind}_Voigt={voigt}"
    return None


def _record_from_moduli(mid: str, raw_structure: Any, moduli: dict[str, Any]) -> Record | Rejection:
    problem = moduli_problem(moduli)
    if problem is not None:
        return Rejection(mid, problem)
    try:
        structure = parse_structure(raw_structure)
    except Exception as err:  # noqa: BLE001 - any parser failure is a rejection, not a crash
        return Rejection(mid, unreadable_reason(err))
    targets = {"log10_k_vrh": math.log10(moduli["K_VRH"]), "log10_g_vrh": math.log10(moduli["G_VRH"])}
    return Record(mid, structure, targets)


def _split(items: Iterable[Record | Rejection]) -> SourceResult:
    """Records sorted by id, and the rejections. Of entries sharing an id only the first is used
    and every later one is rejected, so no data point is silently replaced by another."""
    records, rejections, first = [], [], {}
    for position, item in enumerate(items, start=1):
        if item.id in first:
            rejections.append(Rejection(item.id, f"repeated id: entry {position} has the id of entry "
                                                 f"{first[item.id]}, the one used"))
            continue
        first[item.id] = position
        (records if isinstance(item, Record) else rejections).append(item)
    records.sort(key=lambda r: r.id)
    return records, rejections


def _first_per_id(rows: list[dict[str, Any]], column: str, source: str
                  ) -> tuple[dict[str, dict[str, Any]], list[Rejection]]:
    """Rows by id (the first of each id) and a rejection for every later row with a taken id."""
    kept: dict[str, dict[str, Any]] = {}
    positions: dict[str, int] = {}
    rejections = []
    for position, row in enumerate(rows, start=1):
        mid = row[column]
        if mid in kept:
            rejections.append(Rejection(mid, f"repeated id in {source}: entry {position} has the "
                                             f"id of entry {positions[mid]}, the one used"))
            continue
        kept[mid], positions[mid] = row, position
    return kept, rejections


def load_mp_elastic(data_dir: str | Path | None = None) -> SourceResult:
    """Real Materials Project elastic data: the 2025 binaries file joined with elastic_tensor_2015.

    On ids present in both, the 2025 values win (MP recomputed some of them). Records are
    sorted by material id (string sort). Targets: ``log10_k_vrh`` and ``log10_g_vrh``.
    """
    newer, newer_repeats = _first_per_id(read_json(fetch("mp_binary_elasticity_2025", data_dir)),
                                         "mp_id", ASSETS["mp_binary_elasticity_2025"].filename)
    older, older_repeats = _first_per_id(table_rows(read_json(fetch("elastic_tensor_2015", data_dir))),
                                         "material_id", ASSETS["elastic_tensor_2015"].filename)
    raw: dict[str, tuple[Any, dict[str, Any]]] = {}
    for mid, row in older.items():
        moduli = {f"{k}_{b}": row.get(f"{k}_{b}") for k in "KG" for b in ("Reuss", "VRH", "Voigt")}
        raw[mid] = (row["structure"], moduli)
    for mid, row in newer.items():  # the 2025 values replace the 2015 ones of the same id
        raw[mid] = (row["structure"],
                    {"K_VRH": row["bulk_modulus_vrh"], "G_VRH": row["shear_modulus_vrh"]})
    records, rejections = _split(_record_from_moduli(mid, s, m) for mid, (s, m) in raw.items())
    return records, newer_repeats + older_repeats + rejections


MATBENCH_TARGETS = {"matbench_log_gvrh": ("log10(G_VRH)", "log10_g_vrh", "mb-log-gvrh"),
                    "matbench_log_kvrh": ("log10(K_VRH)", "log10_k_vrh", "mb-log-kvrh")}


def load_matbench(task: str, data_dir: str | Path | None = None) -> SourceResult:
    """A Matbench v0.1 elastic task through matminer's reader; ids ``mb-log-gvrh-00001``... in row order."""
    from matminer.utils.io import load_dataframe_from_json

    column, target, prefix = MATBENCH_TARGETS[task]
    frame = load_dataframe_from_json(str(fetch(task, data_dir)))
    records = [Record(f"{prefix}-{i + 1:05d}", structure, {target: float(value)})
               for i, (structure, value) in enumerate(zip(frame["structure"], frame[column]))]
    return records, []  # Matbench is already cleaned; ids sort in row order.


def load_cif_folder(path: str | Path, target: str) -> SourceResult:
    """The CGCNN layout: ``id_prop.csv`` (id, value in the target's units) beside ``<id>.cif`` files."""
    folder = Path(path)
    with open(folder / "id_prop.csv", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]

    def one(row: list[str]) -> Record | Rejection:
        mid = row[0].strip()
        try:
            value = float(row[1])
        except (IndexError, ValueError):
            return Rejection(mid, f"unreadable target {row[1:]!r}")
        if not math.isfinite(value):
            return Rejection(mid, f"non-finite target {value}")
        try:
            structure = structure_from_file(folder / f"{mid}.cif")
        except Exception as err:  # noqa: BLE001
            return Rejection(mid, unreadable_reason(err))
        return Record(mid, structure, {target: value})

    return _split(one(row) for row in rows)


TRANSFORMS: dict[str, Callable[[float], float]] = {"none": float, "log10": math.log10}


def load_structures_json(path: str | Path, target: str, target_column: str,
                         transform: str = "log10", id_column: str = "material_id",
                         structure_column: str = "structure") -> SourceResult:
    """Any JSON table of structures (list of dicts or pandas split/columns) with a target column.

    ``transform='log10'`` takes the column as a modulus in GPa (it must be finite and > 0);
    ``'none'`` takes it as already in the target's units.
    """
    convert = TRANSFORMS[transform]

    def one(row: dict[str, Any]) -> Record | Rejection:
        mid = str(row.get(id_column))
        value = row.get(target_column)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return Rejection(mid, f"non-finite or missing target {target_column}={value!r}")
        if transform == "log10" and value <= 0:
            return Rejection(mid, f"non-positive modulus {target_column}={value}")
        try:
            structure = parse_structure(row.get(structure_column))
        except Exception as err:  # noqa: BLE001
            return Rejection(mid, unreadable_reason(err))
        return Record(mid, structure, {target: convert(value)})

    return _split(one(row) for row in table_rows(read_json(path)))
