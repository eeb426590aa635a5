"""The CHGNet-feature head kind: an MLP on frozen CHGNet features of each structure.

Its extra input is one vector per structure (:mod:`moduli.features.chgnet`: 321 intensive
numbers, cached on disk), carried by the graph as ``u``. A checkpoint records which features it
was trained on (CHGNet package and weights version, feature definition); loading it where the
features differ is refused with the reason. CHGNet knows elements up to Z 94; a structure with a
heavier one is rejected, naming the element, before CHGNet runs.
"""
from __future__ import annotations

from moduli.features import chgnet
from moduli.models.kinds.feature_heads import VectorHeadKind


class CHGNetHeadKind(VectorHeadKind):
    name = "chgnet_mlp"
    label = "CHGNet-feature heads"
    keys = (chgnet.KEY,)
    n_features = chgnet.N_FEATURES

    def featurizers(self, cache_dir: str | None = None) -> list[chgnet.CHGNetFeaturizer]:
        return [chgnet.shared_featurizer(cache_dir)]
