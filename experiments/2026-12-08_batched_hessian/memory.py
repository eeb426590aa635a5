"""Peak RSS of one batched strain-Hessian pass over N real structures (every k-th of the dielectric set):
    MODULI_DATA_DIR=../shared/data .venv/bin/python experiments/2026-12-08_batched_hessian/memory.py N
(run from the repo root; measured with N = 16 and 64, one thread)."""
import os
import resource
import sys

import torch
from torch_geometric.data import Batch
from moduli.core.structures import parse_structure, read_json, table_rows
from moduli.features.sevennet_clamped import SevenNetShear
from moduli.features.sevennet import batch_graph
torch.set_num_threads(1)
n = int(sys.argv[1])
rows = table_rows(read_json(os.path.join(os.environ["MODULI_DATA_DIR"], "matminer_dielectric_constant_bandgap.json.gz")))
structures = [parse_structure(r["structure"]) for r in rows[::max(len(rows)//n,1)][:n]]
f = SevenNetShear()
graphs = [batch_graph(s, [f]) for s in structures]
b = Batch.from_data_list(graphs)
f.batched_hessians(Batch.from_data_list(graphs[:1]), torch.arange(1))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
f.batched_hessians(b, torch.arange(n))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
edges = b[f"{f.key}_edge_index"].shape[1]
print(f"{n} structures, {b.num_nodes} atoms, {edges} edges: peak RSS {before/1e3:.0f} -> {after/1e3:.0f} MB, {(after-before)*1e3/edges/1e3:.1f} kB per edge")
