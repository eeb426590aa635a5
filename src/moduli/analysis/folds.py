"""Gather run dirs (e.g. the folds of a cross-validation) into one table.

    python -m moduli.analysis.folds RUN_OR_SWEEP_DIR [...] [--out summary.md]

Every folder below the given ones that holds a ``metrics.json`` and a ``config.yaml`` is one run;
its model (``cgcnn`` or the baseline estimator's class), setting (the config's ``task_name``, which
tells e.g. ``experiment=mp_elastic_paper`` from ``experiment=mp_elastic_tuned_g``), target and fold
come from its resolved config. Prints (and writes) the per-fold test MAE / R² and their
mean ± std over folds (ddof=1). With ``--matbench-dir``, runs on a Matbench task also go into
Matbench-format results files (``moduli.analysis.matbench_results``).
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import yaml

from moduli.analysis.matbench_results import write_matbench_results
from moduli.core.atomic import atomic_write

METRICS = tuple(f"{split}/{m}" for split in ("train", "val", "test") for m in ("mae", "r2"))  # columns use "_"


def run_record(run_dir: Path) -> dict:
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    model = config["model"]
    # Baselines name their estimator; CGCNN configs have none (older ones also lack model.kind).
    name = model["estimator"]["_target_"].rsplit(".", 1)[-1] if "estimator" in model else "cgcnn"
    return {"target": config["data"]["target"], "model": name, "setting": config.get("task_name", ""),
            "fold": config["data"]["fold"], "matbench_task": config["data"].get("matbench_task"),
            "run": str(run_dir), **{k.replace("/", "_"): metrics.get(k, float("nan")) for k in METRICS}}


def gather(roots: Iterable[str | Path]) -> pd.DataFrame:
    runs = sorted({p.parent for root in roots for p in Path(root).rglob("metrics.json")
                   if (p.parent / "config.yaml").is_file()})
    if not runs:
        raise FileNotFoundError(f"no run dirs (metrics.json + config.yaml) under {list(roots)}")
    return pd.DataFrame([run_record(r) for r in runs]).sort_values(["target", "model", "setting", "fold"])


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std over folds of test MAE and R², per target, model and setting, best MAE first."""
    grouped = frame.groupby(["target", "model", "setting"])
    summary = pd.DataFrame({
        "folds": grouped["fold"].apply(lambda f: ",".join(str(int(x)) for x in sorted(f))),
        "test_mae_mean": grouped["test_mae"].mean(), "test_mae_std": grouped["test_mae"].std(ddof=1),
        "test_r2_mean": grouped["test_r2"].mean(), "test_r2_std": grouped["test_r2"].std(ddof=1)})
    return summary.reset_index().sort_values(["target", "test_mae_mean"])


def to_markdown(frame: pd.DataFrame, summary: pd.DataFrame) -> str:
    lines = ["| target | model | setting | folds | test MAE (mean ± std) | test R² (mean ± std) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in summary.itertuples():
        lines.append(f"| {row.target} | {row.model} | {row.setting} | {row.folds} | {row.test_mae_mean:.4f} ± "
                     f"{row.test_mae_std:.4f} | {row.test_r2_mean:.3f} ± {row.test_r2_std:.3f} |")
    lines += ["", "Per fold (test MAE / R²):", "",
              "| target | model | setting | fold | test MAE | test R² |", "| --- | --- | --- | --- | --- | --- |"]
    for row in frame.itertuples():
        lines.append(f"| {row.target} | {row.model} | {row.setting} | {row.fold} | {row.test_mae:.4f} | "
                     f"{row.test_r2:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Per-fold and mean ± std test metrics of run dirs")
    parser.add_argument("roots", nargs="+", help="run dirs or folders holding them (searched recursively)")
    parser.add_argument("--out", help="also write the tables (markdown) to this file")
    parser.add_argument("--matbench-dir", help="write a Matbench results file per model and setting "
                        "of the runs on Matbench tasks into this folder")
    args = parser.parse_args(argv)
    frame = gather(args.roots)
    text = to_markdown(frame, summarize(frame))
    print(text)
    if args.out:
        atomic_write(args.out, lambda tmp: Path(tmp).write_text(text))
    if args.matbench_dir:
        for path in write_matbench_results(frame, args.matbench_dir):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
