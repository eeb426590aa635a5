"""Parity plots: DFT vs predicted, with MAE and R² in the panel (the paper's Fig. 3)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from moduli.analysis.metrics import mae, r2  # noqa: E402
from moduli.atomic import atomic_write  # noqa: E402


def parity_plot(target: np.ndarray, prediction: np.ndarray, path: str | Path, title: str,
                units: str = "log10(GPa)") -> Path:
    """Scatter of prediction vs target with the y = x line; written atomically to ``path``."""
    target, prediction = np.asarray(target, float), np.asarray(prediction, float)
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=150)
    ax.scatter(target, prediction, s=8, alpha=0.5, edgecolors="none")
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
    ax.text(0.04, 0.96, f"n = {len(target)}\nMAE = {mae(target, prediction):.4f}\n"
            f"R² = {r2(target, prediction):.3f}", transform=ax.transAxes, va="top",
            bbox={"boxstyle": "round", "fc": "white", "alpha": 0.8})
    fig.tight_layout()
    path = Path(path)
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format=path.suffix.lstrip(".")))
    finally:
        plt.close(fig)
