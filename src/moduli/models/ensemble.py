"""Ensembles of trained networks for one target, and the modulus columns of a prediction table.

An ensemble's value is the weighted mean of its members' log10 predictions (equal weights unless
given, e.g. CGCNN networks and CHGNet-feature heads mixed with a weight chosen on validation);
its spread is the members' weighted standard deviation times ``std_scale``, a calibration factor
fitted on validation data (1 for an ensemble nobody calibrated). Both predict.py and :func:`moduli.predict` fill their B / G columns
through :func:`modulus_columns`, so the two give the same numbers.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pymatgen.core import Structure
from torch_geometric.data import Batch

from moduli.core.schema import MODULI, UNNAMED_MODULUS, target_of
from moduli.core.weighted import normalized_weights, weighted_mean_std
from moduli.models.domain import TrainingDomain, domain_columns
from moduli.graphs.featurizer import Featurization
from moduli.models.api import CrystalModel, featurize_for_prediction, warn_rejected
from moduli.physics.derived import derived_properties


class EnsembleModel:
    """Members that predict the same target under the same featurisation, with weights."""

    def __init__(self, members: Sequence[CrystalModel], std_scale: float = 1.0,
                 name: str | None = None, card: dict[str, Any] | None = None,
                 weights: Sequence[float] | None = None):
        if not members:
            raise ValueError("an ensemble needs at least one member")
        targets = {m.target["name"] for m in members}
        featurizations = {m.featurization for m in members}
        if len(targets) != 1 or len(featurizations) != 1:
            raise ValueError(f"ensemble members must share one target and one featurisation, got "
                             f"targets {sorted(targets)} and {len(featurizations)} featurisations")
        if not std_scale > 0:
            raise ValueError(f"std_scale must be positive, got {std_scale}")
        self.members, self.std_scale = list(members), float(std_scale)
        self.weights = normalized_weights(weights, len(members))
        self.name, self.card = name, card or {}
        # What the members were trained on (a bundled card records it); None: unknown.
        self.domain = TrainingDomain.from_dict(card["domain"]) if card and card.get("domain") else None

    @property
    def kinds(self) -> list:
        """The members' kinds, each once, in member order: each adds the inputs its networks read."""
        return unique_kinds([self])

    def combine(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted mean and ``std_scale`` x weighted std over members of (members, n) values."""
        mean, std = weighted_mean_std(values, self.weights)
        return mean, self.std_scale * std

    @property
    def target(self) -> dict[str, str]:
        return self.members[0].target

    @property
    def featurization(self) -> Featurization:
        return self.members[0].featurization

    @property
    def featurizer(self):
        return self.members[0].featurizer

    def member_predictions(self, batch: Batch) -> np.ndarray:
        """(members, graphs) log10 predictions for one batch on the networks' device."""
        return np.stack([m.predict_batch(batch) for m in self.members])

    def predict(self, structures: Sequence[Structure], return_std: bool = False,
                batch_size: int = 256) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Ensemble mean per structure (log10 GPa); with ``return_std`` also the calibrated std.

        The std is the members' weighted standard deviation of log10 predictions times
        ``std_scale``. Structures the featuriser rejects get NaN and a warning naming them and
        the reason.
        """
        graphs, rejections = featurize_for_prediction(self.featurizer, structures, self.kinds)
        per_member = np.full((len(self.members), len(structures)), np.nan)
        if graphs:
            rows = [int(g.id) for g in graphs]
            device = next(self.members[0].net.parameters()).device
            per_member[:, rows] = np.concatenate(
                [self.member_predictions(Batch.from_data_list(graphs[s:s + batch_size]).to(device))
                 for s in range(0, len(graphs), batch_size)], axis=1)
        warn_rejected(rejections)
        mean, std = self.combine(per_member)
        return (mean, std) if return_std else mean


def unique_kinds(ensembles) -> list:
    """The kinds of the members of ``ensembles``, each once (by name), in member order."""
    kinds = {m.kind.name: m.kind for e in ensembles for m in e.members}
    return list(kinds.values())


def as_ensemble(model: CrystalModel | EnsembleModel) -> EnsembleModel:
    return model if isinstance(model, EnsembleModel) else EnsembleModel([model])


def check_moduli(ensembles: dict[str, EnsembleModel]) -> Featurization:
    """Raise unless ``ensembles`` has a bulk and a shear model of the right targets sharing one
    featurisation; returns that featurisation."""
    if set(ensembles) != set(MODULI):
        raise ValueError(f"need one or more checkpoints for each of {sorted(MODULI)}")
    for prop, ensemble in ensembles.items():
        if ensemble.target["name"] not in (target_of(prop).name, UNNAMED_MODULUS):
            raise ValueError(f"a checkpoint given for {prop} predicts {ensemble.target['name']}")
    featurizations = {e.featurization for e in ensembles.values()}
    if len(featurizations) != 1:
        raise ValueError(f"all checkpoints must share one featurisation, got {featurizations}")
    return featurizations.pop()


def modulus_columns(ensembles: dict[str, EnsembleModel], batch: Batch,
                    cells: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    """B and G in GPa (``*_std`` for ensembles of two or more), the derived properties and the
    domain columns ``in_domain`` (True, False, or None where a model records no training domain)
    and ``domain_note`` (why not; see :mod:`moduli.models.domain`).

    ``cells`` holds each graph's ``density_g_cm3``, ``n_atoms``, ``volume_a3`` and ``mass_amu``
    (primitive cell).
    The value is 10 ** (weighted mean of the members' log10 predictions); the std is the
    members' weighted standard deviation in GPa times the ensemble's ``std_scale``. Graphs must
    carry the inputs of every kind in the ensembles (:func:`unique_kinds`).
    """
    values: dict[str, np.ndarray] = {}
    log10_stds: dict[str, np.ndarray] = {}
    for prop, ensemble in ensembles.items():
        log10 = ensemble.member_predictions(batch)
        column = target_of(prop).column
        mean, log10_stds[prop] = ensemble.combine(log10)
        values[column] = 10.0 ** mean
        if len(ensemble.members) > 1:
            values[f"{column}_std"] = ensemble.combine(10.0 ** log10)[1]
    cell = {k: np.array([c[k] for c in cells], dtype=float)
            for k in ("density_g_cm3", "n_atoms", "volume_a3", "mass_amu")}
    derived = derived_properties(values["bulk_modulus_gpa"], values["shear_modulus_gpa"],
                                 cell["density_g_cm3"], cell["n_atoms"], cell["volume_a3"], cell["mass_amu"])
    in_domain, notes = domain_columns([(p, e.domain) for p, e in ensembles.items()], batch, log10_stds)
    return {**values, **derived, "in_domain": np.array(in_domain, dtype=object),
            "domain_note": np.array(notes, dtype=object)}


def row_values(columns: dict[str, np.ndarray], k: int) -> dict[str, Any]:
    """Row ``k`` of :func:`modulus_columns` as plain Python values (floats, bool or None, str)."""
    return {name: (values[k] if values.dtype == object else float(values[k]))
            for name, values in columns.items()}
