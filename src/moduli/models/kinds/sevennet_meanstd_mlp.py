"""SevenNet-feature heads on mean and spread: an MLP on SevenNet-0's scalar channels pooled over
the atoms by mean *and* (population) standard deviation, layer by layer (definition 2 of
:mod:`moduli.features.sevennet`, 1,280 numbers, graph attribute ``u_sevennet_ms``).

The standard deviation says how different the atoms' environments are, which a mean hides (a
crystal with one soft and one stiff sublattice has the same mean as a uniform one). It is
intensive, as the mean: a supercell repeats every atom equally often.
"""
from __future__ import annotations

from moduli.features.sevennet import DEFINITIONS, SevenNetFeaturizer, shared_featurizer, vector_length
from moduli.models.kinds.feature_heads import VectorHeadKind


class SevenNetMeanStdHeadKind(VectorHeadKind):
    name = "sevennet_meanstd_mlp"
    label = "SevenNet mean+std heads"
    keys = (DEFINITIONS[2][1],)
    n_features = vector_length(2)

    def featurizers(self, cache_dir: str | None = None) -> list[SevenNetFeaturizer]:
        return [shared_featurizer(cache_dir, 2)]
