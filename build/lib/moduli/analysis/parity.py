"""Parity plots: DFT vs predicted, with MAE and R² in the panel (the paper's Fig. 3).

Targets are stored as log10(GPa). ``scale='log10'`` plots them as they are; ``scale='gpa'``
plots 10**value in GPa, and the MAE / R² in the panel are then computed in GPa too (they are
different numbers from the log10 ones: a GPa MAE is dominated by the stiff materials).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from moduli.analysis.metrics import mae, r2
from moduli.analysis.style import save_figure

SCALES = {"log10": "log10(GPa)", "gpa": "GPa"}


def on_scale(values: np.ndarray, scale: str) -> np.ndarray:
    """log10(GPa) values as plotted on ``scale``."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    values = np.asarray(values, float)
    return 10.0 ** values if scale == "gpa" else values


def draw_parity(ax, target: np.ndarray, prediction: np.ndarray, title: str, units: str) -> dict[str, float]:
    """Scatter prediction vs target with y = x on ``ax``; returns the n, MAE and R² it shows."""
    target, prediction = np.asarray(target, float), np.asarray(prediction, float)
    many = len(target) > 2000
    ax.scatter(target, prediction, s=3 if many else 8, alpha=0.3 if many else 0.5,
               edgecolors="none", rasterized=True)
    stats = {"n": int(len(target)), "mae": mae(target, prediction) if len(target) else float("nan"),
             "r2": r2(target, prediction) if len(target) > 1 else float("nan")}
    if len(target):
        low = float(min(target.min(), prediction.min()))
        high = float(max(target.max(), prediction.max()))
        pad = 0.05 * (high - low or 1.0)
        ax.plot([low - pad, high + pad], [low - pad, high + pad], "k--", lw=1)
        ax.set_xlim(low - pad, high + pad)
        ax.set_ylim(low - pad, high + pad)
    ax.set_aspect("equal")
    ax.set_xlabel(f"DFT {units}")
    ax.set_ylabel(f"predicted {units}")
    ax.set_title(title)
    ax.text(0.04, 0.96, f"n = {stats['n']:,}\nMAE = {stats['mae']:.4g} {units}\nR² = {stats['r2']:.3f}",
            transform=ax.transAxes, va="top", fontsize=8,
            bbox={"boxstyle": "round", "fc": "white", "alpha": 0.8})
    return stats


def parity_plot(target: np.ndarray, prediction: np.ndarray, path: str | Path, title: str,
                units: str = "log10(GPa)") -> Path:
    """One split's parity plot, written atomically to ``path`` (its suffix picks the format)."""
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    draw_parity(ax, target, prediction, title, units)
    fig.tight_layout()
    path = Path(path)
    return save_figure(fig, path.with_suffix(""), formats=(path.suffix.lstrip("."),))[0]


def parity_panels(splits: dict[str, tuple[np.ndarray, np.ndarray]], stem: str | Path, quantity: str,
                  scale: str = "log10") -> tuple[list[Path], dict[str, dict[str, float]]]:
    """Train / val / test side by side for one target; (files, {split: n, MAE, R²} as shown).

    ``splits`` maps a split name to (DFT, predicted) in log10(GPa); ``scale`` picks the axes.
    """
    fig, axes = plt.subplots(1, len(splits), figsize=(4.2 * len(splits), 4.4), squeeze=False)
    stats = {}
    for ax, (split, (target, prediction)) in zip(axes[0], splits.items()):
        stats[split] = draw_parity(ax, on_scale(target, scale), on_scale(prediction, scale),
                                   f"{quantity} — {split}", SCALES[scale])
    fig.tight_layout()
    return save_figure(fig, stem), stats
