"""What a training run writes besides checkpoints: per-split prediction CSVs, parity plots and
the MAE / R² of every split (``metrics.json``; ``rejected.csv`` is :mod:`moduli.core.records`')."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from moduli.analysis.metrics import mae, r2
from moduli.analysis.parity import parity_plot
from moduli.core.atomic import atomic_write
from moduli.core.schema import SPLITS

# Per split: (ids, targets, predictions), every id of the split in the datamodule's order.
SplitResults = dict[str, tuple[list[str], np.ndarray, np.ndarray]]


def write_predictions(path: Path, ids: list[str], target, prediction) -> None:
    """``predictions/<split>.csv``: id, target, prediction (log10 GPa, 6 decimals)."""
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "target", "prediction"])
            writer.writerows(zip(ids, (f"{t:.6f}" for t in target), (f"{p:.6f}" for p in prediction)))

    atomic_write(path, write)


def report_splits(out: Path, results: SplitResults, target: dict[str, str],
                  write: bool = True) -> dict[str, float]:
    """MAE / R² per split from (ids, targets, predictions); writes predictions CSVs and parity
    plots (unless ``write`` is false: the other ranks of a multi-device run).

    Also reports ``dummy/{split}/mae``: the MAE of predicting the training mean, the floor any
    model has to beat.
    """
    metrics: dict[str, float] = {}
    train_mean = float(np.mean(results["train"][1]))
    for split in SPLITS:
        ids, truth, prediction = results[split]
        if write:
            write_predictions(out / "predictions" / f"{split}.csv", ids, truth, prediction)
            parity_plot(truth, prediction, out / f"parity_{split}.png", f"{target['name']} — {split}",
                        target.get("units", ""))
        metrics[f"{split}/mae"] = mae(truth, prediction) if len(ids) else float("nan")
        metrics[f"{split}/r2"] = r2(truth, prediction) if len(ids) else float("nan")
        metrics[f"n/{split}"] = len(ids)
        metrics[f"dummy/{split}/mae"] = (mae(truth, np.full(len(truth), train_mean)) if len(ids)
                                         else float("nan"))
    return metrics
