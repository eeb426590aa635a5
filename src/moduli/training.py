"""``train(cfg)``: one training run from a composed Hydra config to files in its run dir.

Writes ``config.yaml`` (resolved), ``rejected.csv``, ``checkpoints/``, ``metrics.json``
(train/val/test MAE and R² of the best-validation checkpoint, log10 GPa),
``predictions/{train,val,test}.csv`` and ``parity_{split}.png``; logs the same to the configured
loggers (W&B offline by default). Returns the metric named by ``cfg.optimized_metric`` for sweeps.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from hydra.utils import execution_whitelist, instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, OmegaConf

from moduli.analysis.metrics import mae, r2
from moduli.analysis.parity import parity_plot
from moduli.data.datamodule import CrystalGraphDataModule
from moduli.data.records import TARGETS, write_rejections
from moduli.models.api import CrystalModel
from moduli.models.module import SPLITS, CGCNNModule

log = logging.getLogger(__name__)

# Config ``_target_``s that train() may instantiate (Hydra refuses others from 1.5 on).
TRUSTED_TARGETS = ["moduli.*", "lightning.pytorch.*"]


def write_json_atomic(data: dict[str, Any], path: Path) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as tmp:
        json.dump(data, tmp, indent=2, sort_keys=True)
    os.replace(tmp.name, path)


def write_predictions(path: Path, ids: list[str], target, prediction) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False,
                                     newline="") as tmp:
        writer = csv.writer(tmp)
        writer.writerow(["id", "target", "prediction"])
        writer.writerows(zip(ids, (f"{t:.6f}" for t in target), (f"{p:.6f}" for p in prediction)))
    os.replace(tmp.name, path)


def build_module(cfg: DictConfig, datamodule: CrystalGraphDataModule) -> CGCNNModule:
    table = datamodule.featurizer.atom_table.table
    return CGCNNModule(
        net=OmegaConf.to_container(cfg.model.net), featurization=datamodule.featurization.as_dict(),
        target={"name": cfg.data.target, **TARGETS[cfg.data.target]},
        normalizer=datamodule.normalizer(), atom_table_shape=list(table.shape),
        optimizer=OmegaConf.to_container(cfg.model.optimizer),
        scheduler=OmegaConf.to_container(cfg.model.scheduler) if cfg.model.scheduler else None,
        loss=cfg.model.loss, atom_table=torch.from_numpy(table))


def evaluate(model: CrystalModel, datamodule: CrystalGraphDataModule, out: Path) -> dict[str, float]:
    """MAE / R² per split in target units; writes predictions CSVs and parity plots.

    Also reports ``dummy/{split}/mae``: the MAE of predicting the training mean, the floor any
    model has to beat.
    """
    metrics: dict[str, float] = {}
    train_mean = float(np.mean([float(g.y) for g in datamodule.graphs["train"]]))
    units = model.target.get("units", "")
    for split in SPLITS:
        graphs = datamodule.graphs[split]
        target = [float(g.y) for g in graphs]
        prediction = model.predict_graphs(graphs, datamodule.featurization)
        write_predictions(out / "predictions" / f"{split}.csv", [g.id for g in graphs], target,
                          prediction)
        metrics[f"{split}/mae"] = mae(target, prediction) if graphs else float("nan")
        metrics[f"{split}/r2"] = r2(target, prediction) if graphs else float("nan")
        metrics[f"n/{split}"] = len(graphs)
        metrics[f"dummy/{split}/mae"] = mae(target, np.full(len(target), train_mean))
        parity_plot(target, prediction, out / f"parity_{split}.png",
                    f"{model.target['name']} — {split}", units)
    return metrics


def train(cfg: DictConfig) -> float:
    """Fit, test the best checkpoint, write the run's files; return ``cfg.optimized_metric``."""
    out = Path(cfg.paths.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    pl.seed_everything(cfg.seed, workers=True)

    with execution_whitelist(TRUSTED_TARGETS):
        datamodule: CrystalGraphDataModule = instantiate(cfg.data)
        loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values()]
        callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values()]
    datamodule.setup("fit")
    write_rejections(datamodule.rejections, out / "rejected.csv")
    if datamodule.rejections:
        log.warning("%d inputs rejected, see %s", len(datamodule.rejections), out / "rejected.csv")

    module = build_module(cfg, datamodule)
    checkpoints = [c for c in callbacks if isinstance(c, ModelCheckpoint)]
    if not checkpoints:
        raise ValueError("callbacks must include a ModelCheckpoint (monitor val/mae)")
    with execution_whitelist(TRUSTED_TARGETS):
        trainer: pl.Trainer = instantiate(cfg.trainer, logger=loggers or False, callbacks=callbacks)
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    try:
        trainer.fit(module, datamodule=datamodule)
        best_path = checkpoints[0].best_model_path or checkpoints[0].last_model_path
        trainer.test(module, datamodule=datamodule, ckpt_path=best_path)

        best = CrystalModel.from_module(CGCNNModule.load_from_checkpoint(best_path, map_location="cpu"))
        metrics = evaluate(best, datamodule, out)
        metrics["n/rejected"] = len(datamodule.rejections)
        write_json_atomic({**metrics, "best_checkpoint": str(Path(best_path).relative_to(out))
                           if Path(best_path).is_relative_to(out) else best_path},
                          out / "metrics.json")
        log.info("best checkpoint %s: %s", best_path,
                 ", ".join(f"{k}={v:.4f}" for k, v in metrics.items() if k.split("/")[0] in SPLITS))
        for logger in loggers:
            logger.log_metrics({f"final/{k}": v for k, v in metrics.items()})
            if hasattr(logger, "log_image"):
                logger.log_image(key="parity", images=[str(out / f"parity_{s}.png") for s in SPLITS],
                                 caption=list(SPLITS))
    finally:
        _finish_wandb()
    return metrics[cfg.optimized_metric]


def _finish_wandb() -> None:
    """End the W&B run so every run of a multirun becomes its own W&B run."""
    try:
        import wandb
    except ImportError:
        return
    if wandb.run is not None:
        wandb.finish()
