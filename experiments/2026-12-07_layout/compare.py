"""Largest relative difference of every float column between two prediction Parquets (same ids,
same order); exits 1 above 1e-6 or where ids, columns or rejections differ.

    python experiments/2026-12-07_layout/compare.py before.parquet after.parquet
"""
import sys

import numpy as np
import pandas as pd

a, b = (pd.read_parquet(p) for p in sys.argv[1:3])
assert list(a.columns) == list(b.columns), (set(a.columns) ^ set(b.columns))
assert a["id"].tolist() == b["id"].tolist() and a["models"].tolist() == b["models"].tolist()
assert a["rejected"].fillna("").tolist() == b["rejected"].fillna("").tolist()
worst = 0.0
for column in a.columns:
    if a[column].dtype.kind == "f":
        x, y = a[column].to_numpy(), b[column].to_numpy()
        same_nan = np.array_equal(np.isnan(x), np.isnan(y))
        rel = np.nanmax(np.abs(x - y) / np.maximum(np.abs(x), 1e-12), initial=0.0)
        worst = max(worst, rel if same_nan else np.inf)
print(f"{len(a)} rows, {sum(a[c].dtype.kind == 'f' for c in a.columns)} float columns, "
      f"largest relative difference {worst:.2e}")
sys.exit(0 if worst <= 1e-6 else 1)
