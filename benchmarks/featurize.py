"""Featuriser throughput vs the naive reference on the same real structures.

Prints structures/s of moduli's featuriser (pymatgen get_neighbor_list + vectorised top-12,
no cache) and of the original CGCNN approach (get_all_neighbors + a Python sort per atom),
over the same real MP structures, and their ratio. Goal: ratio >= 30.

    MODULI_DATA_DIR=../shared/data .venv/bin/python benchmarks/featurize.py [--n 300]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from moduli.data.sources import load_mp_elastic
from moduli.graphs.atom_features import AtomFeatureTable
from moduli.graphs.featurizer import CrystalGraphFeaturizer


def naive_graph(structure, table, radius=8.0, max_neighbors=12, step=0.2):
    """The original CGCNN featurisation: get_all_neighbors, sort each list, pad, expand."""
    atom_fea = np.vstack([table.table[site.specie.Z] for site in structure])
    idx, dist = [], []
    for neighbors in structure.get_all_neighbors(radius, include_index=True):
        neighbors = sorted(neighbors, key=lambda n: n[1])[:max_neighbors]
        pad = max_neighbors - len(neighbors)
        idx.append([n[2] for n in neighbors] + [0] * pad)
        dist.append([n[1] for n in neighbors] + [radius + 1.0] * pad)
    centers = np.arange(0, radius + step, step)
    return atom_fea, np.exp(-((np.array(dist)[..., None] - centers) ** 2) / step ** 2), np.array(idx)


def rate(function, structures) -> float:
    start = time.perf_counter()
    for structure in structures:
        function(structure)
    return len(structures) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="number of structures (spread over the set)")
    args = parser.parse_args()
    records, _ = load_mp_elastic()
    step = max(1, len(records) // args.n)
    structures = [r.structure for r in records[::step]][: args.n]
    table = AtomFeatureTable.cgcnn()
    featurizer = CrystalGraphFeaturizer(table)  # no cache: measure the computation itself
    atoms = sum(len(s) for s in structures)
    print(f"{len(structures)} real MP structures, {atoms} atoms (median "
          f"{int(np.median([len(s) for s in structures]))} per structure), radius 8 Å, 12 neighbours")
    ours = rate(featurizer.graph, structures)
    naive = rate(lambda s: naive_graph(s, table), structures)
    print(f"moduli featuriser      : {ours:8.1f} structures/s")
    print(f"naive get_all_neighbors: {naive:8.1f} structures/s")
    print(f"speed-up               : {ours / naive:8.1f}x")


if __name__ == "__main__":
    main()
