"""The SevenNet-feature head kind: an MLP on frozen SevenNet-0 features of each structure.

SevenNet-0 (Park et al., J. Chem. Theory Comput. 20, 4857 (2024); PyPI ``sevenn``, MIT, weights
inside the wheel, so it works offline) is an equivariant interatomic potential trained on the
Materials Project relaxation trajectories (MPtrj). Its node features after each of its five
interaction layers start with 128 scalar (0e) channels; the mean of those over the atoms of a
structure, layer by layer, is a 640-number description of the crystal (a probe in issue 19 found it
more informative for K and G than CHGNet's 321 numbers, at about half the cost). Means only:
every number is intensive, so a crystal gets one vector whatever cell describes it.

The vectors are cached per structure content in ``<cache_dir>/sevennet-<package>-<model>-d<definition>.sqlite``;
a head's checkpoint records :data:`SevenNetFeaturizer.spec`, and loading it where the features
differ is refused with the reason. The graph carries the vector as ``u_sevennet`` (``u`` is the
CHGNet heads'), so both kinds can share one ensemble.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pymatgen.core import Structure
from torch import Tensor, nn
from torch_geometric.data import Batch, Data

from moduli.core.records import Record, Rejection
from moduli.core.schema import Stage
from moduli.graphs.cache import ArrayCache
from moduli.graphs.featurizer import StructureRejected, structure_key
from moduli.graphs.universal import FeaturesMismatch
from moduli.models.heads import FeatureMLP
from moduli.models.kinds.base import ModelKind

MODEL = "7net-0"
N_LAYERS, N_SCALARS = 5, 128
N_FEATURES = N_LAYERS * N_SCALARS
DEFINITION = 1  # mean over atoms of the scalar channels after each interaction layer
KEY = "u_sevennet"  # the graph attribute holding the vector


class SevenNetFeaturizer:
    """Structures -> SevenNet-0 feature vectors, through an optional disk cache."""

    def __init__(self, cache_dir: str | Path | None = None):
        import sevenn
        from sevenn.calculator import SevenNetCalculator

        calculator = SevenNetCalculator(MODEL, device="cpu")
        self.cutoff = calculator.cutoff
        self.known_z = set(calculator.type_map)
        self.model = calculator.model
        self.model.delete_module_by_key("force_output")  # energies only: no autograd over positions
        self.model.eval()
        self._scalars: list[Tensor] = []
        for layer in range(N_LAYERS):
            self.model._modules[f"{layer}_equivariant_gate"].register_forward_hook(self._keep_scalars)
        self.spec = {"name": "sevennet", "package": sevenn.__version__, "model": MODEL,
                     "definition": DEFINITION, "n_features": N_FEATURES}
        self.cache = (ArrayCache(Path(cache_dir) / f"sevennet-{sevenn.__version__}-{MODEL}-d{DEFINITION}.sqlite",
                                 "features", {"features": np.float32}) if cache_dir else None)

    def _keep_scalars(self, module: nn.Module, inputs: Any, output: Any) -> None:
        self._scalars.append(output["x"][:, :N_SCALARS].detach())

    def check(self, structure: Structure) -> None:
        """Raise :class:`StructureRejected` naming any element SevenNet-0 was not trained on."""
        outside = sorted({(site.specie.Z, site.specie.symbol) for site in structure
                          if site.specie.Z not in self.known_z})
        if outside:
            names = ", ".join(f"{symbol} (Z {z})" for z, symbol in outside)
            raise StructureRejected(f"element(s) {names} outside SevenNet-0's {len(self.known_z)} "
                                    "elements, which the SevenNet-feature head members read")

    @torch.no_grad()
    def compute(self, structure: Structure) -> np.ndarray:
        """The :data:`N_FEATURES` numbers of one structure (no cache; raises on a bad one)."""
        from pymatgen.io.ase import AseAtomsAdaptor
        from sevenn.atom_graph_data import AtomGraphData
        from sevenn.train.dataload import unlabeled_atoms_to_graph

        self.check(structure)
        atoms = AseAtomsAdaptor.get_atoms(structure)
        data = AtomGraphData.from_numpy_dict(unlabeled_atoms_to_graph(atoms, self.cutoff, with_shift=False))
        self._scalars = []
        self.model(data)
        vector = torch.cat([layer.double().mean(dim=0) for layer in self._scalars]).numpy()
        if vector.shape != (N_FEATURES,) or not np.all(np.isfinite(vector)):
            raise ValueError("SevenNet features are not finite")
        return vector.astype(np.float32)

    def featurize(self, records: Sequence[Record]) -> tuple[dict[str, np.ndarray], list[Rejection]]:
        """Feature vectors by record id (cached by structure content), and a rejection for every
        structure SevenNet cannot read."""
        keys = {r.id: structure_key(r.structure) for r in records}
        cached = self.cache.get_many(sorted(set(keys.values()))) if self.cache else {}
        vectors = {key: arrays[0] for key, arrays in cached.items()}
        fresh, rejections = {}, []
        for record in records:
            key = keys[record.id]
            if key in vectors:
                continue
            try:
                vectors[key] = self.compute(record.structure)
                fresh[key] = (vectors[key],)
            except StructureRejected as err:
                rejections.append(Rejection(record.id, str(err), Stage.FEATURIZE))
            except Exception as err:  # noqa: BLE001 - a bad structure never ends a long run
                rejections.append(Rejection(record.id, f"SevenNet features failed: {type(err).__name__}: {err}",
                                            Stage.FEATURIZE))
        if self.cache and fresh:
            self.cache.put_many(fresh)
        return {r.id: vectors[keys[r.id]] for r in records if keys[r.id] in vectors}, rejections


@functools.lru_cache(maxsize=None)
def shared_featurizer(cache_dir: str | None = None) -> SevenNetFeaturizer:
    """One featuriser per process and cache dir (SevenNet loads once)."""
    return SevenNetFeaturizer(cache_dir)


class SevenNetMLP(FeatureMLP):
    """:class:`~moduli.models.heads.FeatureMLP` reading the SevenNet vector (``u_sevennet``)."""

    def __init__(self, atom_table: Tensor, n_features: int = N_FEATURES, hidden: int = 256,
                 n_layers: int = 2, dropout: float = 0.1):
        super().__init__(atom_table, n_features, hidden, n_layers, dropout)

    def forward(self, batch: Batch) -> Tensor:
        return self.mlp((batch[KEY] - self.feature_mean) / self.feature_std).squeeze(-1)


class SevenNetHeadKind(ModelKind):
    name = "sevennet_mlp"
    label = "SevenNet-feature heads"

    def build_network(self, sizes: dict[str, Any], atom_table: Tensor,
                      featurization: dict[str, Any]) -> nn.Module:
        return SevenNetMLP(atom_table, **sizes)

    def input_spec(self, cache_dir: str | Path | None = None) -> dict[str, Any]:
        return dict(shared_featurizer(_key(cache_dir)).spec)

    def check_input_spec(self, recorded: dict[str, Any] | None) -> None:
        current = shared_featurizer().spec
        if recorded != current:
            raise FeaturesMismatch(f"SevenNet features differ from the ones this head was trained on "
                                   f"(trained on {recorded}, here {current})")

    def add_inputs(self, graphs: list[Data], records: dict[str, Record],
                   cache_dir: str | Path | None = None) -> tuple[list[Data], list[Rejection]]:
        vectors, rejections = shared_featurizer(_key(cache_dir)).featurize([records[g.id] for g in graphs])
        for graph in graphs:
            if graph.id in vectors:
                graph[KEY] = torch.from_numpy(np.array(vectors[graph.id], dtype=np.float32)).unsqueeze(0)
        return [g for g in graphs if g.id in vectors], rejections

    def add_structure_inputs(self, graph: Data, structure: Structure) -> None:
        graph[KEY] = torch.from_numpy(shared_featurizer().compute(structure)).unsqueeze(0)

    def prepare(self, net: nn.Module, train_graphs: Sequence[Data]) -> None:
        net.fit_inputs(torch.cat([g[KEY] for g in train_graphs]))


def _key(cache_dir: str | Path | None) -> str | None:
    return str(cache_dir) if cache_dir is not None else None
