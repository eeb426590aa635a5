"""LightningModule for every model kind: normalised-target regression with MAE / R² per split.

The network comes from its kind (:mod:`moduli.models.kinds`, named by the checkpoint's
``net.kind``); what the
module adds is the same for all: loss, optimiser, learning-rate schedules, metrics, the random
state kept in checkpoints.

Everything needed to rebuild and use the model is in its hyper-parameters as plain containers
(network sizes, featurisation, target name and units, normaliser mean/std), so a checkpoint is
self-describing and loads under ``weights_only`` torch loading.
"""
from __future__ import annotations

import math
from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Batch
from torchmetrics import MeanAbsoluteError, MetricCollection, R2Score

from moduli.core.normalizer import Normalizer
from moduli.core.schema import SPLITS
from moduli.models.kinds import kind_of, network_sizes

LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss}


RNG_KEY = "moduli_rng_states"  # the checkpoint entry holding the random state at the epoch's end


class CrystalModule(pl.LightningModule):
    """Trains a network of any kind on ``(target - mean) / std``; metrics and predictions are in
    target units.

    ``features`` records what per-structure features a head reads (the featuriser's ``spec``:
    foundation model, package and weights version, definition), so that loading it beside other
    features is a clear error."""

    def __init__(self, net: dict[str, int], featurization: dict[str, Any], target: dict[str, str],
                 normalizer: dict[str, float], atom_table_shape: list[int],
                 optimizer: dict[str, float] | None = None, scheduler: dict[str, Any] | None = None,
                 loss: str = "mse", atom_table: Tensor | None = None, frozen_convs: int = 0,
                 features: dict[str, Any] | None = None):
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose from {sorted(LOSSES)}")
        self.save_hyperparameters(ignore=["atom_table"])
        table = atom_table if atom_table is not None else torch.zeros(atom_table_shape)
        self.kind = kind_of(net)
        self.model = self.kind.build_network(network_sizes(net), table, featurization)
        self.kind.freeze(self.model, frozen_convs)
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

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep the random state (dropout masks, DataLoader worker seeds draw from it), so that a
        killed run resumed from ``last.ckpt`` continues exactly as the uninterrupted one."""
        checkpoint[RNG_KEY] = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            checkpoint[RNG_KEY]["cuda"] = torch.cuda.get_rng_state_all()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get(RNG_KEY)
        # Only when a trainer resumes: loading weights to predict must not reset the caller's RNG.
        if state is None or self._trainer is None:  # (None also: older or slim checkpoints)
            return
        torch.set_rng_state(state["torch"])
        if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(state["cuda"])

    def configure_optimizers(self):
        """``optimizer``: ``name`` (adam, adamw), ``lr``, ``weight_decay`` and ``pretrained_lr_scale``
        (the learning rate of pretrained layers relative to the rest, where the kind has such
        layers: CGCNN's embedding and convolutions). ``scheduler``: see :func:`make_scheduler`."""
        settings = {"name": "adam", "lr": 1e-3, "weight_decay": 0.0, "pretrained_lr_scale": 1.0,
                    **(self.hparams.optimizer or {})}
        if settings["name"] not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {settings['name']!r}; choose from {sorted(OPTIMIZERS)}")
        groups = self.kind.parameter_groups(self.model, settings["lr"], settings["pretrained_lr_scale"])
        optimizer = OPTIMIZERS[settings["name"]](groups, lr=settings["lr"],
                                                 weight_decay=settings["weight_decay"])
        if not self.hparams.scheduler:
            return optimizer
        return {"optimizer": optimizer,
                "lr_scheduler": make_scheduler(optimizer, dict(self.hparams.scheduler), self.trainer)}


OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
def make_scheduler(optimizer, schedule: dict[str, Any], trainer) -> dict[str, Any]:
    """The learning-rate schedule ``{name: ...}``, as a Lightning ``lr_scheduler`` entry.

    - ``multistep`` (the original CGCNN's): ``milestones`` (epochs), ``gamma``;
    - ``cosine``: cosine decay over ``max_epochs`` to ``eta_min``;
    - ``warmup_cosine``: linear warm-up over ``warmup_epochs`` (default 5), then cosine decay to
      ``eta_min_ratio`` (default 0) of the peak, per epoch;
    - ``onecycle``: one-cycle over every optimisation step (``pct_start`` 0.1, peak = ``lr``);
    - ``plateau``: halve (``factor``) after ``patience`` epochs without a better val/mae.
    """
    kind, epochs = schedule["name"], trainer.max_epochs
    if kind == "multistep":
        return {"scheduler": torch.optim.lr_scheduler.MultiStepLR(
            optimizer, milestones=list(schedule["milestones"]), gamma=schedule.get("gamma", 0.1))}
    if kind == "cosine":
        return {"scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=epochs, eta_min=schedule.get("eta_min", 0.0))}
    if kind == "warmup_cosine":
        warmup, floor = schedule.get("warmup_epochs", 5), schedule.get("eta_min_ratio", 0.0)

        def factor(epoch: int) -> float:
            if epoch < warmup:
                return (epoch + 1) / warmup
            progress = (epoch - warmup) / max(1, epochs - warmup)
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

        return {"scheduler": torch.optim.lr_scheduler.LambdaLR(optimizer, factor)}
    if kind == "onecycle":
        return {"scheduler": torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=[g["lr"] for g in optimizer.param_groups],
            total_steps=int(trainer.estimated_stepping_batches), pct_start=schedule.get("pct_start", 0.1)),
            "interval": "step"}
    if kind == "plateau":
        return {"scheduler": torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=schedule.get("factor", 0.5), patience=schedule.get("patience", 10)),
            "monitor": "val/mae"}
    raise ValueError(f"unknown scheduler {kind!r}: use multistep, cosine, warmup_cosine, onecycle or plateau")
