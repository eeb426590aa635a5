"""SevenNet-0's clamped-ion strain Hessian: one structure at a time against batches.

The accurate bundles read d²E/dε² of every structure (``SevenNetShear``, ``SevenNetKelvin``).
This times, on the same real structures (every k-th of the matminer dielectric set, ``--n`` of
them), ``strain_hessian`` one by one
and ``batched_hessians`` over batches of the given sizes (every matrix computed: no memo), checks
that both give the same matrices, and prints structures per second and the ratio. On a GPU the
peak memory of each batch size is printed too.

    MODULI_DATA_DIR=../shared/data .venv/bin/python benchmarks/strain_hessian.py [--n 40] \
        [--batch 8 32] [--device cpu|cuda] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40, help="structures (default 40)")
    parser.add_argument("--batch", type=int, nargs="+", default=[8, 32], help="batch sizes (default 8 32)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    args = parser.parse_args()
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(args.threads)

    import numpy as np
    import torch
    from torch_geometric.data import Batch

    from moduli.core.structures import parse_structure, read_json, table_rows
    from moduli.features.sevennet import batch_graph
    from moduli.features.sevennet_clamped import SevenNetShear

    torch.set_num_threads(args.threads)
    rows = table_rows(read_json(os.path.join(os.environ["MODULI_DATA_DIR"], "matminer_dielectric_constant_bandgap.json.gz")))
    step = max(len(rows) // args.n, 1)  # a spread over the set, not its first entries
    structures = [parse_structure(row["structure"]) for row in rows[::step][:args.n]]
    shear = SevenNetShear()
    device = torch.device(args.device)
    shear.batched_hessians(Batch.from_data_list([batch_graph(s, [shear]) for s in structures[:2]]).to(device),
                           torch.arange(2, device=device))  # warm-up: model copies, kernels

    start = time.perf_counter()
    alone = np.stack([shear.strain_hessian(s) for s in structures])
    one_rate = len(structures) / (time.perf_counter() - start)
    atoms = sum(len(s) for s in structures)
    print(f"{len(structures)} real structures ({atoms} atoms), {args.threads} thread(s), device {device}")
    print(f"one at a time (CPU): {one_rate:8.2f} structures/s")
    for size in args.batch:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        parts = []
        for first in range(0, len(structures), size):
            chunk = structures[first:first + size]
            batch = Batch.from_data_list([batch_graph(s, [shear]) for s in chunk]).to(device)
            parts.append(shear.batched_hessians(batch, torch.arange(len(chunk), device=device)))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        rate = len(structures) / (time.perf_counter() - start)
        batched = np.concatenate(parts)
        error = float(np.max(np.abs(batched - alone)) / np.max(np.abs(alone)))
        memory = (f", peak {torch.cuda.max_memory_allocated(device) / 2 ** 30:.2f} GiB"
                  if device.type == "cuda" else "")
        print(f"batches of {size:3d}:        {rate:8.2f} structures/s = {rate / one_rate:5.2f}x "
              f"(largest difference {error:.1e} of the largest entry{memory})")


if __name__ == "__main__":
    main()
