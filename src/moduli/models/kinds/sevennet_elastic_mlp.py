"""SevenNet-feature + clamped-ion K and G heads: an MLP on SevenNet-0's 640 features, its
clamped-ion log10 K and pressure, and the log10 Voigt shear modulus of its exact strain Hessian
(:mod:`moduli.features.sevennet_clamped`; 643 numbers, three energies and one Hessian per
structure on top of the features). The accurate bundles' K members."""
from __future__ import annotations

from typing import Any

from moduli.features.sevennet import DEFINITIONS, shared_featurizer, vector_length
from moduli.features.sevennet_clamped import SHEAR_KEY, STIFFNESS_KEY, shared_shear, shared_stiffness
from moduli.models.kinds.feature_heads import VectorHeadKind


class SevenNetElasticHeadKind(VectorHeadKind):
    name = "sevennet_elastic_mlp"
    label = "SevenNet-feature + clamped-ion K and G heads"
    keys = (DEFINITIONS[1][1], STIFFNESS_KEY, SHEAR_KEY)
    n_features = vector_length(1) + 3

    def featurizers(self, cache_dir: str | None = None) -> list[Any]:
        return [shared_featurizer(cache_dir, 1), shared_stiffness(cache_dir), shared_shear(cache_dir)]
