"""Building objects from config ``_target_``s, from trusted modules only.

Hydra refuses, from 1.5 on, to call ``_target_``s outside a whitelist; every place moduli
instantiates a config goes through :func:`trusted` with the same list, extended where a config
names library classes on purpose (scikit-learn and XGBoost estimators of the baselines).
"""
from __future__ import annotations

from contextlib import AbstractContextManager

from hydra.utils import execution_whitelist

TRUSTED_TARGETS = ["moduli.*", "lightning.pytorch.*"]
ESTIMATOR_TARGETS = ["sklearn.*", "xgboost.*"]


def trusted(*extra: str) -> AbstractContextManager:
    """A context in which Hydra may instantiate moduli's and Lightning's classes (and ``extra``)."""
    return execution_whitelist(TRUSTED_TARGETS + list(extra))
