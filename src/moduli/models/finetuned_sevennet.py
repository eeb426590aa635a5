"""SevenNet-0 fine-tuned end to end for moduli: the potential's body with its
weights trainable, the same per-layer pooling as the frozen SevenNet features, and an MLP head.

The body is SevenNet-0 up to its fifth interaction layer (the energy readout and force output are
dropped: nothing here needs forces). After each of the five layers the first 128 channels of the
node features are scalars (0e); their mean over the atoms of each crystal, layer by layer, is the
640-number vector that :mod:`moduli.models.kinds.sevennet_head` reads frozen. Here it is
standardised with the training set's statistics of the *pretrained* body (buffers), and an MLP
(``n_layers`` x Linear-SiLU-Dropout, then Linear) maps it to ``n_outputs`` normalised targets.
Means only: every pooled number is intensive, so a crystal gets one answer whatever cell describes
it.

Inputs are SevenNet's own graphs (:func:`sevennet_graph`: atomic numbers, edges within its 5 Å
cutoff as index pairs and vectors), batched by PyG. This module imports only torch and sevenn,
so a GPU machine without the rest of moduli's stack can train it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

MODEL = "7net-0"
N_LAYERS, N_SCALARS = 5, 128
BODY_END = f"{N_LAYERS - 1}_equivariant_gate"  # the last module kept of SevenNet's sequence


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


class FinetunedSevenNet(nn.Module):
    """SevenNet-0 body -> per-layer atom mean of its scalar channels (640) -> standardise -> MLP."""

    def __init__(self, body: nn.Module, n_outputs: int = 1, hidden: int = 256, n_layers: int = 2,
                 dropout: float = 0.1):
        super().__init__()
        self.body = body
        n_features = N_LAYERS * N_SCALARS
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        layers, width = [], n_features
        for _ in range(n_layers):
            layers += [nn.Linear(width, hidden), nn.SiLU(), nn.Dropout(dropout)]
            width = hidden
        self.mlp = nn.Sequential(*layers, nn.Linear(width, n_outputs))

    def pooled(self, data: Any) -> Tensor:
        """The 640 pooled numbers of each crystal of a batch (rows in batch order)."""
        import sevenn._keys as KEY

        data = self.body._preprocess(data)
        batch = data[KEY.BATCH]
        n_graphs = int(batch.max()) + 1
        counts = torch.bincount(batch, minlength=n_graphs).clamp_min(1).unsqueeze(-1)
        pooled = []
        for name, module in self.body._modules.items():
            data = module(data)
            if name.endswith("_equivariant_gate"):
                scalars = data[KEY.NODE_FEATURE][:, :N_SCALARS]
                sums = scalars.new_zeros(n_graphs, N_SCALARS).index_add_(0, batch, scalars)
                pooled.append(sums / counts)
        return torch.cat(pooled, dim=-1)

    def fit_inputs(self, pooled: Tensor) -> None:
        """Standardise with the mean and std of these (training) pooled vectors."""
        self.feature_mean.copy_(pooled.mean(dim=0))
        self.feature_std.copy_(pooled.std(dim=0).clamp_min(1e-6))

    def forward(self, data: Any) -> Tensor:
        return self.mlp((self.pooled(data) - self.feature_mean) / self.feature_std)

    def body_parameters(self) -> list[nn.Parameter]:
        return list(self.body.parameters())

    def head_parameters(self) -> list[nn.Parameter]:
        return list(self.mlp.parameters())
