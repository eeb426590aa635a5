"""LightningModule around :class:`CGCNN`: normalised-target regression with MAE / R² per split.

Everything needed to rebuild and use the model is in its hyper-parameters as plain containers
(network sizes, featurisation, target name and units, normaliser mean/std), so a checkpoint is
self-describing and loads under ``weights_only`` torch loading.
"""
from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Batch
from torchmetrics import MeanAbsoluteError, MetricCollection, R2Score

from moduli.core.normalizer import Normalizer
from moduli.core.schema import SPLITS
from moduli.models.cgcnn import CGCNN

LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss}


class CGCNNModule(pl.LightningModule):
    """Trains a CGCNN on ``(target - mean) / std``; metrics and predictions are in target units."""

    def __init__(self, net: dict[str, int], featurization: dict[str, Any], target: dict[str, str],
                 normalizer: dict[str, float], atom_table_shape: list[int],
                 optimizer: dict[str, float] | None = None, scheduler: dict[str, Any] | None = None,
                 loss: str = "mse", atom_table: Tensor | None = None):
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose from {sorted(LOSSES)}")
        self.save_hyperparameters(ignore=["atom_table"])
        table = atom_table if atom_table is not None else torch.zeros(atom_table_shape)
        self.model = CGCNN(table, radius=featurization["radius"],
                           gaussian_step=featurization["gaussian_step"], **net)
        self.normalizer = Normalizer.from_dict(normalizer)
        self.loss_fn = LOSSES[loss]
        self.metrics = torch.nn.ModuleDict({  # keys avoid nn.Module attribute names (train)
            f"{split}_metrics": MetricCollection({"mae": MeanAbsoluteError(), "r2": R2Score()}, prefix=f"{split}/")
            for split in SPLITS})

    def forward(self, batch: Batch) -> Tensor:
        """Predictions in target units (log10 GPa)."""
        return self.normalizer.decode(self.model(batch))

    def _step(self, batch: Batch, split: str) -> Tensor:
        normalised = self.model(batch)
        loss = self.loss_fn(normalised, self.normalizer.encode(batch.y))
        metrics = self.metrics[f"{split}_metrics"]
        metrics.update(self.normalizer.decode(normalised.detach()), batch.y)
        self.log(f"{split}/loss", loss, batch_size=batch.num_graphs, prog_bar=split != "test",
                 on_step=False, on_epoch=True)
        self.log_dict(metrics, batch_size=batch.num_graphs, on_step=False, on_epoch=True,
                      prog_bar=split == "val")
        return loss

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Batch, batch_idx: int) -> Tensor:
        return self._step(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> Tensor:
        return self._step(batch, "test")

    def configure_optimizers(self):
        settings = {"lr": 1e-3, "weight_decay": 0.0, **(self.hparams.optimizer or {})}
        optimizer = torch.optim.Adam(self.parameters(), lr=settings["lr"],
                                     weight_decay=settings["weight_decay"])
        schedule = self.hparams.scheduler
        if not schedule:
            return optimizer
        kind = schedule["name"]
        if kind == "multistep":  # the original CGCNN's schedule
            scheduler = torch.optim.lr_scheduler.MultiStepLR(
                optimizer, milestones=list(schedule["milestones"]), gamma=schedule.get("gamma", 0.1))
        elif kind == "cosine":
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
                optimizer, T_max=self.trainer.max_epochs, eta_min=schedule.get("eta_min", 0.0))
        elif kind == "plateau":
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, factor=schedule.get("factor", 0.5), patience=schedule.get("patience", 10))
            return {"optimizer": optimizer,
                    "lr_scheduler": {"scheduler": scheduler, "monitor": "val/mae"}}
        else:
            raise ValueError(f"unknown scheduler {kind!r}: use multistep, cosine or plateau")
        return {"optimizer": optimizer, "lr_scheduler": scheduler}
