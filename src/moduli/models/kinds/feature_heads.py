"""What every head on frozen foundation-model features shares: inputs are per-structure vectors.

Each reads the vectors of one or more *vector featurisers* (:mod:`moduli.features` says what
they are: a graph key, a spec, a cache).

A head kind (:class:`VectorHeadKind`) names its featurisers and their keys (``keys``, known
without loading any foundation model); its network
(:class:`~moduli.models.networks.feature_mlp.FeatureMLP`) reads their vectors concatenated in that order. A head
on one featuriser records that featuriser's spec; a head on several records ``{"parts": [...]}``.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from pymatgen.core import Structure
from torch import Tensor, nn
from torch_geometric.data import Batch, Data

from moduli.core.errors import FeaturesMismatch
from moduli.core.records import Record, Rejection
from moduli.graphs.featurizer import structure_key
from moduli.models.kinds.base import InputOptions, ModelKind
from moduli.models.networks.feature_mlp import FeatureMLP

# Where a graph's feature vector stands (graph attribute ``<key>_state``).
CACHED, FRESH, PENDING = 0, 1, 2  # from the cache (or stored) / computed, not stored / to compute


class VectorHeadKind(ModelKind):
    """A kind whose network is an MLP on the vectors of :meth:`featurizers` (not registered
    itself: it has no ``name``)."""

    keys: ClassVar[tuple[str, ...]]  # the featurisers' graph attributes, in featurizers() order
    n_features: ClassVar[int]  # the length of their vectors together

    def featurizers(self, cache_dir: str | None = None) -> list[Any]:
        """The vector featurisers this kind reads, in the order their vectors are concatenated."""
        raise NotImplementedError

    def build_network(self, sizes: dict[str, Any], atom_table: Tensor,
                      featurization: dict[str, Any]) -> nn.Module:
        sizes = {"n_features": self.n_features, **sizes}
        if sizes["n_features"] != self.n_features:
            raise ValueError(f"{self.label} read {self.n_features} features, the network settings say "
                             f"n_features={sizes['n_features']}")
        return FeatureMLP(atom_table, keys=self.keys, **sizes)

    def input_spec(self, cache_dir: str | Path | None = None) -> dict[str, Any]:
        specs = [dict(f.spec) for f in self.featurizers(_key(cache_dir))]
        return specs[0] if len(specs) == 1 else {"parts": specs}

    def check_input_spec(self, recorded: dict[str, Any] | None) -> None:
        featurizers = self.featurizers()
        if len(featurizers) == 1:
            featurizers[0].check_spec(recorded)
            return
        parts = (recorded or {}).get("parts")
        if not isinstance(parts, list) or len(parts) != len(featurizers):
            raise FeaturesMismatch(f"this head was trained on other inputs ({recorded}) than "
                                   f"{self.label} read ({[f.spec for f in featurizers]})")
        for featurizer, part in zip(featurizers, parts):
            featurizer.check_spec(part)

    def add_inputs(self, graphs: list[Data], records: dict[str, Record],
                   cache_dir: str | Path | None = None) -> tuple[list[Data], list[Rejection]]:
        rejections: list[Rejection] = []
        for featurizer in self.featurizers(_key(cache_dir)):
            if graphs and all(featurizer.key in g for g in graphs):
                continue  # another kind of the same ensemble added these vectors already
            vectors, refused = featurizer.featurize([records[g.id] for g in graphs])
            rejections += refused
            for graph in graphs:
                if graph.id in vectors:
                    graph[featurizer.key] = torch.from_numpy(
                        np.array(vectors[graph.id], dtype=np.float32)).unsqueeze(0)
            graphs = [g for g in graphs if g.id in vectors]
        return graphs, rejections

    def add_structure_inputs(self, graph: Data, structure: Structure,
                             options: InputOptions = InputOptions()) -> None:
        """Each featuriser's vector from the cache, or computed here, or (``options.on_device``
        and a batched featuriser) left for :meth:`complete_batch`; ``<key>_state`` says which."""
        key = None
        for featurizer in self.featurizers(_key(options.cache_dir)):
            if featurizer.key in graph:
                continue  # another kind of the same ensemble added these vectors already
            featurizer.check(structure)
            key = key or structure_key(structure)
            cached = featurizer.cache.get_many([key]).get(key) if featurizer.cache else None
            batched = options.on_device and getattr(featurizer, "batched", False)
            if cached is not None:
                vector, state = cached[0], CACHED
            elif batched:
                vector, state = np.zeros(featurizer.n_features, dtype=np.float32), PENDING
            else:
                vector, state = featurizer.compute_one(structure), FRESH
            if batched:
                featurizer.add_batch_inputs(graph, structure if state == PENDING else None)
            graph[featurizer.key] = torch.from_numpy(np.array(vector, dtype=np.float32)).unsqueeze(0)
            graph[f"{featurizer.key}_state"] = torch.tensor([state])
            graph.structure_key = key

    def complete_batch(self, batch: Batch, options: InputOptions = InputOptions()) -> Tensor | None:
        failed = None
        for featurizer in self.featurizers(_key(options.cache_dir)):
            state = batch[f"{featurizer.key}_state"]
            pending = (state == PENDING).nonzero().flatten()
            if len(pending):
                vectors = featurizer.compute_batch(batch, pending)
                batch[featurizer.key][pending] = vectors
                state[pending] = FRESH
            bad = ~torch.isfinite(batch[featurizer.key]).all(dim=-1)
            failed = bad if failed is None else failed | bad
            fresh = ((state == FRESH) & ~bad).nonzero().flatten().tolist()
            if featurizer.cache is not None and fresh:
                values = batch[featurizer.key].cpu().numpy()
                featurizer.cache.put_many({batch.structure_key[i]: (values[i],) for i in fresh})
            state[fresh] = CACHED  # stored: a kind sharing this featuriser does not store it again
        return failed if failed is not None and bool(failed.any()) else None

    def prepare(self, net: nn.Module, train_graphs: Sequence[Data]) -> None:
        net.fit_inputs(torch.cat([torch.cat([g[key] for key in self.keys], dim=-1) for g in train_graphs]))


def _key(cache_dir: str | Path | None) -> str | None:
    """The featurisers' cache key: one featuriser per process and cache dir."""
    return str(cache_dir) if cache_dir is not None else None
