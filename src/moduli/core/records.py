"""The records that flow from a data source to the featuriser, the rejections on the way, and
``rejected.csv``, the one file format every rejection is written in."""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from pymatgen.core import Structure

from moduli.core.atomic import atomic_write
from moduli.core.schema import REJECTION_COLUMNS, Stage


def finite_or_none(value: object) -> float | None:
    """A float for numbers and numeric strings; None for empty, NaN, inf or text (a corpus's
    band gap or energy column)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass
class Record:
    """One usable input: an id, its structure and the targets known for it (log10 GPa)."""

    id: str
    structure: Structure
    targets: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejection:
    """An input that could not be used, with the stage that refused it and why."""

    id: str
    reason: str
    stage: str = Stage.DATA


class FirstOfId:
    """The one rule for repeated ids, in training sources and prediction corpora alike: the first
    entry of an id is used, every later one is rejected with a reason naming the entry used.

    ``noun`` names the entries in reasons ("entry", "input"), ``where`` the file when it helps.
    """

    def __init__(self, noun: str = "entry", where: str = ""):
        self.noun, self.where = noun, f" in {where}" if where else ""
        self.first: dict[str, int] = {}

    def repeat(self, entry_id: str, position: int) -> str | None:
        """Why the entry at ``position`` (1-based) is a repeat of an earlier one, or None for the
        first entry of its id (then remembered)."""
        if entry_id in self.first:
            return (f"repeated id{self.where}: {self.noun} {position} has the id of {self.noun} "
                    f"{self.first[entry_id]}, the one used")
        self.first[entry_id] = position
        return None


def write_rejections(rejections: list[Rejection], path: str | Path) -> Path:
    """Write ``rejected.csv`` (id, stage, reason) atomically; an empty list writes the header only."""
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(REJECTION_COLUMNS)
            writer.writerows([r.id, r.stage, r.reason] for r in rejections)

    return atomic_write(path, write)
