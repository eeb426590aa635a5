"""Bulk and shear ensembles in one LightningModule for ``trainer.predict``."""
from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch

from moduli.models.api import CrystalModel
from moduli.physics.elastic import derived_properties

# What each modulus column is, and which checkpoint targets may fill it.
PROPERTIES = {"bulk": ("bulk_modulus_gpa", {"log10_k_vrh", "log10_modulus"}),
              "shear": ("shear_modulus_gpa", {"log10_g_vrh", "log10_modulus"})}


class EnsemblePredictor(pl.LightningModule):
    """Predicts B and G with one or more models each; rows get means, stds and derived columns.

    The ensemble value is 10 ** (mean of the members' log10 predictions); ``*_std`` is the
    standard deviation of the members' predictions in GPa (only with two or more members).
    """

    def __init__(self, models: dict[str, list[CrystalModel]]):
        super().__init__()
        for prop, members in models.items():
            if prop not in PROPERTIES or not members:
                raise ValueError(f"need one or more checkpoints for each of {sorted(PROPERTIES)}")
            for member in members:
                if member.target["name"] not in PROPERTIES[prop][1]:
                    raise ValueError(f"a checkpoint given for {prop} predicts {member.target['name']}")
        featurizations = {m.featurization for members in models.values() for m in members}
        if len(featurizations) != 1:
            raise ValueError(f"all checkpoints must share one featurisation, got {featurizations}")
        self.featurization = featurizations.pop()
        self.members = {prop: members for prop, members in models.items()}
        self.nets = torch.nn.ModuleDict({prop: torch.nn.ModuleList(m.net for m in members)
                                         for prop, members in models.items()})
        self.nets.eval()

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        rows = [dict(r) for r in batch["rows"]]
        if batch["graphs"] is not None:
            values = {}
            for prop, nets in self.nets.items():
                log10 = np.stack([
                    net(batch["graphs"]).double().cpu().numpy() * m.normalizer["std"] + m.normalizer["mean"]
                    for net, m in zip(nets, self.members[prop])])
                column = PROPERTIES[prop][0]
                values[column] = 10.0 ** log10.mean(axis=0)
                if len(nets) > 1:
                    values[f"{column}_std"] = (10.0 ** log10).std(axis=0)
            derived = derived_properties(values["bulk_modulus_gpa"], values["shear_modulus_gpa"],
                                         np.array([r["density_g_cm3"] for r in rows]),
                                         np.array([r["n_atoms"] for r in rows]),
                                         np.array([r["volume_a3"] for r in rows]))
            for i, (row, seq) in enumerate(zip(rows, batch["seq"].tolist())):
                row["seq"] = seq
                row.update({k: float(v[i]) for k, v in {**values, **derived}.items()})
        return {"rows": rows, "rejected": batch["rejected"]}
