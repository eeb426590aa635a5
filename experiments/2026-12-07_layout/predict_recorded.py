"""Predictions of the three bundled pairs on a recorded corpus of real structures, as one Parquet.

Run with the code before and after a change that must not alter predictions, then compare the
two files with ``compare.py``:

    OMP_NUM_THREADS=1 python experiments/2026-12-07_layout/predict_recorded.py before.parquet
"""
import sys
from pathlib import Path

import pandas as pd

import moduli
from moduli.core.structures import parse_structure, read_json, table_rows

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "wbm_random_972_structures_matcalc.json.gz"
PAIRS = {"default": ("mp-elastic-k", "mp-elastic-g", 200), "fast": ("mp-elastic-k-fast", "mp-elastic-g-fast", 200),
         "accurate": ("mp-elastic-k-accurate", "mp-elastic-g-accurate", 24)}

print("moduli from", moduli.__file__, flush=True)
rows = table_rows(read_json(CORPUS))
tables = []
for name, (bulk, shear, n) in PAIRS.items():
    structures = [parse_structure(r["structure"]) for r in rows[:n]]
    ids = [str(r.get("material_id", i)) for i, r in enumerate(rows[:n])]
    table = moduli.predict(structures, ids=ids, bulk=bulk, shear=shear)
    tables.append(table.assign(models=name))
    print(name, len(table), flush=True)
pd.concat(tables).to_parquet(sys.argv[1])
