"""The records that flow from a data source to the featuriser, the rejections on the way, and
``rejected.csv``, the one file format every rejection is written in."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from pymatgen.core import Structure

from moduli.core.atomic import atomic_write
from moduli.core.schema import REJECTION_COLUMNS, Stage


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


def write_rejections(rejections: list[Rejection], path: str | Path) -> Path:
    """Write ``rejected.csv`` (id, stage, reason) atomically; an empty list writes the header only."""
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(REJECTION_COLUMNS)
            writer.writerows([r.id, r.stage, r.reason] for r in rejections)

    return atomic_write(path, write)
