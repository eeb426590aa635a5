"""The numbers behind the dataset / corpus figures (paper Figs. 4, 5), from one table.

A *structure table* has one row per structure with at least ``formula``, ``n_atoms`` (atoms in
the primitive cell) and ``crystal_system``; prediction runs write exactly such a table
(``predictions.parquet``) and ``structure_table`` builds one from training records. Elements are
taken from the formula, so the table alone is enough.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
import pandas as pd
from pymatgen.core import Composition

from moduli.analysis.style import SYSTEMS
from moduli.core.records import Record
from moduli.core.schema import TARGETS
from moduli.core.cell import cell_description


def structure_table(records: Iterable[Record], symprec: float = 0.1) -> pd.DataFrame:
    """A structure table for training records, with their moduli in GPa where known."""
    rows = []
    for record in records:
        row = {"id": record.id, **cell_description(record.structure, symprec)}
        for target in TARGETS.values():
            if target.name in record.targets:
                row[target.column] = 10.0 ** record.targets[target.name]
        rows.append(row)
    return pd.DataFrame(rows)


def crystal_system_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Structures per crystal system, all seven in order (zeros kept), with % of all structures.

    Structures whose symmetry search failed ('unknown') are counted in their own row after cubic,
    so the percentages always add up to 100 over the table.
    """
    counts = table["crystal_system"].value_counts()
    names = SYSTEMS + sorted(set(counts.index) - set(SYSTEMS))
    frame = pd.DataFrame({"crystal_system": names, "count": [int(counts.get(n, 0)) for n in names]})
    frame["percent"] = 100.0 * frame["count"] / max(len(table), 1)
    return frame


def atoms_per_cell_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Structures per number of atoms in the primitive cell (only values that occur)."""
    counts = table["n_atoms"].astype(int).value_counts().sort_index()
    return pd.DataFrame({"n_atoms": counts.index, "count": counts.to_numpy()})


def elements_of(formula: str) -> list[str]:
    return sorted(str(e) for e in Composition(formula).elements)


def element_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Number of structures containing each element, most common first (ties alphabetical)."""
    counter = Counter(e for formula in table["formula"] for e in elements_of(formula))
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    frame = pd.DataFrame(items, columns=["element", "count"])
    frame["percent"] = 100.0 * frame["count"] / max(len(table), 1)
    return frame


def describe(values: pd.Series) -> dict[str, float]:
    """n, mean, median and the 5th / 95th percentiles of the finite values."""
    finite = values[np.isfinite(values.astype(float))].astype(float)
    if finite.empty:
        return {"n": 0, "mean": float("nan"), "median": float("nan"), "p05": float("nan"), "p95": float("nan")}
    return {"n": int(len(finite)), "mean": float(finite.mean()), "median": float(finite.median()),
            "p05": float(finite.quantile(0.05)), "p95": float(finite.quantile(0.95))}


# Kinds of domain note (moduli.models.domain), by the words each begins with or holds.
DOMAIN_REASONS = {"element not in training data": "not in training data",
                  "nearest-neighbour distance below training": "nearest-neighbour distance",
                  "ensemble std above calibrated range": "above the calibrated range",
                  "no training domain recorded": "no training domain recorded"}


def domain_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Rows in / outside the models' training domain (``in_domain`` True / False / unknown) and how
    many notes give each reason (a row can give several), with % of all rows."""
    flags = table["in_domain"]
    notes = table["domain_note"].fillna("").astype(str)
    rows = [("in domain", int((flags == True).sum())),  # noqa: E712 - object column of bool/None
            ("outside domain", int((flags == False).sum())),  # noqa: E712
            ("unknown (no domain recorded)", int(flags.isna().sum()))]
    rows += [(f"reason: {name}", int(notes.str.contains(words, regex=False).sum()))
             for name, words in DOMAIN_REASONS.items()]
    frame = pd.DataFrame(rows, columns=["rows", "count"])
    frame["percent"] = 100.0 * frame["count"] / max(len(table), 1)
    return frame
