"""Bulk and shear ensembles in one LightningModule for ``trainer.predict``."""
from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch

from moduli.models.ensemble import EnsembleModel, check_moduli, modulus_columns, row_values


class EnsemblePredictor(pl.LightningModule):
    """Predicts B and G with an ensemble each; rows get values, stds and derived columns.

    The values come from :func:`moduli.models.ensemble.modulus_columns`, the same function
    :func:`moduli.predict` uses. The networks are registered as submodules so that Lightning
    moves them to the device of each rank.
    """

    def __init__(self, ensembles: dict[str, EnsembleModel]):
        super().__init__()
        self.featurization = check_moduli(ensembles)
        self.ensembles = ensembles
        self.nets = torch.nn.ModuleDict({prop: torch.nn.ModuleList(m.net for m in e.members)
                                         for prop, e in ensembles.items()})
        self.nets.eval()

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        rows = [dict(r) for r in batch["rows"]]
        if batch["graphs"] is not None:
            columns = modulus_columns(self.ensembles, batch["graphs"], rows)
            for i, (row, seq) in enumerate(zip(rows, batch["seq"].tolist())):
                row["seq"] = seq
                row.update(row_values(columns, i))
        return {"rows": rows, "rejected": batch["rejected"]}
