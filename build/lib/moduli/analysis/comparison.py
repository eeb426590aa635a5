"""Model comparison (the paper's Fig. 2): MAE and R² bars per model and split, from run dirs.

The runs are gathered by ``moduli.analysis.folds.gather`` (any mix of CGCNN and baseline run
dirs, one or several folds each); a bar is the mean over a model's folds, its error bar the
standard deviation (ddof=1) when there is more than one fold.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from moduli.analysis.style import save_figure
from moduli.core.schema import SPLITS

SPLIT_COLORS = {"train": "#9ecae1", "val": "#4292c6", "test": "#08306b"}
MODEL_NAMES = {"cgcnn": "CGCNN", "XGBRegressor": "XGBoost", "RandomForestRegressor": "random forest",
               "GradientBoostingRegressor": "gradient boosting", "SVR": "SVR",
               "DecisionTreeRegressor": "decision tree", "DummyRegressor": "dummy (mean)"}


def model_label(model: str, setting: str, settings_per_model: int) -> str:
    """A readable model name; the setting (task_name) is added only where a model has several."""
    name = MODEL_NAMES.get(model, model)
    return f"{name} [{setting}]" if settings_per_model > 1 else name


def comparison_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per target and model: mean and std over folds of MAE and R² on each split, test MAE best first."""
    rows = []
    for (target, model, setting), group in runs.groupby(["target", "model", "setting"]):
        n_settings = runs.loc[(runs["target"] == target) & (runs["model"] == model), "setting"].nunique()
        row = {"target": target, "model": model_label(model, setting, n_settings), "folds": len(group)}
        for split in SPLITS:
            for metric in ("mae", "r2"):
                values = group[f"{split}_{metric}"].astype(float)
                row[f"{split}_{metric}_mean"] = float(values.mean())
                row[f"{split}_{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["target", "test_mae_mean"]).reset_index(drop=True)


def plot_model_comparison(table: pd.DataFrame, stem: str | Path) -> list[Path]:
    """One row per target: MAE (left) and R² (right), grouped bars per model for train/val/test."""
    targets = list(dict.fromkeys(table["target"]))
    n_models = table.groupby("target").size().max()
    fig, axes = plt.subplots(len(targets), 2, figsize=(max(7.0, 1.1 * n_models + 3), 3.6 * len(targets)),
                             squeeze=False)
    width = 0.26
    for row_axes, target in zip(axes, targets):
        rows = table[table["target"] == target]
        x = np.arange(len(rows))
        for ax, metric, label in zip(row_axes, ("mae", "r2"), ("MAE (log10 GPa)", "R²")):
            for k, split in enumerate(SPLITS):
                errors = rows[f"{split}_{metric}_std"] if (rows["folds"] > 1).any() else None
                ax.bar(x + (k - 1) * width, rows[f"{split}_{metric}_mean"], width, yerr=errors, capsize=2,
                       color=SPLIT_COLORS[split], label=split, error_kw={"elinewidth": 0.8})
            ax.set_xticks(x, rows["model"], rotation=30, ha="right")
            ax.set_ylabel(label)
            ax.set_title(f"{target}: {label}")
            ax.spines[["top", "right"]].set_visible(False)
            if metric == "r2":
                ax.set_ylim(min(0.0, float(rows[[f"{s}_r2_mean" for s in SPLITS]].min().min()) - 0.05), 1.05)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.legend(handles, labels, loc="upper center", ncols=3, frameon=False,
               title="bars: mean over folds; error bars: std over folds (ddof = 1)", fontsize=9)
    return save_figure(fig, stem)
