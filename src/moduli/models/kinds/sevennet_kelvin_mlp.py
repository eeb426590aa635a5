"""SevenNet-feature + clamped-ion elastic-invariant heads: an MLP on SevenNet-0's 640 features,
its clamped-ion log10 K and pressure (three energies), and the eight invariants of its clamped-ion
elastic matrix (:class:`moduli.features.sevennet_clamped.SevenNetKelvin`, one strain Hessian):
650 numbers per structure."""
from __future__ import annotations

from typing import Any

from moduli.features.sevennet import DEFINITIONS, shared_featurizer, vector_length
from moduli.features.sevennet_clamped import KELVIN_KEY, STIFFNESS_KEY, shared_kelvin, shared_stiffness
from moduli.models.kinds.feature_heads import VectorHeadKind


class SevenNetKelvinHeadKind(VectorHeadKind):
    name = "sevennet_kelvin_mlp"
    label = "SevenNet-feature + clamped-ion elastic-invariant heads"
    keys = (DEFINITIONS[1][1], STIFFNESS_KEY, KELVIN_KEY)
    n_features = vector_length(1) + 2 + 8

    def featurizers(self, cache_dir: str | None = None) -> list[Any]:
        return [shared_featurizer(cache_dir, 1), shared_stiffness(cache_dir), shared_kelvin(cache_dir)]
