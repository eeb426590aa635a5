"""Weighted mean and spread over ensemble members: one definition for prediction, bundling and
the fold tables, so an ensemble's number is the same wherever it is computed."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def normalized_weights(weights: Sequence[float] | None, n_members: int) -> np.ndarray:
    """Weights summing to 1 (equal when ``None``); a :class:`ValueError` unless there is one
    non-negative weight per member and not all are zero."""
    w = np.ones(n_members) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n_members,) or not np.all(w >= 0) or not w.sum() > 0:
        raise ValueError(f"need one non-negative weight per member ({n_members}), not all zero; "
                         f"got {list(w)}")
    return w / w.sum()


def weighted_mean_std(values: np.ndarray, weights: Sequence[float] | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and weighted (population) standard deviation over the first axis of
    ``(members, n)`` values."""
    values = np.asarray(values, dtype=float)
    w = normalized_weights(weights, len(values))[:, None]
    mean = (w * values).sum(axis=0)
    return mean, np.sqrt((w * (values - mean) ** 2).sum(axis=0))
