"""CGCNN's forward pass and training step against the original dense formulation, same weights.

The original (txie-93/cgcnn, ``tests/reference.py::dense_cgcnn``) concatenates [v_i, v_j, u_ij]
for every (atom, neighbour) pair of dense (atoms x 12) arrays and applies one linear layer and a
BatchNorm over all N x 12 rows. Ours (``moduli.models.networks.cgcnn``) computes the two atom
terms once per atom, folds BatchNorm into the linear layer at inference, and takes a dense
12-neighbour path when every atom has 12 neighbours (message passing otherwise, also timed here).
Batches of real structures (WBM + matminer dielectric); one thread; each timing the median of
``--repeats`` passes; outputs compared to 1e-5. Prints ms per batch and the ratios.

    MODULI_DATA_DIR=../shared/data .venv/bin/python benchmarks/cgcnn_speed.py [--batch 64] [--batches 4]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

import torch  # noqa: E402
from torch_geometric.data import Batch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from moduli.core.structures import parse_structure, read_json, table_rows  # noqa: E402
from moduli.graphs.atom_features import AtomFeatureTable  # noqa: E402
from moduli.graphs.featurizer import CrystalGraphFeaturizer  # noqa: E402
from moduli.models.networks.cgcnn import CGCNN  # noqa: E402
from tests.reference import dense_cgcnn, dense_inputs  # noqa: E402


def median_ms(function, repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = Path(os.environ["MODULI_DATA_DIR"])
    rows = table_rows(read_json(data / "wbm_random_972_structures_matcalc.json.gz"))
    structures = [parse_structure(r["structure"]) for r in rows[: args.batch * args.batches]]
    table = AtomFeatureTable.cgcnn(data)
    featurizer = CrystalGraphFeaturizer(table)
    batches = [structures[k:k + args.batch] for k in range(0, len(structures), args.batch)]
    graphs = [Batch.from_data_list([featurizer.graph(s) for s in part]) for part in batches]
    dense = [[dense_inputs(s, table, original_order=False) for s in part] for part in batches]
    torch.manual_seed(0)
    net = CGCNN(torch.from_numpy(table.table))  # the default sizes: 3 convolutions, 64 features
    net.eval()
    state = {k: v.clone() for k, v in net.state_dict().items()}

    def ours_forward(dense_path: bool):
        net.dense_path = dense_path
        with torch.no_grad():
            return [net(g) for g in graphs]

    def dense_forward():
        with torch.no_grad():
            return [dense_cgcnn(d, state) for d in dense]

    worst = max((a - b).abs().max().item() for a, b in zip(ours_forward(True), dense_forward()))
    params = {k: v.requires_grad_(v.is_floating_point() and "running" not in k) for k, v in state.items()}

    def ours_step(dense_path: bool):
        net.train()
        net.dense_path = dense_path
        for g in graphs:
            net.zero_grad()
            net(g).sum().backward()
        net.eval()

    def dense_step():
        for d in dense:
            for v in params.values():
                v.grad = None
            dense_cgcnn(d, params, training=True).sum().backward()

    n = len(graphs)
    timings = {"forward": {"original dense": median_ms(dense_forward, args.repeats) / n,
                           "ours, message passing": median_ms(lambda: ours_forward(False), args.repeats) / n,
                           "ours (dense 12-neighbour path)": median_ms(lambda: ours_forward(True), args.repeats) / n},
               "training step": {"original dense": median_ms(dense_step, args.repeats) / n,
                                 "ours, message passing": median_ms(lambda: ours_step(False), args.repeats) / n,
                                 "ours (dense 12-neighbour path)": median_ms(lambda: ours_step(True), args.repeats) / n}}
    atoms = sum(g.num_nodes for g in graphs) / n
    print(f"{n} batches of {args.batch} real structures ({atoms:.0f} atoms per batch), one thread; "
          f"largest |ours - original| in eval {worst:.1e}")
    print(f"{'pass':14} {'implementation':32} {'ms/batch':>9} {'x original':>11}")
    for what, rows_ in timings.items():
        for name, ms in rows_.items():
            print(f"{what:14} {name:32} {ms:9.1f} {rows_['original dense'] / ms:11.2f}")


if __name__ == "__main__":
    main()
