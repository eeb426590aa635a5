"""Compare two outputs of run.sh: predictions to 1e-6 (relative), rejections, metrics, CSVs.
Usage: python compare.py BEFORE AFTER   (exit 1 and a list of differences if any)"""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

before, after = Path(sys.argv[1]), Path(sys.argv[2])
# metrics.json entries added on purpose since the first record: "kind" (2026-11-30, the model kind)
ADDED_METRICS = {"kind"}
problems = []


def same_frames(a: pd.DataFrame, b: pd.DataFrame, what: str) -> None:
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        problems.append(f"{what}: columns/rows {list(a.columns)}x{len(a)} vs {list(b.columns)}x{len(b)}")
        return
    for column in a.columns:
        x, y = a[column], b[column]
        if pd.api.types.is_float_dtype(x) and pd.api.types.is_float_dtype(y):
            if not np.allclose(x, y, rtol=1e-6, atol=1e-9, equal_nan=True):
                problems.append(f"{what}: column {column} differs (max {np.nanmax(np.abs(x - y)):.3g})")
        elif not x.astype(str).equals(y.astype(str)):
            problems.append(f"{what}: column {column} differs")


for run in ("predict_json", "predict_cif"):
    same_frames(pd.read_parquet(before / run / "predictions.parquet"),
                pd.read_parquet(after / run / "predictions.parquet"), f"{run}/predictions.parquet")
    for name in ("predictions.csv", "rejected.csv"):
        same_frames(pd.read_csv(before / run / name), pd.read_csv(after / run / name), f"{run}/{name}")
    a, b = (json.loads((d / run / "screening.json").read_text()) for d in (before, after))
    for key in ("counts", "rejected_by_stage", "predicted", "rules", "models"):
        if a[key] != b[key]:
            problems.append(f"{run}/screening.json: {key} differs: {a[key]} vs {b[key]}")
for run in ("train_cgcnn", "train_rf", "train_head"):
    if not (before / run).is_dir() and not (after / run).is_dir():
        continue  # train_head: outputs made before it was added to run.sh
    a, b = (json.loads((d / run / "metrics.json").read_text()) for d in (before, after))
    b = {k: v for k, v in b.items() if k not in ADDED_METRICS or k in a}
    if a.keys() != b.keys() or any(not np.isclose(a[k], b[k], rtol=1e-6) for k in a
                                   if isinstance(a[k], float)):
        problems.append(f"{run}/metrics.json differs: {a} vs {b}")
    for csv in sorted((before / run / "predictions").glob("*.csv")):
        same_frames(pd.read_csv(csv), pd.read_csv(after / run / "predictions" / csv.name),
                    f"{run}/predictions/{csv.name}")
    for name in ("rejected.csv",):
        if (before / run / name).exists() != (after / run / name).exists():
            problems.append(f"{run}/{name}: present in one run only")
print("\n".join(problems) or "same files: predictions, rejections, screening, metrics")
sys.exit(1 if problems else 0)
