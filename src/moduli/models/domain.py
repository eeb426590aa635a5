"""The training domain of a model, and what makes a structure fall outside it.

A screening run over hypothetical crystals asks models about chemistry and geometry they never
saw; they answer anyway (a cell crushed to 17 % of its volume got B 456 GPa). A
:class:`TrainingDomain` records what the training data covered, so each prediction can say when
it extrapolates:

- the elements of the training structures;
- per element, the shortest nearest-neighbour distance seen around an atom of it (Å): a shorter
  one means a compressed or broken environment;
- the largest calibrated ensemble std on the validation split (log10 GPa): a larger spread means
  the members disagree more than on any validation crystal.

Distances are read from crystal graphs (the nearest of an atom's neighbours is its nearest
neighbour), in training and in prediction alike, so both sides measure the same thing. Nothing is
dropped for being outside: the prediction table gets ``in_domain`` and ``domain_note``.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from pymatgen.core.periodic_table import Element
from torch_geometric.data import Batch, Data

N_Z = 119  # atomic numbers 0..118


def nearest_neighbor_distances(n_atoms: int, centers: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """Per atom, the distance (Å) to its nearest neighbour (inf for an atom without edges)."""
    nearest = np.full(n_atoms, np.inf)
    np.minimum.at(nearest, np.asarray(centers, dtype=np.int64), np.asarray(distances, dtype=np.float64))
    return nearest


def _graph_arrays(graph: Data | Batch) -> tuple[np.ndarray, np.ndarray]:
    """(atomic numbers, nearest-neighbour distance per atom) of a crystal graph or a batch."""
    z = graph.z.cpu().numpy()
    return z, nearest_neighbor_distances(len(z), graph.edge_index[1].cpu().numpy(),
                                         graph.edge_dist.cpu().numpy())


@dataclass(frozen=True)
class TrainingDomain:
    """Elements, per-element shortest nearest-neighbour distance and the largest calibrated std."""

    min_distance: dict[str, float]   # element symbol -> shortest nearest-neighbour distance, Å
    max_std: float | None = None     # largest calibrated ensemble std on validation, log10 GPa

    @classmethod
    def from_graphs(cls, graphs: Iterable[Data], max_std: float | None = None) -> "TrainingDomain":
        """The domain of training graphs (elements and distances); ``max_std`` from validation."""
        shortest = np.full(N_Z, np.inf)
        for graph in graphs:
            z, nearest = _graph_arrays(graph)
            np.minimum.at(shortest, z, nearest)
        return cls({Element.from_Z(int(z)).symbol: round(float(shortest[z]), 4)
                    for z in np.flatnonzero(np.isfinite(shortest))}, max_std)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainingDomain":
        return cls({str(k): float(v) for k, v in data["min_distance"].items()}, data.get("max_std"))

    def as_dict(self) -> dict[str, Any]:
        return {"min_distance": dict(sorted(self.min_distance.items(), key=lambda kv: Element(kv[0]).Z)),
                "max_std": self.max_std,
                "note": "elements of the training structures with the shortest nearest-neighbour "
                        "distance (Å) around each; max_std: the largest calibrated ensemble std "
                        "(log10 GPa) on the validation split"}

    @cached_property
    def thresholds(self) -> np.ndarray:
        """Shortest training distance by atomic number; NaN for elements outside the domain."""
        table = np.full(N_Z, np.nan)
        for symbol, distance in self.min_distance.items():
            table[Element(symbol).Z] = distance
        return table

    def structure_notes(self, z: np.ndarray, nearest: np.ndarray) -> list[str]:
        """Why a structure (atomic numbers, nearest-neighbour distance per atom) lies outside the
        elements or distances of the training data; empty when it does not."""
        limit = self.thresholds[z]
        notes = []
        unseen = sorted({int(x) for x in z[np.isnan(limit)]})
        if unseen:
            notes.append("element(s) not in training data: "
                         + ", ".join(Element.from_Z(x).symbol for x in unseen))
        short = ~np.isnan(limit) & (nearest < limit - 1e-4)
        if short.any():
            worst = int(np.argmin(np.where(short, nearest / np.where(np.isnan(limit), 1, limit), np.inf)))
            symbol = Element.from_Z(int(z[worst])).symbol
            notes.append(f"nearest-neighbour distance {nearest[worst]:.2f} Å at {symbol} below the "
                         f"shortest in training ({limit[worst]:.2f} Å)")
        return notes


def domain_columns(domains: Sequence[tuple[str, TrainingDomain | None]], batch: Batch,
                   stds: dict[str, np.ndarray]) -> tuple[list[bool | None], list[str]]:
    """``in_domain`` and ``domain_note`` for the graphs of a batch predicted by models with these
    domains.

    ``domains`` pairs a model's label (bulk, shear) with its domain (None: not recorded, so the
    row's ``in_domain`` is None and the note says so); ``stds`` holds each label's calibrated
    log10 std per graph. A row is in the domain when no model flags it.
    """
    unknown = [label for label, domain in domains if domain is None]
    in_domain: list[bool | None] = []
    notes: list[str] = []
    z_all, nearest_all = _graph_arrays(batch)
    ptr = batch.ptr.cpu().numpy()
    for k in range(batch.num_graphs):
        z, nearest = z_all[ptr[k]:ptr[k + 1]], nearest_all[ptr[k]:ptr[k + 1]]
        flags: list[str] = []
        for label, domain in domains:
            if domain is None:
                continue
            flags += [n for n in domain.structure_notes(z, nearest) if n not in flags]
            std = stds.get(label)
            if domain.max_std is not None and std is not None and std[k] > domain.max_std:
                flags.append(f"{label} ensemble std {std[k]:.3f} above the calibrated range "
                             f"(<= {domain.max_std:.3f} log10 GPa on validation)")
        in_domain.append(False if flags else None if unknown else True)
        if unknown:
            flags.append(f"no training domain recorded for the {' and '.join(unknown)} model")
        notes.append("; ".join(flags))
    return in_domain, notes
