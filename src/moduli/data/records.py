"""The records that flow from a data source to the featuriser, and the rejections on the way."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from pymatgen.core import Structure

from moduli.atomic import atomic_write

# Target names and what they are. Every target is stored as log10 of a modulus in GPa.
TARGETS: dict[str, dict[str, str]] = {
    "log10_g_vrh": {"quantity": "shear modulus (Voigt-Reuss-Hill)", "units": "log10(GPa)"},
    "log10_k_vrh": {"quantity": "bulk modulus (Voigt-Reuss-Hill)", "units": "log10(GPa)"},
}


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
    stage: str = "data"


def write_rejections(rejections: list[Rejection], path: str | Path) -> Path:
    """Write ``rejected.csv`` (id, stage, reason) atomically; an empty list writes the header only."""
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "stage", "reason"])
            writer.writerows([r.id, r.stage, r.reason] for r in rejections)

    return atomic_write(path, write)
