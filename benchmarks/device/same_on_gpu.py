"""The same predictions on the GPU as on the CPU, for every bundled pair.

Real structures (every k-th of the WBM and matminer dielectric sets, ``--n`` in all) go through
``moduli predict`` twice per pair (``--models default | fast | accurate``): once with
``--accelerator cpu`` (foundation-model features in the CPU workers) and once with
``--accelerator gpu`` (features and strain Hessians in batches on the GPU), no feature cache.
Prints, per pair, the largest difference of log10 B and log10 G and the largest relative
difference of every other float column, and whether each is within ``--tolerance`` (1e-5 in
log10, as the batched features are required to be).

    MODULI_DATA_DIR=... python3 benchmarks/device/same_on_gpu.py [--n 200] [--models default fast accurate]
    # a dry run on a CPU machine: the batched features on the CPU against the workers'
    MODULI_DATA_DIR=... python3 benchmarks/device/same_on_gpu.py --n 20 --accelerator cpu --set features_on=device
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def real_structures(n: int) -> list[tuple[str, dict]]:
    from moduli.core.structures import read_json, table_rows

    data = Path(os.environ["MODULI_DATA_DIR"])
    wbm = [(row["material_id"], row["structure"]) for row in read_json(data / "wbm_random_972_structures_matcalc.json.gz")]
    dielectric = [(row["material_id"], row["structure"])
                  for row in table_rows(read_json(data / "matminer_dielectric_constant_bandgap.json.gz"))]
    rows = wbm + dielectric
    return rows[::max(len(rows) // n, 1)][:n]


def predict(corpus: Path, models: str, accelerator: str, out: Path, workers: int,
            settings: list[str] = ()) -> pd.DataFrame:
    command = [sys.executable, "-m", "moduli.cli", "predict", str(corpus), "--models", models,
               "--accelerator", accelerator, "--no-cache", "--num-workers", str(workers), "-q", "-o", str(out),
               *[part for setting in settings for part in ("--set", setting)]]
    subprocess.run(command, check=True)
    return pd.read_csv(out).set_index("id").sort_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--models", nargs="+", default=["default", "fast", "accurate"])
    parser.add_argument("--workers", type=int, default=max((os.cpu_count() or 2) - 1, 1))
    parser.add_argument("--tolerance", type=float, default=1e-5)
    parser.add_argument("--accelerator", default="gpu", help="the second run's (cpu: a dry run of this script)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="predict.yaml settings of the second run (a dry run: features_on=device)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        corpus = scratch / "structures.jsonl"
        corpus.write_text("".join(json.dumps({"material_id": mid, "structure": s}) + "\n"
                                  for mid, s in real_structures(args.n)))
        print(f"{args.n} real structures, {args.workers} workers")
        for models in args.models:
            cpu = predict(corpus, models, "cpu", scratch / f"{models}-cpu.csv", args.workers)
            gpu = predict(corpus, models, args.accelerator, scratch / f"{models}-gpu.csv", args.workers, args.set)
            assert list(cpu.index) == list(gpu.index), "different rows"
            log = {name: float(np.nanmax(np.abs(np.log10(gpu[name]) - np.log10(cpu[name]))))
                   for name in ("bulk_modulus_gpa", "shear_modulus_gpa")}
            floats = [c for c in cpu.columns if cpu[c].dtype.kind == "f"]
            relative = (gpu[floats] - cpu[floats]).abs() / cpu[floats].abs().clip(lower=1e-12)
            worst = relative.max().sort_values(ascending=False)
            verdict = "same" if max(log.values()) <= args.tolerance else "DIFFERENT"
            print(f"{models:9} {len(cpu)} rows: log10 B {log['bulk_modulus_gpa']:.1e}, log10 G "
                  f"{log['shear_modulus_gpa']:.1e} ({verdict} to {args.tolerance:g}); largest relative "
                  f"difference of any column: {worst.iloc[0]:.1e} ({worst.index[0]})", flush=True)


if __name__ == "__main__":
    main()
