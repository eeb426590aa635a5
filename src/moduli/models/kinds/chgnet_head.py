"""The CHGNet-feature head kind: an MLP on frozen CHGNet features of each structure.

Its extra input is one vector per structure (:mod:`moduli.graphs.universal`: 321 intensive
numbers, cached on disk), carried by the graph as ``u``. A checkpoint records which features it
was trained on (CHGNet package and weights version, feature definition); loading it where the
features differ is refused with the reason. CHGNet knows elements up to Z 94; a structure with a
heavier one is rejected, naming the element, before CHGNet runs.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pymatgen.core import Structure
from torch import Tensor, nn
from torch_geometric.data import Data

from moduli.core.records import Record, Rejection
from moduli.graphs.universal import attach_features, check_spec, shared_featurizer
from moduli.models.heads import FeatureMLP
from moduli.models.kinds.base import ModelKind


class CHGNetHeadKind(ModelKind):
    name = "feature_mlp"
    label = "CHGNet-feature heads"

    def build_network(self, sizes: dict[str, Any], atom_table: Tensor,
                      featurization: dict[str, Any]) -> nn.Module:
        return FeatureMLP(atom_table, **sizes)

    def input_spec(self, cache_dir: str | Path | None = None) -> dict[str, Any]:
        return dict(shared_featurizer(_key(cache_dir)).spec)

    def check_input_spec(self, recorded: dict[str, Any] | None) -> None:
        check_spec(recorded, shared_featurizer().spec)

    def add_inputs(self, graphs: list[Data], records: dict[str, Record],
                   cache_dir: str | Path | None = None) -> tuple[list[Data], list[Rejection]]:
        return attach_features(graphs, records, shared_featurizer(_key(cache_dir)))

    def add_structure_inputs(self, graph: Data, structure: Structure) -> None:
        graph.u = torch.from_numpy(shared_featurizer().compute([structure])[0]).unsqueeze(0)

    def prepare(self, net: nn.Module, train_graphs: Sequence[Data]) -> None:
        net.fit_inputs(torch.cat([g.u for g in train_graphs]))


def _key(cache_dir: str | Path | None) -> str | None:
    """The featuriser cache key: one CHGNet per process and cache dir."""
    return str(cache_dir) if cache_dir is not None else None
