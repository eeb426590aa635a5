"""The clamped-ion bulk modulus and pressure (``SevenNetStiffness``) in batches against one
structure at a time, and the noise of one structure at a time itself.

64 real structures (every 26th of the matminer dielectric set, every 40th of WBM). Prints the
largest and median difference of log10 K and of the pressure (GPa) between ``compute_batch``
(batches of 32, the three energies in one batched pass per volume) and ``compute_one``; then,
as the yardstick, between ``compute_one`` of each structure and of the same crystal with its atoms
in reverse order and its origin moved (float32 sums in another order).

    MODULI_DATA_DIR=../shared/data OMP_NUM_THREADS=1 .venv/bin/python experiments/2026-12-08_batched_hessian/stiffness.py
"""
from __future__ import annotations

import os

import numpy as np
import torch
from pymatgen.core import Structure
from torch_geometric.data import Batch

from moduli.core.structures import parse_structure, read_json, table_rows
from moduli.features.sevennet import batch_graph
from moduli.features.sevennet_clamped import SevenNetStiffness


def structures() -> list[Structure]:
    data = os.environ["MODULI_DATA_DIR"]
    dielectric = table_rows(read_json(os.path.join(data, "matminer_dielectric_constant_bandgap.json.gz")))
    wbm = read_json(os.path.join(data, "wbm_random_972_structures_matcalc.json.gz"))
    return [parse_structure(r["structure"]) for r in dielectric[::26][:40] + wbm[::40][:24]]


def report(label: str, a: np.ndarray, b: np.ndarray) -> None:
    d = np.abs(a - b)
    print(f"{label}: log10 K max {d[:, 0].max():.1e} median {np.median(d[:, 0]):.1e}; "
          f"pressure (GPa) max {d[:, 1].max():.1e} median {np.median(d[:, 1]):.1e}")


def main() -> None:
    crystals = structures()
    stiffness = SevenNetStiffness()
    alone = np.stack([stiffness.compute_one(s) for s in crystals])
    parts = []
    for first in range(0, len(crystals), 32):
        chunk = crystals[first:first + 32]
        batch = Batch.from_data_list([batch_graph(s, [stiffness]) for s in chunk])
        with torch.inference_mode():
            parts.append(stiffness.compute_batch(batch, torch.arange(len(chunk))).numpy())
    print(f"{len(crystals)} real structures ({sum(len(s) for s in crystals)} atoms)")
    report("batched vs one at a time", np.concatenate(parts), alone)
    moved = []
    for s in crystals:
        other = Structure(s.lattice, [site.species for site in reversed(s.sites)],
                          [site.frac_coords for site in reversed(s.sites)])
        other.translate_sites(range(len(other)), [0.123, 0.311, 0.077])
        moved.append(stiffness.compute_one(other))
    report("one at a time, the same crystal described otherwise", np.stack(moved), alone)


if __name__ == "__main__":
    main()
