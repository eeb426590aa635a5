"""Regression metrics in one place, so every table and figure reports the same numbers."""
from __future__ import annotations

import numpy as np


def mae(target: np.ndarray, prediction: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(prediction) - np.asarray(target))))


def r2(target: np.ndarray, prediction: np.ndarray) -> float:
    """Coefficient of determination; NaN when the target is constant (R² is undefined then)."""
    target, prediction = np.asarray(target, float), np.asarray(prediction, float)
    total = np.sum((target - target.mean()) ** 2)
    return float(1.0 - np.sum((target - prediction) ** 2) / total) if total > 0 else float("nan")
