"""The SevenNet-feature head kind: an MLP on SevenNet-0's 640 frozen features of each structure
(:mod:`moduli.features.sevennet`, definition 1, graph attribute ``u_sevennet``)."""
from __future__ import annotations

from moduli.features.sevennet import DEFINITIONS, SevenNetFeaturizer, shared_featurizer, vector_length
from moduli.models.kinds.feature_heads import VectorHeadKind


class SevenNetHeadKind(VectorHeadKind):
    name = "sevennet_mlp"
    label = "SevenNet-feature heads"
    keys = (DEFINITIONS[1][1],)
    n_features = vector_length(1)

    def featurizers(self, cache_dir: str | None = None) -> list[SevenNetFeaturizer]:
        return [shared_featurizer(cache_dir, 1)]
