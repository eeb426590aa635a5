"""One head on two foundation models: an MLP on CHGNet's 321 features and SevenNet-0's 640,
concatenated (961 numbers per structure; graph attributes ``u`` and ``u_sevennet``, each cached
as for its own head kind).

The two potentials were trained on the same data (MPtrj) with different architectures (CHGNet:
a graph network with bond angles and charge; SevenNet: an equivariant message-passing network),
so their representations of a crystal overlap but differ; one head can weigh both, where
separate heads can only be averaged. A checkpoint records both featurisers' specs
(``{"parts": [chgnet, sevennet]}``). Costs the sum of both featurisers per structure.
"""
from __future__ import annotations

from typing import Any

from moduli.features import chgnet, sevennet
from moduli.models.kinds.feature_heads import VectorHeadKind


class CHGNetSevenNetHeadKind(VectorHeadKind):
    name = "chgnet_sevennet_mlp"
    label = "CHGNet+SevenNet-feature heads"
    keys = (chgnet.KEY, sevennet.DEFINITIONS[1][1])
    n_features = chgnet.N_FEATURES + sevennet.vector_length(1)

    def featurizers(self, cache_dir: str | None = None) -> list[Any]:
        return [chgnet.shared_featurizer(cache_dir), sevennet.shared_featurizer(cache_dir, 1)]
