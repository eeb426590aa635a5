"""Periodic neighbour lists with CGCNN's rule: up to ``max_neighbors`` nearest within ``radius``."""
from __future__ import annotations

import numpy as np
from pymatgen.core import Structure

# Distances equal to this many decimals (1e-8 Å) count as ties and are ordered by neighbour index,
# then by periodic image, so every implementation picks the same 12th neighbour.
TIE_DECIMALS = 8


def nearest_neighbors(structure: Structure, radius: float,
                      max_neighbors: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges (center, neighbor, distance) of each atom's nearest neighbours within ``radius``.

    Self-pairs at zero distance are excluded, periodic images of any atom (itself included) are
    not. Per centre, neighbours are ordered by (distance rounded to 1e-8 Å, neighbour index,
    image), and the first ``max_neighbors`` kept. Atoms with fewer neighbours get fewer edges:
    nothing is padded. The result is sorted by centre, then by that order.
    """
    centers, neighbors, images, distances = structure.get_neighbor_list(r=radius)
    order = np.lexsort((images[:, 2], images[:, 1], images[:, 0], neighbors,
                        np.round(distances, TIE_DECIMALS), centers))
    centers, neighbors, distances = centers[order], neighbors[order], distances[order]
    first_of_center = np.searchsorted(centers, centers, side="left")
    keep = (np.arange(len(centers)) - first_of_center) < max_neighbors
    return centers[keep], neighbors[keep], distances[keep]
