"""Train / validation / test splits over record ids, reproducible in any implementation.

Two protocols:
- random: a seeded permutation cut by fractions (default 0.8 / 0.1 / 0.1);
- Matbench: ``KFold(n_splits=5, shuffle=True, random_state=18012019)`` over the records in order
  gives the test fold; a seeded 10 % of the remaining records is the validation set. For the
  Matbench tasks themselves the official fold ids (shipped with the ``matbench`` package) are used.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.model_selection import KFold

MATBENCH_SEED = 18012019
MATBENCH_FOLDS = 5

Split = dict[str, list[str]]


def random_split(ids: Sequence[str], fractions: Sequence[float], seed: int) -> Split:
    """Seeded random train/val/test split; ``fractions`` must sum to 1."""
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    order = np.random.default_rng(seed).permutation(len(ids))
    n_train = int(round(fractions[0] * len(ids)))
    n_val = int(round(fractions[1] * len(ids)))
    pick = lambda idx: [ids[i] for i in sorted(idx)]  # noqa: E731 - keep record order inside a split
    return {"train": pick(order[:n_train]), "val": pick(order[n_train:n_train + n_val]),
            "test": pick(order[n_train + n_val:])}


def matbench_test_folds(ids: Sequence[str]) -> list[list[str]]:
    """The five Matbench test folds over ``ids`` in the given order."""
    kfold = KFold(n_splits=MATBENCH_FOLDS, shuffle=True, random_state=MATBENCH_SEED)
    return [[ids[i] for i in test] for _, test in kfold.split(np.arange(len(ids)))]


def official_matbench_test_folds(task: str) -> list[list[str]]:
    """Matbench's own fold ids for ``task`` (from the installed ``matbench`` package)."""
    import matbench

    path = Path(matbench.__file__).parent / "matbench_v0.1_validation.json"
    with open(path) as handle:
        splits = json.load(handle)["splits"][task]
    return [splits[f"fold_{k}"]["test"] for k in range(MATBENCH_FOLDS)]


def fold_split(ids: Sequence[str], fold: int, seed: int, val_fraction: float = 0.1,
               test_folds: list[list[str]] | None = None) -> Split:
    """Matbench protocol: fold ``fold`` is the test set, a seeded ``val_fraction`` of the rest is val."""
    if not 0 <= fold < MATBENCH_FOLDS:
        raise ValueError(f"fold must be in 0..{MATBENCH_FOLDS - 1}, got {fold}")
    test = set((test_folds or matbench_test_folds(ids))[fold])
    rest = [i for i in ids if i not in test]
    order = np.random.default_rng(seed).permutation(len(rest))
    val = set(rest[i] for i in order[:int(round(val_fraction * len(rest)))])
    return {"train": [i for i in rest if i not in val], "val": [i for i in rest if i in val],
            "test": [i for i in ids if i in test]}
