"""The original CGCNN pre-trained models (Xie & Grossman 2018) on this run's fold-0 test sets.

Caveat: those models were trained on 2017 MP elastic data, which overlaps these test sets, so
their numbers are an optimistic reference, not a fair comparison.

    MODULI_DATA_DIR=../shared/data .venv/bin/python experiments/2026-11-24_mp_elastic_fold0/compare_pretrained.py
"""
from pathlib import Path

import pandas as pd

import moduli
from moduli.analysis.metrics import mae, r2
from moduli.core.assets import fetch
from moduli.data.sources import load_mp_elastic

HERE = Path(__file__).parent
records = {r.id: r.structure for r in load_mp_elastic()[0]}
for target, asset in (("log10_g_vrh", "cgcnn_shear_moduli"), ("log10_k_vrh", "cgcnn_bulk_moduli")):
    test = pd.read_csv(HERE / "runs" / target / "predictions" / "test.csv")
    original = moduli.load_model(fetch(asset)).predict([records[i] for i in test["id"]])
    print(f"{target}: n={len(test)}  moduli CGCNN MAE={mae(test.target, test.prediction):.4f} "
          f"R2={r2(test.target, test.prediction):.3f}  |  original pre-trained MAE="
          f"{mae(test.target, original):.4f} R2={r2(test.target, original):.3f}")
