"""Data sources: each turns files into ordered :class:`Record` lists plus :class:`Rejection` lists.

Sources apply the Matbench-style record cleaning (finite, positive moduli; Reuss <= VRH <= Voigt
where the bounds are given) and order their records deterministically, so folds computed over
the record order are the same in any implementation. Structure-level checks (disorder, unknown
elements, overlapping atoms) happen at featurisation, where the feature table is known.
"""
from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moduli.core.assets import ASSETS, fetch
from moduli.core.records import FirstOfId, Record, Rejection
from moduli.core.structures import (parse_structure, read_json, structure_from_file, table_file_rows,
                                    table_rows, unreadable_reason)

SourceResult = tuple[list[Record], list[Rejection]]


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
    records, rejections, first = [], [], FirstOfId()
    for position, item in enumerate(items, start=1):
        repeat = first.repeat(item.id, position)
        if repeat:
            rejections.append(Rejection(item.id, repeat))
            continue
        (records if isinstance(item, Record) else rejections).append(item)
    records.sort(key=lambda r: r.id)
    return records, rejections


def _first_per_id(rows: list[dict[str, Any]], column: str, source: str
                  ) -> tuple[dict[str, dict[str, Any]], list[Rejection]]:
    """Rows by id (the first of each id) and a rejection for every later row with a taken id."""
    kept: dict[str, dict[str, Any]] = {}
    rejections, first = [], FirstOfId(where=source)
    for position, row in enumerate(rows, start=1):
        repeat = first.repeat(row[column], position)
        if repeat:
            rejections.append(Rejection(row[column], repeat))
        else:
            kept[row[column]] = row
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


def load_brgoch_new(data_dir: str | Path | None = None) -> SourceResult:
    """Extra training records: the MP elastic data of Mansouri Tehrani et al. (2018) that
    mp_elastic lacks (about 530 crystals, ~90 % ternaries), for the training part only.

    The data README's rule (file 8): a row is used when its material id is in none of the
    mp_elastic files (their newer values win) nor the legacy-tensor file (the independent check
    set), it is not flagged ``suspect_value``, its moduli pass the cleaning and its structure
    parses. A row that is the same crystal as a record of mp_elastic or of the check set under
    another id (same reduced formula and ``StructureMatcher`` fits) is left out too, so no test
    crystal can enter training through this file. Every row left out is a rejection with its
    reason. Ids are MP ids, so they never collide with mp_elastic's.
    """
    from pymatgen.analysis.structure_matcher import StructureMatcher

    main, main_rejections = load_mp_elastic(data_dir)
    mp_elastic_ids = {r.id for r in main} | {r.id for r in main_rejections}  # every id of its files
    held_out = table_rows(read_json(fetch("mp_elastic_tensors_1211", data_dir)))
    held_out_ids = {row["material_id"] for row in held_out}
    known: dict[str, list[tuple[str, Any]]] = {}  # reduced formula -> (what, structure)
    for record in main:
        known.setdefault(record.structure.composition.reduced_formula, []).append(
            (f"mp_elastic record {record.id}", record.structure))
    for row in held_out:
        with warnings.catch_warnings():  # pymatgen notes every rounded coordinate of these CIFs
            warnings.simplefilter("ignore", UserWarning)
            structure = parse_structure(row["cif"])
        known.setdefault(structure.composition.reduced_formula, []).append(
            (f"check-set record {row['material_id']}", structure))
    matcher = StructureMatcher()

    def one(position: int, row: dict[str, Any]) -> Record | Rejection:
        mid = row.get("material_id")
        if not isinstance(mid, str):
            return Rejection(f"brgoch-row-{position}", "no material_id")
        if mid in held_out_ids:
            return Rejection(mid, "in the legacy-tensor file, the independent check set: never trained on")
        if mid in mp_elastic_ids:
            return Rejection(mid, "in mp_elastic, whose newer values are used")
        if row.get("suspect_value"):
            return Rejection(mid, "flagged suspect_value by matminer")
        made = _record_from_moduli(mid, row["structure"],
                                   {"K_VRH": row.get("bulk_modulus"), "G_VRH": row.get("shear_modulus")})
        if isinstance(made, Record):
            for what, other in known.get(made.structure.composition.reduced_formula, []):
                if matcher.fit(made.structure, other):
                    return Rejection(mid, f"the same crystal as {what} (StructureMatcher)")
        return made

    rows = table_rows(read_json(fetch("brgoch_superhard_subset", data_dir)))
    return _split(one(position, row) for position, row in enumerate(rows, start=1))


# The training sources known by name (moduli.train.features, moduli-report --dataset, bundle cards,
# data.extra_train): name -> (loader taking a data dir, the asset names of its files).
NAMED_SOURCES: dict[str, tuple[Callable[..., SourceResult], list[str]]] = {
    "mp_elastic": (load_mp_elastic, ["mp_binary_elasticity_2025", "elastic_tensor_2015"]),
    "brgoch_new": (load_brgoch_new, ["brgoch_superhard_subset", "mp_binary_elasticity_2025",
                                     "elastic_tensor_2015", "mp_elastic_tensors_1211"]),
}


def load_named(name: str, data_dir: str | Path | None = None) -> SourceResult:
    """Records and rejections of the training source called ``name`` (see :data:`NAMED_SOURCES`)."""
    if name not in NAMED_SOURCES:
        raise ValueError(f"unknown source {name!r}; known: {sorted(NAMED_SOURCES)}")
    return NAMED_SOURCES[name][0](data_dir)


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
    """Any JSON table of structures (list of dicts or pandas split/columns, or JSON Lines) with a
    target column, read as prediction corpora are (:func:`~moduli.core.structures.table_file_rows`).

    ``transform='log10'`` takes the column as a modulus in GPa (it must be finite and > 0);
    ``'none'`` takes it as already in the target's units. A JSON Lines line that is no valid JSON
    is rejected as ``line-N``.
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

    return _split(Rejection(f"line-{n}", problem) if problem else one(row)
                  for n, row, _, problem in table_file_rows(path))
