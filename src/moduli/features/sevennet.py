"""SevenNet-0 feature vectors: the per-layer atom means (and spreads) of its scalar channels.

SevenNet-0 (Park et al., J. Chem. Theory Comput. 20, 4857 (2024); PyPI ``sevenn``, MIT, weights
inside the wheel, so it works offline) is an equivariant interatomic potential trained on the
Materials Project relaxation trajectories (MPtrj). Its node features after each of its five
interaction layers start with 128 scalar (0e) channels; the mean of those over the atoms of a
structure, layer by layer, is a 640-number description of the crystal (definition 1; a probe found it
more informative for K and G than CHGNet's 321 numbers, at about half the cost).
Definition 2 adds the standard deviation over the atoms, layer by layer (1,280 numbers), which the
kind ``sevennet_meanstd_mlp`` reads. Means and (population) standard deviations only:
every number is intensive, so a crystal gets one vector whatever cell describes it.

SevenNet-0 runs here as TorchScript (:class:`LayerScalars`: the layers up to the fifth gate,
scripted and frozen when the featuriser is made, ~2.5 s): about 12 ms per structure on one thread
against 17.5 ms for the same layers unscripted (``benchmarks/model_cost.py``), the same vectors
bit for bit on 200 real structures.

The vectors are cached per structure content in ``<cache_dir>/sevennet-<package>-<model>-d<definition>.sqlite``;
a head's checkpoint records :data:`SevenNetFeaturizer.spec`, and loading it where the features
differ is refused with the reason. The graph carries the vector as ``u_sevennet`` (definition 2:
``u_sevennet_ms``; ``u`` is the CHGNet heads'), so these kinds can share one ensemble.
"""
from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Dict, List  # Dict, List: annotations of the scripted modules below

import numpy as np
import torch
from pymatgen.core import Structure
from torch import Tensor, nn

from moduli.core.records import Record, Rejection
from moduli.core.schema import Stage
from moduli.graphs.cache import ArrayCache
from moduli.core.errors import FeaturesMismatch
from moduli.graphs.featurizer import StructureRejected, structure_key

MODEL = "7net-0"
N_LAYERS, N_SCALARS = 5, 128
# definition -> (what is pooled over the atoms per layer, the graph attribute holding the vector)
DEFINITIONS = {1: (("mean",), "u_sevennet"), 2: (("mean", "std"), "u_sevennet_ms")}
CACHE_EVERY = 100  # fresh vectors written to the cache in groups of this size while featurising


def vector_length(definition: int) -> int:
    """How many numbers a vector of ``definition`` holds (640 for definition 1)."""
    return N_LAYERS * N_SCALARS * len(DEFINITIONS[definition][0])


class _Block(nn.Module):
    """SevenNet modules run in order on the graph's dict (one interaction layer, up to its gate)."""

    def __init__(self, modules: list[nn.Module]):
        super().__init__()
        self.steps = nn.ModuleList(modules)

    def forward(self, data: Dict[str, Tensor]) -> Dict[str, Tensor]:
        for step in self.steps:
            data = step(data)
        return data


class LayerScalars(nn.Module):
    """SevenNet-0 up to the gate of its last interaction layer: the :data:`N_SCALARS` scalar
    channels of every atom after each of the :data:`N_LAYERS` gates (what the features pool),
    from :meth:`SevenNetFeaturizer.graph_inputs` (one graph) or :func:`batch_inputs` (several,
    ``batched``). Energy readout left out. Built from a copy, so ``model`` is left as it was."""

    def __init__(self, model: nn.Module, batched: bool = False):
        super().__init__()
        model = copy.deepcopy(model)
        model.set_is_batch_data(batched)
        names = list(model._modules)
        ends = [i + 1 for i, name in enumerate(names) if name.endswith("_equivariant_gate")]
        if len(ends) != N_LAYERS:
            raise ValueError(f"expected {N_LAYERS} interaction layers in SevenNet, found {len(ends)}")
        modules = [model._modules[name] for name in names]
        self.blocks = nn.ModuleList([_Block(modules[a:b]) for a, b in zip([0, *ends[:-1]], ends)])
        self.n_scalars = N_SCALARS

    def forward(self, data: Dict[str, Tensor]) -> List[Tensor]:
        scalars: List[Tensor] = []
        for block in self.blocks:
            data = block(data)
            scalars.append(data["x"][:, :self.n_scalars])
        return scalars


