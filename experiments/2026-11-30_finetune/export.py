"""Write the fine-tuning runs' inputs into one file for a machine without moduli's stack.

    .venv/bin/python experiments/2026-11-30_finetune/export.py OUT.npz

Every structure of mp_elastic and of the extra source brgoch_new (atomic numbers, Cartesian
positions, cell), both targets, and for each run (folds 0-4 of the Matbench protocol, and the
bundles' split) which part each record belongs to. The parts are read from the run dirs of the
SevenNet-feature heads this lever is compared with (`../2026-11-30_levers`, fold runs; the bundle
heads of `../2026-11-30_sevennet_bundles`), so the fine-tuned model trains, selects and is tested
on exactly their ids (extra records in the training part only). Both targets' runs must agree.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from moduli.data.sources import load_brgoch_new, load_mp_elastic

HERE = Path(__file__).parent
RUNS = {**{f"fold{k}": HERE.parent / "2026-11-30_levers/runs/{target}" / f"sevennet_extra_fold{k}_seed0"
           for k in range(5)},
        "bundle": HERE.parent / "2026-11-30_sevennet_bundles/runs/{target}/sevennet_extra_bundle_seed0"}
TARGETS = ("log10_k_vrh", "log10_g_vrh")
PARTS = {"train": 0, "val": 1, "test": 2}  # -1: not in this run


def parts_of(run: str) -> dict[str, int]:
    """Record id -> part code of ``run``, the same for both targets (checked)."""
    found = []
    for target in TARGETS:
        folder = Path(str(RUNS[run]).format(target=target)) / "predictions"
        found.append({i: code for part, code in PARTS.items() if (folder / f"{part}.csv").is_file()
                      for i in pd.read_csv(folder / f"{part}.csv")["id"]})
    if found[0] != found[1]:
        raise ValueError(f"{run}: the K and G runs split the records differently")
    return found[0]


def main(out: str) -> None:
    records = load_mp_elastic()[0] + load_brgoch_new()[0]
    runs = {run: parts_of(run) for run in RUNS}
    used = set().union(*runs.values())
    records = [r for r in records if r.id in used]
    missing = used - {r.id for r in records}
    if missing:
        raise ValueError(f"{len(missing)} ids of the runs are not in the sources, e.g. {sorted(missing)[:3]}")
    counts = np.array([len(r.structure) for r in records])
    arrays = {
        "ids": np.array([r.id for r in records]),
        "n_atoms": counts,
        "numbers": np.concatenate([r.structure.atomic_numbers for r in records]).astype(np.int16),
        "positions": np.concatenate([r.structure.cart_coords for r in records]),
        "cells": np.stack([r.structure.lattice.matrix for r in records]),
        "targets": np.array([[r.targets[t] for t in TARGETS] for r in records]),
        "target_names": np.array(TARGETS),
        "run_names": np.array(list(RUNS)),
        "parts": np.array([[runs[run].get(r.id, -1) for r in records] for run in RUNS], dtype=np.int8),
    }
    np.savez_compressed(out, **arrays)
    for run, codes in zip(RUNS, arrays["parts"]):
        print(run, {part: int((codes == code).sum()) for part, code in PARTS.items()})
    print(f"{len(records)} structures, {counts.sum()} atoms (max {counts.max()}) -> {out}")


if __name__ == "__main__":
    main(sys.argv[1])
