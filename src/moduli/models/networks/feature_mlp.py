"""A head on precomputed per-structure features: an MLP from one or more per-structure vectors of
a graph (``u``: the CHGNet features of :mod:`moduli.features.chgnet`; ``u_sevennet``: SevenNet's)
to one number (the normalised target).

The features are standardised with the training set's mean and std, stored as buffers so that
a checkpoint carries them. The atom table is kept as a buffer too (unused by the MLP): the
graphs the head reads are built with it, and checkpoints of every kind describe their graphs
the same way.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch


def mlp(n_in: int, n_out: int, hidden: int, n_layers: int, dropout: float) -> nn.Sequential:
    """``n_layers`` x (Linear, SiLU, Dropout) then Linear: the head of every network on pooled
    vectors (its parameter names, ``<k>.weight``, are what checkpoints record)."""
    layers, width = [], n_in
    for _ in range(n_layers):
        layers += [nn.Linear(width, hidden), nn.SiLU(), nn.Dropout(dropout)]
        width = hidden
    return nn.Sequential(*layers, nn.Linear(width, n_out))


class FeatureMLP(nn.Module):
    """The vectors of ``keys`` (graph attributes, concatenated in order) -> standardise ->
    ``n_layers`` x (Linear, SiLU, Dropout) -> Linear -> one number."""

    def __init__(self, atom_table: Tensor, n_features: int = 321, hidden: int = 256,
                 n_layers: int = 2, dropout: float = 0.1, keys: Sequence[str] = ("u",)):
        super().__init__()
        self.keys = tuple(keys)
        if n_layers < 1:
            raise ValueError(f"need n_layers >= 1, got {n_layers}")
        self.register_buffer("atom_table", torch.as_tensor(atom_table, dtype=torch.float32))
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        self.mlp = mlp(n_features, 1, hidden, n_layers, dropout)

    def fit_inputs(self, features: Tensor) -> None:
        """Standardise inputs with the mean and std of these (training) feature vectors; a
        constant feature is centred only."""
        self.feature_mean.copy_(features.mean(dim=0))
        self.feature_std.copy_(features.std(dim=0).clamp_min(1e-6))

    def forward(self, batch: Batch) -> Tensor:
        missing = [key for key in self.keys if getattr(batch, key, None) is None]
        if missing:
            raise ValueError(f"this model reads per-structure features (graph attributes {missing}), "
                             "which its kind (moduli.models.kinds) adds to each graph")
        features = torch.cat([batch[key] for key in self.keys], dim=-1)
        return self.mlp((features - self.feature_mean) / self.feature_std).squeeze(-1)
