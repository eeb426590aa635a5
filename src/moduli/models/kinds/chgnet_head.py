"""The CHGNet-feature head kind: an MLP on frozen CHGNet features of each structure.

Its extra input is one vector per structure (:mod:`moduli.graphs.universal`: 321 intensive
numbers, cached on disk), carried by the graph as ``u``. A checkpoint records which features it
was trained on (CHGNet package and weights version, feature definition); loading it where the
features differ is refused with the reason. CHGNet knows elements up to Z 94; a structure with a
heavier one is rejected, naming the element, before CHGNet runs.
"""
from __future__ import annotations

from moduli.graphs import universal
from moduli.models.kinds.vector_head import VectorHeadKind


class CHGNetHeadKind(VectorHeadKind):
    name = "chgnet_mlp"
    label = "CHGNet-feature heads"
    keys = (universal.KEY,)
    n_features = universal.N_FEATURES

    def featurizers(self, cache_dir: str | None = None) -> list[universal.CHGNetFeaturizer]:
        return [universal.shared_featurizer(cache_dir)]