def pool(layers: Sequence[Tensor], batch: Tensor, n_graphs: int, pools: Sequence[str]) -> Tensor:
    """Per graph, layer by layer, the atom mean (and population std) of the scalar channels, in
    float64: a (n_graphs, len(layers) x N_SCALARS x len(pools)) tensor."""
    counts = torch.bincount(batch, minlength=n_graphs).clamp_min(1).unsqueeze(-1).double()
    parts = []
    for layer in layers:
        layer = layer.double()
        mean = layer.new_zeros(n_graphs, layer.shape[1]).index_add_(0, batch, layer) / counts
        for name in pools:
            if name == "mean":
                parts.append(mean)
            else:
                spread = (layer - mean[batch]) ** 2
                parts.append((spread.new_zeros(mean.shape).index_add_(0, batch, spread) / counts).sqrt())
    return torch.cat(parts, dim=-1)


class SevenNetFeaturizer:
    """Structures -> SevenNet-0 feature vectors of one definition (:data:`DEFINITIONS`), through
    an optional disk cache (a vector featuriser as :mod:`moduli.features` describes).

    Two ways to the same vectors (1e-5; float32 sums in another order): :meth:`compute_one`, one
    structure at a time (TorchScript, where CPU workers compute them side by side), and
    :meth:`compute_batch`, many structures in one pass on the predicting module's device (a
    GPU), from the SevenNet graphs :meth:`add_batch_inputs` puts on each crystal graph."""

    batched = True  # compute_batch exists

    def __init__(self, cache_dir: str | Path | None = None, definition: int = 1):
        import sevenn
        from sevenn.calculator import SevenNetCalculator

        calculator = SevenNetCalculator(MODEL, device="cpu")
        self.cutoff = calculator.cutoff
        self.known_z = set(calculator.type_map)
        self.model = calculator.model
        self.model.delete_module_by_key("force_output")  # energies only: no autograd over positions
        self.model.eval()
        self.pools, self.key = DEFINITIONS[definition]
        self.n_features = vector_length(definition)
        self.spec = {"name": "sevennet", "package": sevenn.__version__, "model": MODEL,
                     "definition": definition, "n_features": self.n_features}
        self.cache = self.cache_in(cache_dir)
        # scripted here, once: predict.py's data-loader workers fork from the process that loaded
        # the models and inherit it instead of compiling it again for every chunk
        self.scripted = self.script()

    def cache_in(self, cache_dir: str | Path | None) -> ArrayCache | None:
        """The vectors' cache file in ``cache_dir`` (``sevennet-<package>-<model>-d<definition>.sqlite``)."""
        if not cache_dir:
            return None
        name = f"sevennet-{self.spec['package']}-{MODEL}-d{self.spec['definition']}.sqlite"
        return ArrayCache(Path(cache_dir) / name, "features", {"features": np.float32})

    def graph_inputs(self, structure: Structure) -> Dict[str, Tensor]:
        """SevenNet's graph of ``structure`` (its own neighbour list, cutoff 5 Å) as the tensors
        its scripted modules read, atoms as indices into its element table (what its eager
        forward's preprocessing makes of the atomic numbers)."""
        from pymatgen.io.ase import AseAtomsAdaptor
        from sevenn.atom_graph_data import AtomGraphData
        from sevenn.train.dataload import unlabeled_atoms_to_graph

        atoms = AseAtomsAdaptor.get_atoms(structure)
        data = AtomGraphData.from_numpy_dict(unlabeled_atoms_to_graph(atoms, self.cutoff, with_shift=False))
        inputs = {key: value for key, value in data.items() if isinstance(value, Tensor)}
        inputs["x"] = self.model.z_to_onehot_tensor[inputs["atomic_numbers"]]
        return inputs

    def script(self) -> torch.jit.ScriptModule:
        """What :meth:`compute_one` runs: :class:`LayerScalars` of the model, scripted and frozen
        (~2.5 s)."""
        import e3nn.util.jit

        return torch.jit.freeze(e3nn.util.jit.script(LayerScalars(self.model).eval()))

    def add_batch_inputs(self, graph: Any, structure: Structure | None) -> None:
        """Put SevenNet's edges of ``structure`` on its crystal graph for :meth:`compute_batch`
        (``<key>_edge_index``, ``<key>_edge_vec``; PyG shifts the index by the atoms of the graphs
        before it, as the atoms are the crystal graph's); no structure: no edges (its vector is known)."""
        if structure is None:
            index, vectors = np.zeros((2, 0), dtype=np.int64), np.zeros((0, 3), dtype=np.float32)
        else:
            inputs = self.graph_inputs(structure)
            index, vectors = inputs["edge_index"].numpy(), inputs["edge_vec"].numpy()
        graph[f"{self.key}_edge_index"] = torch.from_numpy(np.asarray(index, dtype=np.int64))
        graph[f"{self.key}_edge_vec"] = torch.from_numpy(np.asarray(vectors, dtype=np.float32))

    @torch.inference_mode()
    def compute_batch(self, batch: Any, graphs: Tensor) -> Tensor:
        """The vectors (float32, on the batch's device) of the ``graphs`` (positions in ``batch``)
        whose SevenNet edges :meth:`add_batch_inputs` added, in one pass of SevenNet-0."""
        device = batch.z.device
        atoms = torch.isin(batch.batch, graphs)
        renumber = torch.cumsum(atoms, 0) - 1
        z = batch.z[atoms]
        inputs = {"x": self.model.z_to_onehot_tensor.to(device)[z], "atomic_numbers": z,
                  "edge_index": renumber[batch[f"{self.key}_edge_index"]],
                  "edge_vec": batch[f"{self.key}_edge_vec"],
                  "batch": torch.searchsorted(graphs, batch.batch[atoms])}
        layers = self.batched_model(device)(inputs)
        return pool(layers, inputs["batch"], len(graphs), self.pools).float()

    def compute_many(self, structures: Sequence[Structure], device: str | torch.device) -> list[np.ndarray | None]:
        """:meth:`compute_batch` on plain structures (training's feature step): one vector per
        structure, None where the structure cannot be read or its vector is not finite (then
        :meth:`compute_one` says why)."""
        from torch_geometric.data import Batch

        graphs, readable = [], []
        for k, structure in enumerate(structures):
            try:
                self.check(structure)
                graph = batch_graph(structure, [self])
            except Exception:  # noqa: BLE001 - left to compute_one, which names the reason
                continue
            graphs.append(graph)
            readable.append(k)
        result: list[np.ndarray | None] = [None] * len(structures)
        if graphs:
            batch = Batch.from_data_list(graphs).to(device)
            vectors = self.compute_batch(batch, torch.arange(len(graphs), device=batch.z.device)).cpu().numpy()
            for k, vector in zip(readable, vectors):
                result[k] = vector if np.all(np.isfinite(vector)) else None
        return result

    def batched_model(self, device: torch.device) -> torch.jit.ScriptModule:
        """:class:`LayerScalars` for batches on ``device``, scripted and frozen once per device."""
        import e3nn.util.jit

        models = self.__dict__.setdefault("_batched_models", {})
        if str(device) not in models:
            model = LayerScalars(self.model, batched=True).to(device).eval()
            models[str(device)] = torch.jit.freeze(e3nn.util.jit.script(model))
        return models[str(device)]

    def check(self, structure: Structure) -> None:
        """Raise :class:`StructureRejected` naming any element SevenNet-0 was not trained on."""
        check_elements(structure, self.known_z, "the SevenNet-feature head members")

    def check_spec(self, recorded: dict[str, Any] | None) -> None:
        """Raise :class:`FeaturesMismatch` unless a head trained on ``recorded`` reads these."""
        if recorded != self.spec:
            raise FeaturesMismatch(f"SevenNet features differ from the ones this head was trained on "
                                   f"(trained on {recorded}, here {self.spec})")

    @torch.inference_mode()  # ~8 % faster than no_grad here (measured); the vector leaves as numpy
    def compute_one(self, structure: Structure) -> np.ndarray:
        """The :attr:`n_features` numbers of one structure (no cache; raises on a bad one)."""
        self.check(structure)
        inputs = self.graph_inputs(structure)
        pooled = {"mean": lambda x: x.mean(dim=0), "std": lambda x: x.std(dim=0, unbiased=False)}
        vector = torch.cat([pooled[pool](layer.double()) for layer in self.scripted(inputs)
                            for pool in self.pools]).numpy()
        if vector.shape != (self.n_features,) or not np.all(np.isfinite(vector)):
            raise ValueError("SevenNet features are not finite")
        return vector.astype(np.float32)

    def featurize(self, records: Sequence[Record], device: str | torch.device | None = None
                  ) -> tuple[dict[str, np.ndarray], list[Rejection]]:
        """Feature vectors by record id (cached by structure content), and a rejection for every
        structure SevenNet cannot read. ``device`` (e.g. ``cuda``): computed in batches of
        :data:`CACHE_EVERY` there (:meth:`compute_batch`); None: one by one (:meth:`compute_one`)."""
        keys = {r.id: structure_key(r.structure) for r in records}
        cached = self.cache.get_many(sorted(set(keys.values()))) if self.cache else {}
        vectors = {key: arrays[0] for key, arrays in cached.items()}
        fresh, rejections = {}, []
        if device is not None and self.batched:
            todo = list({keys[r.id]: r for r in records if keys[r.id] not in vectors}.values())
            for start in range(0, len(todo), CACHE_EVERY):
                computed = self.compute_many([r.structure for r in todo[start:start + CACHE_EVERY]], device)
                fresh = {keys[r.id]: (v,) for r, v in zip(todo[start:start + CACHE_EVERY], computed) if v is not None}
                vectors.update({key: arrays[0] for key, arrays in fresh.items()})
                if self.cache and fresh:  # a killed run keeps what it computed
                    self.cache.put_many(fresh)
            fresh = {}
        for record in records:
            key = keys[record.id]
            if key in vectors:
                continue
            try:
                vectors[key] = self.compute_one(record.structure)
                fresh[key] = (vectors[key],)
            except StructureRejected as err:
                rejections.append(Rejection(record.id, str(err), Stage.FEATURIZE))
            except Exception as err:  # noqa: BLE001 - a bad structure never ends a long run
                rejections.append(Rejection(record.id, f"SevenNet features failed: {type(err).__name__}: {err}",
                                            Stage.FEATURIZE))
            if self.cache and len(fresh) >= CACHE_EVERY:  # a killed run keeps what it computed
                self.cache.put_many(fresh)
                fresh = {}
        if self.cache and fresh:
            self.cache.put_many(fresh)
        return {r.id: vectors[keys[r.id]] for r in records if keys[r.id] in vectors}, rejections


