"""CGCNN (Xie & Grossman, PRL 120, 145301, 2018) as PyTorch Geometric message passing.

The convolution reproduces the original ``ConvLayer`` exactly, edge by edge:

    z_ij   = concat(v_i, v_j, u_ij)                  (centre, neighbour, bond features)
    g_ij   = BatchNorm_edges(W z_ij + b)             (statistics over every edge in the batch;
                                                      W z_ij is evaluated blockwise, see forward)
    m_ij   = sigmoid(g_ij[:F]) * softplus(g_ij[F:])  (filter x core)
    v_i'   = softplus(v_i + BatchNorm_atoms(sum_j m_ij))

PyG's ``CGConv`` is a different layer (no per-edge BatchNorm, no outer softplus). Parameter names
match the original (``embedding``, ``convs.k.fc_full``, ``bn1``, ``bn2``, ``conv_to_fc``, ``fcs``,
``fc_out``) so original checkpoints load by name.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.nn import MessagePassing, global_mean_pool


class GaussianExpansion(nn.Module):
    """exp(-(d - mu_k)^2 / step^2) for centres mu_k = 0, step, ..., radius (CGCNN's bond features).

    Exponents are capped at 80, so no value falls below exp(-80) = 1.8e-35: most of the expansion
    lies far out in the tails, where exp would return float32 *denormals* (below 1.2e-38), which x86
    CPUs compute and multiply very slowly (the bond term's matrix product ran 6x slower on them).
    Values change by less than 2e-35, nothing a network can see. Computed in place on one tensor
    (the expansion is E x 41 numbers, the largest input of the network).
    """

    MAX_EXPONENT = 80.0

    def __init__(self, radius: float = 8.0, step: float = 0.2):
        super().__init__()
        count = int(round(radius / step)) + 1
        self.register_buffer("centers", torch.linspace(0.0, radius, count))
        self.step = step

    def forward(self, distances: Tensor) -> Tensor:
        exponent = (distances.unsqueeze(-1) - self.centers).mul_(1.0 / self.step).square_()
        return exponent.clamp_(max=self.MAX_EXPONENT).neg_().exp_()


class CGCNNConv(MessagePassing):
    """The original CGCNN convolution (see module docstring)."""

    def __init__(self, atom_fea_len: int, nbr_fea_len: int):
        super().__init__(aggr="add")
        self.atom_fea_len = atom_fea_len
        self.fc_full = nn.Linear(2 * atom_fea_len + nbr_fea_len, 2 * atom_fea_len)
        self.bn1 = nn.BatchNorm1d(2 * atom_fea_len)
        self.bn2 = nn.BatchNorm1d(atom_fea_len)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, regular: int = 0) -> Tensor:
        """``regular``: M when atom i's edges are rows i*M .. i*M + M - 1 (every atom has M
        neighbours, edges grouped by centre, as the featuriser makes them), 0 otherwise. A regular
        graph takes the dense path: the centre term is broadcast over an atom's M edges and the
        messages are summed over them, instead of gathered and scattered edge by edge."""
        # W [v_i; v_j; u_ij] + b = (W_c v)_i + (W_n v)_j + (W_e u_ij + b): the two atom terms are
        # computed once per atom instead of once per edge (about 3x fewer FLOPs with 12
        # neighbours), then gathered to the edges. Same function, same parameters.
        # In eval mode bn1 is an affine map per channel, scale * z + shift: it is folded into the
        # three terms (atoms, not edges, for two of them), so the edges skip a BatchNorm pass.
        width = self.atom_fea_len
        weight, bias = self.fc_full.weight, self.fc_full.bias
        folded = not self.bn1.training
        if folded:
            scale = self.bn1.weight / torch.sqrt(self.bn1.running_var + self.bn1.eps)
            weight = weight * scale[:, None]
            bias = bias * scale + self.bn1.bias - self.bn1.running_mean * scale
        center = x @ weight[:, :width].T
        neighbor = x @ weight[:, width:2 * width].T
        bond = F.linear(edge_attr, weight[:, 2 * width:].contiguous(), bias)  # a copied slice: faster product
        if regular:
            summed = bond.add_(neighbor[edge_index[0]]).view(x.size(0), regular, -1).add_(center.unsqueeze(1))
            summed = self.gate(summed.view(-1, summed.size(-1)), folded).view(x.size(0), regular, -1).sum(dim=1)
        else:
            summed = self.propagate(edge_index, x=(neighbor, center), bond=bond, folded=folded,
                                    size=(x.size(0), x.size(0)))
        return F.softplus(x + self.bn2(summed))

    def message(self, x_i: Tensor, x_j: Tensor, bond: Tensor, folded: bool) -> Tensor:
        return self.gate(x_i.add(x_j).add_(bond), folded)  # one new edge tensor, not two

    def gate(self, summed: Tensor, folded: bool) -> Tensor:
        """sigmoid(filter) * softplus(core) of the edges' BatchNormed (or folded) sums."""
        gated = summed if folded else self.bn1(summed)
        nbr_filter, nbr_core = gated.chunk(2, dim=-1)
        return torch.sigmoid(nbr_filter) * F.softplus(nbr_core)


def regular_neighbors(edge_index: Tensor, n_atoms: int) -> int:
    """M when every atom's edges are M consecutive rows ending at it (centre i at rows i*M ..
    i*M + M - 1), else 0: whether :class:`CGCNNConv` may take its dense path."""
    n_edges = edge_index.size(1)
    if n_atoms == 0 or n_edges % n_atoms:
        return 0
    m = n_edges // n_atoms
    expected = torch.arange(n_atoms, device=edge_index.device).repeat_interleave(m)
    return m if torch.equal(edge_index[1], expected) else 0


# Parameter-name prefixes of the body (atom embedding and convolutions), as opposed to the head:
# what transfer learning copies and what a separate learning rate applies to.
BODY_PREFIXES = ("embedding.", "convs.")


class CGCNN(nn.Module):
    """Crystal graph -> one number (normalised target).

    ``n_h`` counts hidden layers as the original CLI does: ``conv_to_fc`` is the first, so
    ``n_h - 1`` further ``h_fea_len`` layers follow it. The atom feature table and the Gaussian
    centres are buffers, so a checkpoint carries its featurisation. ``dropout`` (not in the
    original; 0 leaves it out) acts on the hidden layers of the head, in training only.
    """

    def __init__(self, atom_table: Tensor, radius: float = 8.0, gaussian_step: float = 0.2,
                 atom_fea_len: int = 64, n_conv: int = 3, h_fea_len: int = 128, n_h: int = 1,
                 dropout: float = 0.0):
        super().__init__()
        if n_conv < 1 or n_h < 1:
            raise ValueError(f"need n_conv >= 1 and n_h >= 1, got n_conv={n_conv}, n_h={n_h}")
        self.register_buffer("atom_table", torch.as_tensor(atom_table, dtype=torch.float32))
        self.gaussian = GaussianExpansion(radius, gaussian_step)
        nbr_fea_len = len(self.gaussian.centers)
        self.embedding = nn.Linear(self.atom_table.shape[1], atom_fea_len)
        self.convs = nn.ModuleList(CGCNNConv(atom_fea_len, nbr_fea_len) for _ in range(n_conv))
        self.conv_to_fc = nn.Linear(atom_fea_len, h_fea_len)
        self.fcs = nn.ModuleList(nn.Linear(h_fea_len, h_fea_len) for _ in range(n_h - 1))
        self.fc_out = nn.Linear(h_fea_len, 1)
        self.dropout = nn.Dropout(dropout)  # no parameters: checkpoints are unchanged
        self.dense_path = True  # False: every graph through message passing (the tests compare both)

    def forward(self, batch: Batch) -> Tensor:
        x = self.embedding(self.atom_table[batch.z])
        edge_attr = self.gaussian(batch.edge_dist)
        regular = regular_neighbors(batch.edge_index, x.size(0)) if self.dense_path else 0
        for conv in self.convs:
            x = conv(x, batch.edge_index, edge_attr, regular)
        crystal = global_mean_pool(x, batch.batch, size=batch.num_graphs)
        # As in the original: softplus both before and after conv_to_fc.
        hidden = self.dropout(F.softplus(self.conv_to_fc(F.softplus(crystal))))
        for fc in self.fcs:
            hidden = self.dropout(F.softplus(fc(hidden)))
        return self.fc_out(hidden).squeeze(-1)
