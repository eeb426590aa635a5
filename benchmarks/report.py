"""Time and file size of the corpus figures at 1k, 10k and 50k structures (paper scale: ~54k).

The table is the two recorded prediction runs (WBM + screened MP, 1,652 real rows) replicated up
to the size, with the moduli jittered by 5 % (log-normal) so replicas do not sit on one point.
Prints, per size and figure: seconds to draw and save PNG + SVG, and both file sizes. The goal:
the moduli maps stay readable (rasterised points, hexbin panels) with SVGs under ~1 MB at 50k.

    .venv/bin/python benchmarks/report.py [--sizes 1000 10000 50000]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from moduli.analysis import dataset_figures, moduli_maps, statistics

REPO = Path(__file__).resolve().parents[1]
RUNS = [REPO / "tests/data/wbm_predictions.parquet",
        REPO / "experiments/2026-11-24_predict_screened/dielectric_mp/predictions.parquet"]


def table_of_size(base: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    table = base.iloc[np.arange(n) % len(base)].reset_index(drop=True)
    for column in ("bulk_modulus_gpa", "shear_modulus_gpa"):
        table[column] = table[column] * rng.lognormal(0.0, 0.05, n)
    table["pugh_ratio"] = table["bulk_modulus_gpa"] / table["shear_modulus_gpa"]
    return table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    args = parser.parse_args()
    base = pd.concat([pd.read_parquet(p) for p in RUNS], ignore_index=True)
    rng = np.random.default_rng(0)
    print(f"{'n':>7} {'figure':<22} {'seconds':>8} {'png kB':>8} {'svg kB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            table = table_of_size(base, n, rng)
            figures = {
                "crystal_systems": lambda s: dataset_figures.plot_crystal_systems(
                    statistics.crystal_system_counts(table), s, "bench"),
                "element_frequency": lambda s: dataset_figures.plot_element_frequency(
                    statistics.element_counts(table), s, "bench"),
                "periodic_table": lambda s: dataset_figures.plot_periodic_table(
                    statistics.element_counts(table), s, "bench"),
                "moduli_map": lambda s: moduli_maps.plot_moduli_map(table, s, "bench"),
                "moduli_by_system": lambda s: moduli_maps.plot_moduli_by_system(table, s, "bench"),
                "derived": lambda s: moduli_maps.plot_derived_distributions(table, s, "bench"),
            }
            for name, draw in figures.items():
                tick = time.perf_counter()
                png, svg = draw(Path(tmp) / f"{name}_{n}")
                seconds = time.perf_counter() - tick
                print(f"{n:>7} {name:<22} {seconds:>8.2f} {png.stat().st_size / 1e3:>8.0f} "
                      f"{svg.stat().st_size / 1e3:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
