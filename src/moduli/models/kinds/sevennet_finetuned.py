"""The fine-tuned SevenNet kind: SevenNet-0 trained end to end with a moduli head.

The network is :class:`moduli.models.networks.sevennet_body.FinetunedSevenNet` (SevenNet-0's body,
its per-layer atom means of the scalar channels, an MLP), behind an adapter that reads the crystal
graph's batch. Besides the crystal graph (whose ``z`` gives the atoms), each structure carries
SevenNet's own graph: the index pairs and vectors of every edge within SevenNet-0's 5 Å cutoff
(``sn_edge_index``, ``sn_edge_vec``; PyG shifts ``sn_edge_index`` by the atoms of the graphs
before it when batching, as it does ``edge_index``, since both graphs share the atoms). The graph
is made per structure by sevenn's own neighbour list, with no cache (milliseconds per structure,
against ~18 ms for SevenNet-0's forward pass as plain PyTorch on one CPU thread).

A network may have several outputs (the fine-tuning record in experiments/ trained log10 K and log10
G together); ``output`` picks the one this model predicts. Training through ``train.py`` works on
CPU (slow: a forward and backward pass through SevenNet-0 per structure) and on a GPU
(``trainer=gpu``); the body trains at ``lr x pretrained_lr_scale``.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from pymatgen.core import Structure
from torch import Tensor, nn
from torch_geometric.data import Batch, Data

from moduli.core.errors import FeaturesMismatch
from moduli.core.records import Record, Rejection
from moduli.core.schema import Stage
from moduli.features.sevennet_graph import EDGE_INDEX, shared_graphs
from moduli.graphs.featurizer import StructureRejected
from moduli.models.kinds.base import InputOptions, ModelKind
from moduli.models.networks.sevennet_body import FinetunedSevenNetNetwork


class FinetunedSevenNetKind(ModelKind):
    name = "sevennet_finetuned"
    label = "fine-tuned SevenNet-0 models"

    def build_network(self, sizes: dict[str, Any], atom_table: Tensor,
                      featurization: dict[str, Any]) -> nn.Module:
        return FinetunedSevenNetNetwork(atom_table, **sizes)

    def input_spec(self, cache_dir: str | Path | None = None) -> dict[str, Any]:
        return dict(shared_graphs().spec)

    def check_input_spec(self, recorded: dict[str, Any] | None) -> None:
        here = shared_graphs().spec
        if recorded != here:
            raise FeaturesMismatch(f"SevenNet's graphs or weights differ from the ones this model was "
                                   f"trained on (trained on {recorded}, here {here})")

    def add_inputs(self, graphs: list[Data], records: dict[str, Record],
                   cache_dir: str | Path | None = None) -> tuple[list[Data], list[Rejection]]:
        kept, rejections = [], []
        for graph in graphs:
            if EDGE_INDEX not in graph:
                try:
                    self.add_structure_inputs(graph, records[graph.id].structure)
                except StructureRejected as err:
                    rejections.append(Rejection(graph.id, str(err), Stage.FEATURIZE))
                    continue
                except Exception as err:  # noqa: BLE001 - a bad structure never ends a long run
                    rejections.append(Rejection(graph.id, f"SevenNet graph failed: {type(err).__name__}: {err}",
                                                Stage.FEATURIZE))
                    continue
            kept.append(graph)
        return kept, rejections

    def add_structure_inputs(self, graph: Data, structure: Structure,
                             options: InputOptions = InputOptions()) -> None:
        shared_graphs().add(graph, structure)

    @torch.no_grad()
    def prepare(self, net: nn.Module, train_graphs: Sequence[Data]) -> None:
        """Standardise the pooled vector with the pretrained body's statistics on the training set."""
        was_training = net.training
        net.eval()
        pooled = [net.pooled(Batch.from_data_list(list(train_graphs[start:start + 64])))
                  for start in range(0, len(train_graphs), 64)]
        net.net.fit_inputs(torch.cat(pooled))
        net.train(was_training)

    def parameter_groups(self, net: nn.Module, lr: float, pretrained_lr_scale: float = 1.0
                         ) -> list[dict[str, Any]]:
        """SevenNet-0's body at ``lr x pretrained_lr_scale``, the head at ``lr``."""
        body = [p for p in net.net.body_parameters() if p.requires_grad]
        groups = [{"params": body, "lr": lr * pretrained_lr_scale},
                  {"params": net.net.head_parameters(), "lr": lr}]
        return [g for g in groups if g["params"]]
