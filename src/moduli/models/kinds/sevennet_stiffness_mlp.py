"""SevenNet-feature + stiffness heads: an MLP on SevenNet-0's 640 features and its clamped-ion
log10 K and pressure (:class:`moduli.features.sevennet_clamped.SevenNetStiffness`; 642 numbers,
three energies per structure on top of the features)."""
from __future__ import annotations

from typing import Any

from moduli.features.sevennet import DEFINITIONS, shared_featurizer, vector_length
from moduli.features.sevennet_clamped import STIFFNESS_KEY, shared_stiffness
from moduli.models.kinds.feature_heads import VectorHeadKind


class SevenNetStiffnessHeadKind(VectorHeadKind):
    name = "sevennet_stiffness_mlp"
    label = "SevenNet-feature + stiffness heads"
    keys = (DEFINITIONS[1][1], STIFFNESS_KEY)
    n_features = vector_length(1) + 2

    def featurizers(self, cache_dir: str | None = None) -> list[Any]:
        return [shared_featurizer(cache_dir, 1), shared_stiffness(cache_dir)]
