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


# Share of errors a calibrated Gaussian std covers: P(|z| <= 1), P(|z| <= 2).
GAUSSIAN_WITHIN = {1: 0.6827, 2: 0.9545}


def std_calibration(target: np.ndarray, prediction: np.ndarray, std: np.ndarray) -> dict[str, float]:
    """How well a predicted std tracks the error: Spearman rank correlation of std and |error|,
    and the share of errors within 1σ and 2σ (0.683 and 0.954 for a calibrated Gaussian)."""
    from scipy.stats import spearmanr

    error = np.abs(np.asarray(prediction, float) - np.asarray(target, float))
    std = np.asarray(std, float)
    # A constant std (e.g. a mixture that gave one kind all the weight) ranks nothing: NaN.
    spearman = float(spearmanr(std, error).statistic) if np.ptp(std) > 0 and np.ptp(error) > 0 else float("nan")
    return {"spearman_std_abs_error": spearman,
            "within_1_sigma": float(np.mean(error <= std)),
            "within_2_sigma": float(np.mean(error <= 2 * std)), "n": int(len(error))}


def fit_std_scale(target: np.ndarray, prediction: np.ndarray, std: np.ndarray) -> float:
    """The one factor s that makes s·std cover 68.3 % of the errors (a Gaussian 1σ): the 68.3rd
    percentile of |error| / std. A quantile, not the Gaussian likelihood optimum sqrt(mean(z²)):
    errors of materials models are heavy-tailed, and a few outliers would inflate that one
    until nearly every error lies inside 1σ."""
    error = np.abs(np.asarray(prediction, float) - np.asarray(target, float))
    ratio = error / np.maximum(np.asarray(std, float), 1e-12)
    return float(np.quantile(ratio, GAUSSIAN_WITHIN[1]))


def cross_fitted_calibration(target: np.ndarray, prediction: np.ndarray, std: np.ndarray,
                             seed: int = 0) -> dict[str, float]:
    """Calibration of the scaled std measured honestly: the scale is fitted on one random half
    and applied to the other, both ways, so no error is judged by a scale fitted on it."""
    target, prediction, std = (np.asarray(a, float) for a in (target, prediction, std))
    half = np.random.default_rng(seed).permutation(len(target)) < len(target) // 2
    scaled = np.empty_like(std)
    for fit, apply in ((half, ~half), (~half, half)):
        scaled[apply] = std[apply] * fit_std_scale(target[fit], prediction[fit], std[fit])
    return std_calibration(target, prediction, scaled)