def batch_graph(structure: Structure, featurizers: Sequence[SevenNetFeaturizer]) -> Any:
    """``structure`` as a graph for the featurisers' ``compute_batch``: its atoms, its content key
    (what the memo of strain Hessians goes by) and each featuriser's SevenNet edges (and volume).
    Outside prediction, where crystal graphs carry these, e.g. training's feature step."""
    from torch_geometric.data import Data

    graph = Data(z=torch.tensor(structure.atomic_numbers, dtype=torch.long), num_nodes=len(structure))
    graph.structure_key = structure_key(structure)
    for featurizer in featurizers:
        featurizer.add_batch_inputs(graph, structure)
    return graph


def check_elements(structure: Structure, known_z: set[int], readers: str) -> None:
    """Raise :class:`StructureRejected` naming every element of ``structure`` outside SevenNet-0's
    ``known_z``, and who reads SevenNet (``readers``, for the message)."""
    outside = sorted({(site.specie.Z, site.specie.symbol) for site in structure if site.specie.Z not in known_z})
    if outside:
        names = ", ".join(f"{symbol} (Z {z})" for z, symbol in outside)
        raise StructureRejected(f"element(s) {names} outside SevenNet-0's {len(known_z)} elements, "
                                f"which {readers} read")


@functools.lru_cache(maxsize=None)
def shared_featurizer(cache_dir: str | None = None, definition: int = 1) -> SevenNetFeaturizer:
    """One featuriser per process, cache dir and definition; SevenNet-0 loads and is scripted once
    per definition, and a featuriser with a cache shares that model with the one without."""
    if cache_dir is None:
        return SevenNetFeaturizer(None, definition)
    twin = copy.copy(shared_featurizer(None, definition))
    twin.cache = twin.cache_in(cache_dir)
    return twin
