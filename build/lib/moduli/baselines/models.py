"""Scikit-learn pipelines for the baselines: median imputation, then the estimator.

Estimators come from the Hydra ``model`` group (``model=rf`` etc.), each a plain ``_target_``;
SVR gets feature standardisation in front, as it needs.
"""
from __future__ import annotations

from sklearn.base import RegressorMixin
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR


def baseline_pipeline(estimator: RegressorMixin) -> Pipeline:
    steps = [("impute", SimpleImputer(strategy="median"))]
    if isinstance(estimator, SVR):
        steps.append(("scale", StandardScaler()))
    return Pipeline(steps + [("model", estimator)])
