"""Crystal graphs as CGCNN builds them, checked for bad input, cached on disk.

A graph holds atomic numbers ``z``, directed edges ``edge_index`` (row 0: neighbour, row 1: centre,
so messages flow neighbour -> centre) and their lengths ``edge_dist`` in Å. The one-hot atom
features and the Gaussian distance expansion are applied inside the model (see
:mod:`moduli.models.networks.cgcnn`), which keeps graphs small in memory and on disk and makes every
checkpoint carry its own feature table.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from pymatgen.core import Structure
from torch_geometric.data import Data

from moduli.core.cell import cell_problem
from moduli.core.records import Record, Rejection
from moduli.core.schema import Stage
from moduli.graphs.atom_features import AtomFeatureTable
from moduli.graphs.cache import GRAPH_COLUMNS, ArrayCache
from moduli.graphs.neighbors import nearest_neighbors

MIN_DISTANCE = 0.5  # Å; closer atoms mean a broken structure, not a real crystal.


@dataclass(frozen=True)
class Featurization:
    """Everything that fixes what a graph means; stored in every checkpoint and compared on load."""

    radius: float = 8.0
    max_neighbors: int = 12
    gaussian_step: float = 0.2
    atom_table_sha256: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    def check_compatible(self, other: "Featurization") -> None:
        """Raise if graphs built with ``other`` cannot be fed to a model trained with ``self``."""
        diffs = {k: (v, other.as_dict()[k]) for k, v in self.as_dict().items()
                 if v != other.as_dict()[k]}
        if diffs:
            detail = ", ".join(f"{k}: model {a!r} vs data {b!r}" for k, (a, b) in diffs.items())
            raise ValueError(f"featurisation mismatch between checkpoint and data ({detail})")


class StructureRejected(ValueError):
    """A structure that cannot become a graph; the message is the reason."""


def structure_key(structure: Structure) -> str:
    """A content hash of an ordered structure: lattice, atomic numbers, fractional coordinates."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(structure.lattice.matrix, dtype=np.float64).tobytes())
    digest.update(np.asarray(structure.atomic_numbers, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(structure.frac_coords, dtype=np.float64).tobytes())
    return digest.hexdigest()


class CrystalGraphFeaturizer:
    """Turns structures into graphs under one :class:`Featurization`, with an optional disk cache."""

    def __init__(self, atom_table: AtomFeatureTable, radius: float = 8.0, max_neighbors: int = 12,
                 gaussian_step: float = 0.2, cache_dir: str | Path | None = None):
        self.atom_table = atom_table
        self.params = Featurization(radius, max_neighbors, gaussian_step, atom_table.sha256)
        self.cache = (ArrayCache(Path(cache_dir) / f"graphs-r{radius}-k{max_neighbors}.sqlite",
                                 "graphs", GRAPH_COLUMNS)
                      if cache_dir else None)

    def check(self, structure: Structure) -> np.ndarray:
        """Atomic numbers of a structure; :class:`StructureRejected` for input CGCNN cannot represent."""
        problem = cell_problem(structure)
        if problem:
            raise StructureRejected(problem)
        z = np.empty(len(structure), dtype=np.int64)
        for i, site in enumerate(structure):  # one pass: ordered check and atomic numbers
            species = site.species
            if len(species) != 1 or abs(species.num_atoms - 1) > 1e-8:
                raise StructureRejected("partial occupancy (disordered structure)")
            z[i] = next(iter(species)).Z
        unknown = sorted({(int(z[i]), structure[i].specie.symbol) for i in np.flatnonzero(~self.atom_table.has(z))})
        if unknown:
            names = ", ".join(f"{symbol} (Z {number})" for number, symbol in unknown)
            raise StructureRejected(f"element(s) {names} outside the atom feature table of the "
                                    f"CGCNN graphs (it has {int(self.atom_table.known.sum())} elements), "
                                    "which every member reads")
        return z

    def arrays(self, structure: Structure) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(z, centers, neighbors, distances) for one structure, after the bad-input checks."""
        z = self.check(structure)
        centers, neighbors, distances = nearest_neighbors(
            structure, self.params.radius, self.params.max_neighbors)
        if len(distances) and distances.min() < MIN_DISTANCE:
            raise StructureRejected(f"atoms closer than {MIN_DISTANCE} Å "
                                    f"(min distance {distances.min():.3f} Å)")
        if len(distances) == 0:
            raise StructureRejected(f"no neighbours within {self.params.radius} Å")
        return z, centers, neighbors, distances

    def graph(self, structure: Structure) -> Data:
        """One graph, uncached (the cache works on batches, see :meth:`featurize`)."""
        return to_data(*self.arrays(structure))

    def featurize(self, records: Iterable[Record], target: str | None = None,
                  stage: str = Stage.FEATURIZE) -> tuple[list[Data], list[Rejection]]:
        """Graphs for records (with ``y`` = the target when given, ``id`` = record id) and rejections."""
        records = list(records)
        keys: list[str | None] = []
        rejections: list[Rejection] = []
        for record in records:
            try:
                self.check(record.structure)
                keys.append(structure_key(record.structure))
            except StructureRejected as err:
                keys.append(None)
                rejections.append(Rejection(record.id, str(err), stage))
        cached = self.cache.get_many([k for k in keys if k]) if self.cache else {}
        graphs, fresh = [], {}
        for record, key in zip(records, keys):
            if key is None:
                continue
            if target is not None and target not in record.targets:
                rejections.append(Rejection(record.id, f"no value for target {target}", stage))
                continue
            arrays = cached.get(key) or fresh.get(key)
            if arrays is None:
                try:
                    arrays = self.arrays(record.structure)
                except StructureRejected as err:
                    rejections.append(Rejection(record.id, str(err), stage))
                    continue
                except Exception as err:  # noqa: BLE001 - a bad structure never ends a long run
                    rejections.append(Rejection(record.id, f"featurisation failed: "
                                                f"{type(err).__name__}: {err}", stage))
                    continue
                fresh[key] = arrays
            data = to_data(*arrays)
            data.id = record.id
            if target is not None:
                data.y = torch.tensor([record.targets[target]], dtype=torch.float32)
            graphs.append(data)
        if self.cache and fresh:
            self.cache.put_many(fresh)
        return graphs, rejections


def to_data(z: np.ndarray, centers: np.ndarray, neighbors: np.ndarray,
            distances: np.ndarray) -> Data:
    """A PyG graph: messages flow from ``neighbors`` (row 0) to ``centers`` (row 1)."""
    edge_index = torch.from_numpy(np.stack([neighbors, centers]).astype(np.int64))
    return Data(z=torch.from_numpy(np.array(z, dtype=np.int64)), edge_index=edge_index,
                edge_dist=torch.from_numpy(np.array(distances, dtype=np.float32)),
                num_nodes=len(z))
