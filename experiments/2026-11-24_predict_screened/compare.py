"""Predicted vs DFT moduli on the screened dielectric-set ids that also have DFT elastic data.

DFT values: the mp_elastic records (MP 2025 binaries + elastic_tensor_2015). The models were
trained on mp_elastic fold 0, so ids are grouped by the split they were in: only the 'test'
group was unseen in training and model selection.
"""
from pathlib import Path

import numpy as np
import pandas as pd

from moduli.analysis import runs
from moduli.analysis.metrics import mae, r2
from moduli.data.sources import load_mp_elastic

HERE = Path(__file__).parent
RUNS = HERE.parent / "2026-11-24_mp_elastic_fold0" / "runs"

predicted = pd.read_parquet(HERE / "dielectric_mp" / "predictions.parquet").set_index("id")
dft = {r.id: r.targets for r in load_mp_elastic()[0]}
split_of = {mid: "train" for mid in dft}  # the record keeps val and test; the rest trained
for split in ("val", "test"):
    for mid in runs.predictions(RUNS / "log10_k_vrh", split).index:
        split_of[mid] = split
shared = [i for i in predicted.index if i in dft]
print(f"screened dielectric structures predicted: {len(predicted)}; with DFT moduli: {len(shared)}")
for group in ("train", "val", "test"):
    ids = [i for i in shared if split_of.get(i) == group]
    if not ids:
        continue
    line = [f"{group:5} n={len(ids):3d}"]
    for column, target in (("bulk_modulus_gpa", "log10_k_vrh"), ("shear_modulus_gpa", "log10_g_vrh")):
        truth = np.array([dft[i][target] for i in ids])
        guess = np.log10(predicted.loc[ids, column].to_numpy())
        line.append(f"{target}: MAE {mae(truth, guess):.4f} R2 {r2(truth, guess):.3f}")
    print("  ".join(line))
WBM = HERE.parents[1] / "tests" / "data" / "wbm_predictions.parquet"  # kept as a test fixture
for name, path in (("dielectric_mp", HERE / "dielectric_mp" / "predictions.parquet"), ("wbm", WBM)):
    table = pd.read_parquet(path)
    print(f"{name}: n={len(table)}  median B {table.bulk_modulus_gpa.median():.1f} GPa, "
          f"G {table.shear_modulus_gpa.median():.1f} GPa, Poisson {table.poisson_ratio.median():.3f}, "
          f"Debye {table.debye_temperature_k.median():.0f} K; Pugh > 1.75 (ductile): "
          f"{(table.pugh_ratio > 1.75).mean():.1%}")
