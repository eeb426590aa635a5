"""What a kind of model owns, behind one interface.

A *kind* is a family of networks together with the inputs they read: CGCNN reads crystal graphs;
a head on foundation-model features reads a per-structure vector as well. Everything that differs
between kinds lives in the kind's module (``moduli.models.kinds.<kind>``): building the network,
the extra inputs and their cache, what a checkpoint records about those inputs and checks on
load, how the inputs standardise, which parameters train at which rate, and what transfer
learning means. Training (datamodule, Lightning module, fitter), prediction (workers, ensembles,
``moduli.predict``) and bundling talk to this interface only.

Every input starts as a crystal graph (:mod:`moduli.graphs.featurizer`): it carries the atoms,
which the domain check and the atom table of every checkpoint use; a kind adds what else its
network reads to the graph (``add_inputs`` for many records, ``add_structure_inputs`` for one).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pymatgen.core import Structure
from torch import Tensor, nn
from torch_geometric.data import Batch, Data

from moduli.core.errors import UserInputError
from moduli.core.records import Record, Rejection


@dataclass(frozen=True)
class InputOptions:
    """How prediction makes a kind's extra inputs.

    ``cache_dir``: the feature cache (the one training fills; None: no cache): a structure whose
    features are there skips the foundation model. ``on_device``: leave the features a featuriser
    can compute in batches to the predicting module (:meth:`ModelKind.complete_batch`, on its
    device); otherwise each structure's are computed where its graph is made (CPU workers).
    """

    cache_dir: str | None = None
    on_device: bool = False


class ModelKind:
    """The base of every kind; its defaults describe a network that reads the crystal graph only."""

    name: ClassVar[str]   # the ``model.net.kind`` of configs and checkpoints
    label: ClassVar[str]  # how model cards name networks of this kind

    def build_network(self, sizes: dict[str, Any], atom_table: Tensor,
                      featurization: dict[str, Any]) -> nn.Module:
        """The network ``sizes`` describes (the net config without ``kind``), untrained."""
        raise NotImplementedError

    # -- inputs beyond the crystal graph ------------------------------------------------------
    def input_spec(self, cache_dir: str | Path | None = None) -> dict[str, Any] | None:
        """What the extra inputs are (model, versions, definition), recorded in checkpoints."""
        return None

    def check_input_spec(self, recorded: dict[str, Any] | None) -> None:
        """Raise with the reason unless a network trained on ``recorded`` inputs can read the
        inputs this installation makes."""

    def add_inputs(self, graphs: list[Data], records: dict[str, Record],
                   cache_dir: str | Path | None = None) -> tuple[list[Data], list[Rejection]]:
        """Graphs (``graph.id`` names its record) with the extra inputs added; a graph whose
        structure yields none is left out and its record rejected (stage featurize)."""
        return graphs, []

    def add_structure_inputs(self, graph: Data, structure: Structure,
                             options: InputOptions = InputOptions()) -> None:
        """Add the extra inputs of one structure to its graph; raises with the reason if it has
        none (prediction, one structure at a time, in whichever process makes the graph)."""

    def complete_batch(self, batch: Batch, options: InputOptions = InputOptions()) -> Tensor | None:
        """Finish a batch of graphs from :meth:`add_structure_inputs` in the predicting process:
        compute what was left to the device and store fresh features in the cache. Returns a
        boolean mask of graphs whose inputs failed (None: none failed)."""
        return None

    # -- training -----------------------------------------------------------------------------
    def prepare(self, net: nn.Module, train_graphs: Sequence[Data]) -> None:
        """Fit what the network takes from the training inputs (e.g. their standardisation)."""

    def parameter_groups(self, net: nn.Module, lr: float, pretrained_lr_scale: float = 1.0
                         ) -> list[dict[str, Any]]:
        """The optimiser's parameter groups: one learning rate for every trainable parameter."""
        return [{"params": [p for p in net.parameters() if p.requires_grad], "lr": lr}]

    def freeze(self, net: nn.Module, count: int) -> None:
        """Stop training the first ``count`` layers of the body (0: train everything)."""
        if count:
            raise UserInputError(f"{self.label} have no layers to freeze (model.freeze_convs={count})")

    def initialise(self, net: nn.Module, source: str, data_dir: str | Path | None = None) -> list[str]:
        """Copy weights from a pretrained network ``source``; returns the names of the copied tensors."""
        raise UserInputError(f"{self.label} cannot start from a pretrained network (model.init_from={source})")
