"""SevenNet-0 as a trainable body: its layers in batched mode, its own graphs, and the per-layer
pooling of its scalar channels that the fine-tuned kind trains through.

The body is SevenNet-0 (Park et al., J. Chem. Theory Comput. 20, 4857 (2024)) up to the gate of
its fifth interaction layer (energy readout and forces dropped: nothing here needs forces). Its
inputs are SevenNet's own graphs: atomic numbers and the edges within its 5 Å cutoff, as index
pairs and vectors, made by sevenn's neighbour list and batched by PyG.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from pymatgen.core import Structure
from torch import Tensor, nn
from torch_geometric.data import Data

from moduli.features.sevennet import MODEL, N_LAYERS, N_SCALARS, check_elements

BODY_END = f"{N_LAYERS - 1}_equivariant_gate"  # the last module kept of SevenNet's sequence
EDGE_INDEX, EDGE_VEC = "sn_edge_index", "sn_edge_vec"  # the crystal graph's copy of SevenNet's edges


def pretrained_body(checkpoint: str | None = None) -> tuple[nn.Module, float]:
    """SevenNet-0's modules up to :data:`BODY_END` (batched mode) and its cutoff in Å, from the
    checkpoint inside the ``sevenn`` wheel unless ``checkpoint`` names another file."""
    from sevenn.util import model_from_checkpoint, pretrained_name_to_path

    model, config = model_from_checkpoint(checkpoint or pretrained_name_to_path(MODEL))
    names = list(model._modules)
    for name in names[names.index(BODY_END) + 1:]:
        model.delete_module_by_key(name)
    model.key_grad = None  # no forces: edge vectors need no gradient
    model.set_is_batch_data(True)
    return model, float(config["cutoff"])


def sevennet_graph_arrays(numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray,
                          cutoff: float) -> dict[str, Any]:
    """One crystal (periodic in 3D) as the numpy arrays of SevenNet's graph, built by sevenn's own
    neighbour list (plain arrays: cheap to pass between processes)."""
    from ase import Atoms
    from sevenn.train.dataload import unlabeled_atoms_to_graph

    atoms = Atoms(numbers=numbers, positions=positions, cell=cell, pbc=True)
    return unlabeled_atoms_to_graph(atoms, cutoff, with_shift=False)


def sevennet_graph(numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray, cutoff: float) -> Any:
    """One crystal as SevenNet's graph (a PyG ``Data``), ready to batch."""
    from sevenn.atom_graph_data import AtomGraphData

    return AtomGraphData.from_numpy_dict(sevennet_graph_arrays(numbers, positions, cell, cutoff))


def layer_means(body: nn.Module, data: Any) -> Tensor:
    """The atom mean of the :data:`N_SCALARS` scalar channels after each of the body's
    :data:`N_LAYERS` gates, per crystal of a batch (rows in batch order; 640 numbers each)."""
    import sevenn._keys as KEY

    data = body._preprocess(data)
    batch = data[KEY.BATCH]
    n_graphs = int(batch.max()) + 1
    counts = torch.bincount(batch, minlength=n_graphs).clamp_min(1).unsqueeze(-1)
    pooled = []
    for name, module in body._modules.items():
        data = module(data)
        if name.endswith("_equivariant_gate"):
            scalars = data[KEY.NODE_FEATURE][:, :N_SCALARS]
            sums = scalars.new_zeros(n_graphs, N_SCALARS).index_add_(0, batch, scalars)
            pooled.append(sums / counts)
    return torch.cat(pooled, dim=-1)


class SevenNetGraphs:
    """Adds SevenNet's graph of a structure to its crystal graph (:data:`EDGE_INDEX`,
    :data:`EDGE_VEC`); rejects elements SevenNet-0 was not trained on."""

    def __init__(self):
        import sevenn

        body, self.cutoff = pretrained_body()
        self.known_z = {int(z) for z in body.type_map}
        self.spec = {"name": "sevennet_graph", "package": sevenn.__version__, "model": MODEL,
                     "cutoff": self.cutoff}

    def add(self, graph: Data, structure: Structure) -> None:
        check_elements(structure, self.known_z, "the fine-tuned SevenNet members")
        arrays = sevennet_graph_arrays(np.array(structure.atomic_numbers), structure.cart_coords,
                                       structure.lattice.matrix, self.cutoff)
        graph[EDGE_INDEX] = torch.from_numpy(np.asarray(arrays["edge_index"], dtype=np.int64))
        graph[EDGE_VEC] = torch.from_numpy(np.asarray(arrays["edge_vec"], dtype=np.float32))


@functools.lru_cache(maxsize=None)
def shared_graphs() -> SevenNetGraphs:
    """One per process (it loads SevenNet-0 once for its cutoff and elements)."""
    return SevenNetGraphs()
