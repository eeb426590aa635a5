"""The per-element feature table (CGCNN's ``atom_init.json`` by default)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from moduli.core.assets import fetch


class AtomFeatureTable:
    """Element feature vectors indexed by atomic number; row 0 and unknown elements are all zeros."""

    def __init__(self, features: dict[int, list[float]]):
        if not features:
            raise ValueError("empty atom feature table")
        width = {len(v) for v in features.values()}
        if len(width) != 1:
            raise ValueError(f"atom feature vectors have differing lengths {sorted(width)}")
        table = np.zeros((max(features) + 1, width.pop()), dtype=np.float32)
        for z, vector in features.items():
            table[z] = vector
        self._set(table)

    def _set(self, table: np.ndarray) -> None:
        self.table = np.ascontiguousarray(table, dtype=np.float32)
        self.dim = self.table.shape[1]
        # An element is known when it has a non-zero feature vector (row 0 is never an element).
        self.known = self.table.any(axis=1)
        self.known[0] = False
        self.sha256 = hashlib.sha256(self.table.tobytes()).hexdigest()

    @classmethod
    def from_array(cls, table: np.ndarray) -> "AtomFeatureTable":
        """A table from a (max Z + 1, dim) array, e.g. the buffer stored in a checkpoint."""
        instance = cls.__new__(cls)
        instance._set(table)
        return instance

    @classmethod
    def from_json(cls, path: str | Path) -> "AtomFeatureTable":
        """Read a CGCNN-style ``{"Z": [features...]}`` JSON file."""
        with open(path) as handle:
            raw = json.load(handle)
        return cls({int(z): vector for z, vector in raw.items()})

    @classmethod
    def cgcnn(cls, data_dir: str | Path | None = None) -> "AtomFeatureTable":
        """The original CGCNN 92-dim one-hot embedding for Z = 1..100."""
        return cls.from_json(fetch("cgcnn_atom_init", data_dir))

    def has(self, z: np.ndarray) -> np.ndarray:
        """Which atomic numbers have a feature vector."""
        z = np.asarray(z)
        inside = (z > 0) & (z < len(self.known))
        return inside & self.known[np.where(inside, z, 0)]
