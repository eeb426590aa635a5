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

from moduli.graphs import universal
from moduli.models.kinds import sevennet_head
from moduli.models.kinds.vector_head import VectorHeadKind


class CHGNetSevenNetHeadKind(VectorHeadKind):
    name = "chgnet_sevennet_mlp"
    label = "CHGNet+SevenNet-feature heads"
    keys = (universal.KEY, sevennet_head.DEFINITIONS[1][1])
    n_features = universal.N_FEATURES + sevennet_head.vector_length(1)

    def featurizers(self, cache_dir: str | None = None) -> list[Any]:
        return [universal.shared_featurizer(cache_dir), sevennet_head.shared_featurizer(cache_dir, 1)]
