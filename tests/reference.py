"""Independent references the tests compare against, written from the descriptions in paper.md.

- :func:`naive_neighbors`: pymatgen's ``get_all_neighbors`` (the original CGCNN's call), sorted in
  plain Python.
- :func:`dense_cgcnn`: the original CGCNN forward pass on dense (atoms x M neighbours) arrays,
  with BatchNorm over all N*M edge rows, as in txie-93/cgcnn.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def naive_neighbors(structure, radius=8.0, max_neighbors=12, original_order=False):
    """Per atom, a list of (neighbour index, distance) of the nearest ``max_neighbors``.

    ``original_order=True`` sorts by distance only, as the original did; otherwise ties are broken
    as moduli does (distance to 1e-8 Å, then index, then image).
    """
    result = []
    for site_neighbors in structure.get_all_neighbors(radius):
        entries = [(n.nn_distance, n.index, tuple(int(x) for x in n.image)) for n in site_neighbors]
        if original_order:
            entries.sort(key=lambda e: e[0])
        else:
            entries.sort(key=lambda e: (round(e[0], 8), e[1], e[2]))
        result.append([(idx, dist) for dist, idx, _ in entries[:max_neighbors]])
    return result


def dense_inputs(structure, table, radius=8.0, max_neighbors=12, step=0.2, original_order=True):
    """Original-style inputs: atom features (N, 92), nbr_fea (N, M, 41), nbr_fea_idx (N, M).

    Atoms with fewer than M neighbours are padded with index 0 at distance radius + 1, as the
    original does.
    """
    neighbors = naive_neighbors(structure, radius, max_neighbors, original_order)
    idx = np.zeros((len(structure), max_neighbors), dtype=np.int64)
    dist = np.full((len(structure), max_neighbors), radius + 1.0)
    for i, row in enumerate(neighbors):
        for k, (j, d) in enumerate(row):
            idx[i, k], dist[i, k] = j, d
    centers = np.arange(0.0, radius + step, step)
    nbr_fea = np.exp(-((dist[..., None] - centers) ** 2) / step ** 2)
    atom_fea = np.stack([table.table[z] for z in structure.atomic_numbers])
    return (torch.tensor(atom_fea, dtype=torch.float32), torch.tensor(nbr_fea, dtype=torch.float32),
            torch.tensor(idx))


def _bn(x, state, prefix, training):
    return F.batch_norm(x, state[f"{prefix}.running_mean"].clone(), state[f"{prefix}.running_var"].clone(),
                        state[f"{prefix}.weight"], state[f"{prefix}.bias"], training=training, eps=1e-5)


def dense_conv(atom, nbr_fea, nbr_idx, state, prefix, training=False):
    """One original ConvLayer on dense arrays."""
    n, m = nbr_idx.shape
    width = atom.shape[1]
    total = torch.cat([atom.unsqueeze(1).expand(n, m, width), atom[nbr_idx], nbr_fea], dim=2)
    gated = F.linear(total, state[f"{prefix}.fc_full.weight"], state[f"{prefix}.fc_full.bias"])
    gated = _bn(gated.view(-1, 2 * width), state, f"{prefix}.bn1", training).view(n, m, 2 * width)
    nbr_filter, nbr_core = gated.chunk(2, dim=2)
    summed = (torch.sigmoid(nbr_filter) * F.softplus(nbr_core)).sum(dim=1)
    return F.softplus(atom + _bn(summed, state, f"{prefix}.bn2", training))


def dense_cgcnn(crystals, state, training=False):
    """Original CGCNN output (normalised) for a list of dense-input crystals sharing one batch."""
    atom = torch.cat([c[0] for c in crystals])
    nbr_fea = torch.cat([c[1] for c in crystals])
    offsets = np.cumsum([0] + [len(c[0]) for c in crystals])
    nbr_idx = torch.cat([c[2] + int(o) for c, o in zip(crystals, offsets[:-1])])
    x = F.linear(atom, state["embedding.weight"], state["embedding.bias"])
    n_conv = len({k.split(".")[1] for k in state if k.startswith("convs.")})
    for k in range(n_conv):
        x = dense_conv(x, nbr_fea, nbr_idx, state, f"convs.{k}", training)
    pooled = torch.stack([x[a:b].mean(dim=0) for a, b in zip(offsets[:-1], offsets[1:])])
    hidden = F.softplus(F.linear(F.softplus(pooled), state["conv_to_fc.weight"], state["conv_to_fc.bias"]))
    k = 0
    while f"fcs.{k}.weight" in state:
        hidden = F.softplus(F.linear(hidden, state[f"fcs.{k}.weight"], state[f"fcs.{k}.bias"]))
        k += 1
    return F.linear(hidden, state["fc_out.weight"], state["fc_out.bias"]).squeeze(-1)
