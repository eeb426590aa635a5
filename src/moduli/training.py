"""``train(cfg)``: one training run (CGCNN or a descriptor baseline) from a Hydra config.

Writes ``config.yaml`` (resolved), ``rejected.csv``, ``checkpoints/``, ``metrics.json``
(train/val/test MAE and R² of the best-validation checkpoint, log10 GPa),
``predictions/{train,val,test}.csv`` and ``parity_{split}.png``; logs the same to the configured
loggers (W&B offline by default). Returns the metric named by ``cfg.optimized_metric`` for sweeps.
"""
from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from hydra.utils import execution_whitelist, instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, OmegaConf

from moduli.analysis.metrics import mae, r2
from moduli.atomic import atomic_write
from moduli.analysis.parity import parity_plot
from moduli.baselines.descriptors import describe_all
from moduli.baselines.models import baseline_pipeline
from moduli.data.datamodule import CrystalGraphDataModule
from moduli.data.records import TARGETS, write_rejections
from moduli.models.api import CrystalModel
from moduli.models.module import SPLITS, CGCNNModule

log = logging.getLogger(__name__)

# Config ``_target_``s that train() may instantiate (Hydra refuses others from 1.5 on).
TRUSTED_TARGETS = ["moduli.*", "lightning.pytorch.*"]


def write_predictions(path: Path, ids: list[str], target, prediction) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "target", "prediction"])
            writer.writerows(zip(ids, (f"{t:.6f}" for t in target), (f"{p:.6f}" for p in prediction)))

    atomic_write(path, write)


def build_module(cfg: DictConfig, datamodule: CrystalGraphDataModule) -> CGCNNModule:
    table = datamodule.featurizer.atom_table.table
    return CGCNNModule(
        net=OmegaConf.to_container(cfg.model.net), featurization=datamodule.featurization.as_dict(),
        target={"name": cfg.data.target, **TARGETS[cfg.data.target]},
        normalizer=datamodule.normalizer(), atom_table_shape=list(table.shape),
        optimizer=OmegaConf.to_container(cfg.model.optimizer),
        scheduler=OmegaConf.to_container(cfg.model.scheduler) if cfg.model.scheduler else None,
        loss=cfg.model.loss, atom_table=torch.from_numpy(table))


def report_splits(out: Path, results: dict[str, tuple[list[str], np.ndarray, np.ndarray]],
                  target: dict[str, str]) -> dict[str, float]:
    """MAE / R² per split from (ids, targets, predictions); writes predictions CSVs and parity plots.

    Also reports ``dummy/{split}/mae``: the MAE of predicting the training mean, the floor any
    model has to beat.
    """
    metrics: dict[str, float] = {}
    train_mean = float(np.mean(results["train"][1]))
    for split in SPLITS:
        ids, truth, prediction = results[split]
        write_predictions(out / "predictions" / f"{split}.csv", ids, truth, prediction)
        metrics[f"{split}/mae"] = mae(truth, prediction) if len(ids) else float("nan")
        metrics[f"{split}/r2"] = r2(truth, prediction) if len(ids) else float("nan")
        metrics[f"n/{split}"] = len(ids)
        metrics[f"dummy/{split}/mae"] = (mae(truth, np.full(len(truth), train_mean)) if len(ids)
                                         else float("nan"))
        parity_plot(truth, prediction, out / f"parity_{split}.png", f"{target['name']} — {split}",
                    target.get("units", ""))
    return metrics


def split_targets(datamodule: CrystalGraphDataModule, split: str) -> tuple[list[str], np.ndarray]:
    graphs = datamodule.graphs[split]
    return [g.id for g in graphs], np.array([float(g.y) for g in graphs])


def fit_cgcnn(cfg: DictConfig, datamodule: CrystalGraphDataModule, loggers: list, callbacks: list,
              out: Path) -> tuple[dict[str, tuple], dict[str, Any]]:
    """Train CGCNN, test its best-validation checkpoint; (per-split results, extra metrics)."""
    module = build_module(cfg, datamodule)
    checkpoints = [c for c in callbacks if isinstance(c, ModelCheckpoint)]
    if not checkpoints:
        raise ValueError("callbacks must include a ModelCheckpoint (monitor val/mae)")
    with execution_whitelist(TRUSTED_TARGETS):
        trainer: pl.Trainer = instantiate(cfg.trainer, logger=loggers or False, callbacks=callbacks)
    trainer.fit(module, datamodule=datamodule)
    best_path = checkpoints[0].best_model_path or checkpoints[0].last_model_path
    trainer.test(module, datamodule=datamodule, ckpt_path=best_path)
    best = CrystalModel.from_module(CGCNNModule.load_from_checkpoint(best_path, map_location="cpu"))
    results = {}
    for split in SPLITS:
        ids, truth = split_targets(datamodule, split)
        results[split] = (ids, truth, best.predict_graphs(datamodule.graphs[split],
                                                          datamodule.featurization))
    where = Path(best_path)
    return results, {"best_checkpoint": str(where.relative_to(out)) if where.is_relative_to(out)
                     else best_path}


def fit_baseline(cfg: DictConfig, datamodule: CrystalGraphDataModule) -> dict[str, tuple]:
    """Fit a descriptor baseline on the same split members as CGCNN; per-split results."""
    with execution_whitelist(["sklearn.*", "xgboost.*"]):
        pipeline = baseline_pipeline(instantiate(cfg.model.estimator))
    data = {}
    for split in SPLITS:
        ids, truth = split_targets(datamodule, split)
        data[split] = (ids, truth, describe_all([datamodule.records[i].structure for i in ids]))
    pipeline.fit(data["train"][2], data["train"][1])
    return {split: (ids, truth, pipeline.predict(features) if len(ids) else np.zeros(0))
            for split, (ids, truth, features) in data.items()}


def train(cfg: DictConfig) -> float:
    """Fit the configured model, write the run's files; return ``cfg.optimized_metric``.

    ``model.kind`` is ``cgcnn`` (Lightning training, best-validation checkpoint) or ``baseline``
    (a scikit-learn / XGBoost estimator on the paper's six descriptors); both see the same split
    members and write the same files.
    """
    out = Path(cfg.paths.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    pl.seed_everything(cfg.seed, workers=True)

    with execution_whitelist(TRUSTED_TARGETS):
        datamodule: CrystalGraphDataModule = instantiate(cfg.data)
        # An entry without _target_ holds settings for a logger that is not selected (e.g. the
        # W&B group that hparams_search sets, under logger=csv): nothing to build.
        loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if "_target_" in c]
        callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values()]
    datamodule.setup("fit")
    write_rejections(datamodule.rejections, out / "rejected.csv")
    if datamodule.rejections:
        log.warning("%d inputs rejected, see %s", len(datamodule.rejections), out / "rejected.csv")
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    target = {"name": cfg.data.target, **TARGETS[cfg.data.target]}
    try:
        if cfg.model.kind == "cgcnn":
            results, extra = fit_cgcnn(cfg, datamodule, loggers, callbacks, out)
        elif cfg.model.kind == "baseline":
            results, extra = fit_baseline(cfg, datamodule), {}
        else:
            raise ValueError(f"unknown model.kind {cfg.model.kind!r}: use cgcnn or baseline")
        metrics = report_splits(out, results, target)
        metrics["n/rejected"] = len(datamodule.rejections)
        atomic_write(out / "metrics.json", lambda tmp: Path(tmp).write_text(
            json.dumps({**metrics, **extra}, indent=2, sort_keys=True)))
        log.info("%s: %s", cfg.model.kind,
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
