"""SevenNet heads that read the invariants of SevenNet-0's whole clamped-ion elastic matrix (for G).

:class:`~.sevennet_stiffness_head.SevenNetShear` reduces the clamped-ion 6x6 matrix C (the exact
strain Hessian of SevenNet-0's energy, per volume) to one number, the Voigt shear modulus. The
same Hessian holds more that a shear modulus depends on: how anisotropic the crystal is and how
close a shear mode is to unstable (DFT's G_VRH averages Voigt's bound with Reuss's, which the
softest modes dominate). This featuriser keeps, from the one Hessian:

- log10 G_V and log10 K_V (GPa, clipped at 0.1 GPa, as the shear feature): the Voigt averages;
- the six **Kelvin moduli**: the eigenvalues of C in Mandel form (shear rows and columns scaled by
  √2, so that a rotation of the crystal acts on it as an orthogonal 6x6 matrix), sorted, each as
  sign(λ) log10(1 + |λ| / 1 GPa) (a negative one, an unstable clamped mode, stays finite).

All eight are invariants of the tensor (the same numbers for every orientation) and intensive
(C is per volume), so every cell, origin, orientation and atom order of a crystal gives them
alike. Cost: the one strain Hessian of the shear feature (0.53 s per structure on one thread),
which this featuriser replaces in its kind; a bundle mixing both kinds computes it once
(:class:`~.sevennet_stiffness_head.MatrixMemo`).
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
from pymatgen.core import Structure

from moduli.models.kinds import sevennet_head
from moduli.models.kinds.sevennet_stiffness_head import KEY as STIFFNESS_KEY, SevenNetShear, shared_stiffness
from moduli.physics.elastic import kelvin_moduli, voigt_bulk_modulus, voigt_shear_modulus
from moduli.models.kinds.vector_head import VectorHeadKind

KEY = "u_sevennet_kelvin"
def signed_log(values: np.ndarray) -> np.ndarray:
    """sign(x) log10(1 + |x|): a log scale for moduli in GPa that keeps negative ones finite."""
    return np.sign(values) * np.log10(1 + np.abs(values))


class SevenNetKelvin(SevenNetShear):
    """Structures -> [log10 G_V, log10 K_V, 6 signed-log Kelvin moduli] of SevenNet-0's
    clamped-ion elastic matrix (8 numbers, one strain Hessian), through an optional disk cache."""

    def __init__(self, cache_dir: str | Path | None = None):
        super().__init__(None)
        self.key, self.n_features = KEY, 8
        self.spec = {**self.spec, "name": "sevennet_clamped_invariants", "n_features": 8,
                     "numbers": "log10 G_V, log10 K_V, sorted Kelvin moduli as sign(x) log10(1 + |x|)"}
        self.cache = self.own_cache(cache_dir, "clamped-invariants")

    def compute_one(self, structure: Structure) -> np.ndarray:
        self.check(structure)
        c = self.elastic_matrix(structure)
        averages = [np.log10(max(voigt_shear_modulus(c), 0.1)), np.log10(max(voigt_bulk_modulus(c), 0.1))]
        vector = np.concatenate([averages, signed_log(kelvin_moduli(c))])
        if not np.all(np.isfinite(vector)):
            raise ValueError("SevenNet clamped-ion elastic invariants are not finite")
        return vector.astype(np.float32)


@functools.lru_cache(maxsize=None)
def shared_kelvin(cache_dir: str | None = None) -> SevenNetKelvin:
    return SevenNetKelvin(cache_dir)


class SevenNetKelvinHeadKind(VectorHeadKind):
    """SevenNet-0's 640 features, its clamped-ion K and pressure (three energies), and the eight
    invariants of its clamped-ion elastic matrix (one strain Hessian): 650 numbers."""

    name = "sevennet_kelvin_mlp"
    label = "SevenNet-feature + clamped-ion elastic-invariant heads"
    keys = (sevennet_head.DEFINITIONS[1][1], STIFFNESS_KEY, KEY)
    n_features = sevennet_head.vector_length(1) + 2 + 8

    def featurizers(self, cache_dir: str | None = None) -> list[Any]:
        return [sevennet_head.shared_featurizer(cache_dir, 1), shared_stiffness(cache_dir), shared_kelvin(cache_dir)]
