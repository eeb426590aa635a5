"""The target normaliser: networks learn ``(y - mean) / std``, users see ``y``."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

MIN_STD = 1e-6  # floor: a constant target must not divide by zero


@dataclass(frozen=True)
class Normalizer:
    """Mean and std of the training targets; the one place predictions are de-normalised."""

    mean: float
    std: float

    @classmethod
    def fit(cls, values: Sequence[float]) -> "Normalizer":
        values = np.asarray(values, dtype=float)
        return cls(float(values.mean()), float(max(values.std(), MIN_STD)))

    @classmethod
    def from_dict(cls, given: dict[str, Any]) -> "Normalizer":
        return cls(float(given["mean"]), float(given["std"]))

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def encode(self, y):
        """Targets in the network's units (tensors or arrays)."""
        return (y - self.mean) / self.std

    def decode(self, z):
        """Network outputs in the target's units (tensors or arrays)."""
        return z * self.std + self.mean
