"""SevenNet-0 fine-tuned end to end for moduli: the potential's body with its weights trainable,
the same per-layer pooling as the frozen SevenNet features, and an MLP head.

After each of the body's five interaction layers the first 128 channels of the node features are
scalars (0e); their mean over the atoms of each crystal, layer by layer
(:func:`moduli.features.sevennet_graph.layer_means`), is the 640-number vector the frozen
``sevennet_mlp`` heads read. Here it is standardised with the training set's statistics of the
*pretrained* body (buffers), and an MLP (``n_layers`` x Linear-SiLU-Dropout, then Linear) maps it
to ``n_outputs`` normalised targets. Means only: every pooled number is intensive, so a crystal
gets one answer whatever cell describes it.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from moduli.features.sevennet import N_LAYERS, N_SCALARS
from moduli.features.sevennet_graph import EDGE_INDEX, EDGE_VEC, layer_means, pretrained_body
from moduli.models.networks.feature_mlp import mlp


class FinetunedSevenNet(nn.Module):
    """SevenNet-0 body -> per-layer atom mean of its scalar channels (640) -> standardise -> MLP,
    on batches of SevenNet's own graphs."""

    def __init__(self, body: nn.Module, n_outputs: int = 1, hidden: int = 256, n_layers: int = 2,
                 dropout: float = 0.1):
        super().__init__()
        self.body = body
        n_features = N_LAYERS * N_SCALARS
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        self.mlp = mlp(n_features, n_outputs, hidden, n_layers, dropout)

    def pooled(self, data: Any) -> Tensor:
        """The 640 pooled numbers of each crystal of a batch (rows in batch order)."""
        return layer_means(self.body, data)

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


class FinetunedSevenNetNetwork(nn.Module):
    """The crystal graph batch (``z``, SevenNet's edges) -> :class:`FinetunedSevenNet` -> the
    ``output``-th normalised target. Keeps the atom table as a buffer, as every kind does."""

    def __init__(self, atom_table: Tensor, hidden: int = 256, n_layers: int = 2, dropout: float = 0.1,
                 n_outputs: int = 1, output: int = 0):
        super().__init__()
        if not 0 <= output < n_outputs:
            raise ValueError(f"output {output} of a network with {n_outputs} outputs")
        self.register_buffer("atom_table", torch.as_tensor(atom_table, dtype=torch.float32))
        self.net = FinetunedSevenNet(pretrained_body()[0], n_outputs, hidden, n_layers, dropout)
        self.output = output

    @staticmethod
    def sevennet_inputs(batch: Batch) -> dict[str, Tensor]:
        missing = [key for key in (EDGE_INDEX, EDGE_VEC) if getattr(batch, key, None) is None]
        if missing:
            raise ValueError(f"this model reads SevenNet's graph (attributes {missing}), which its kind "
                             "(moduli.models.kinds.sevennet_finetuned) adds to each graph")
        return {"x": batch.z, "atomic_numbers": batch.z, "edge_index": batch[EDGE_INDEX],
                "edge_vec": batch[EDGE_VEC], "batch": batch.batch}

    def pooled(self, batch: Batch) -> Tensor:
        return self.net.pooled(self.sevennet_inputs(batch))

    def forward(self, batch: Batch) -> Tensor:
        return self.net(self.sevennet_inputs(batch))[:, self.output]
