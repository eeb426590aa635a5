"""``train(cfg)``: one training run (CGCNN or a descriptor baseline) from a Hydra config.

Writes ``config.yaml`` (resolved), ``rejected.csv``, ``checkpoints/``, ``metrics.json``
(train/val/test MAE and R² of the best-validation checkpoint, log10 GPa),
``predictions/{train,val,test}.csv`` and ``parity_{split}.png``; logs the same to the configured
loggers (W&B offline by default). Returns the metric named by ``cfg.optimized_metric`` for sweeps.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
import yaml
from hydra.utils import execution_whitelist, instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from moduli.analysis.metrics import mae, r2
from moduli.atomic import atomic_write
from moduli.analysis.parity import parity_plot
from moduli.baselines.descriptors import describe_all
from moduli.baselines.models import baseline_pipeline
from moduli.errors import UserInputError
from moduli.data.datamodule import CrystalGraphDataModule
from moduli.data.records import TARGETS, write_rejections
from moduli.models.api import load_checkpoint, read_checkpoint
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
                  target: dict[str, str], write: bool = True) -> dict[str, float]:
    """MAE / R² per split from (ids, targets, predictions); writes predictions CSVs and parity
    plots (unless ``write`` is false: the other ranks of a multi-device run).

    Also reports ``dummy/{split}/mae``: the MAE of predicting the training mean, the floor any
    model has to beat.
    """
    metrics: dict[str, float] = {}
    train_mean = float(np.mean(results["train"][1]))
    for split in SPLITS:
        ids, truth, prediction = results[split]
        if write:
            write_predictions(out / "predictions" / f"{split}.csv", ids, truth, prediction)
            parity_plot(truth, prediction, out / f"parity_{split}.png", f"{target['name']} — {split}",
                        target.get("units", ""))
        metrics[f"{split}/mae"] = mae(truth, prediction) if len(ids) else float("nan")
        metrics[f"{split}/r2"] = r2(truth, prediction) if len(ids) else float("nan")
        metrics[f"n/{split}"] = len(ids)
        metrics[f"dummy/{split}/mae"] = (mae(truth, np.full(len(truth), train_mean)) if len(ids)
                                         else float("nan"))
    return metrics


def split_targets(datamodule: CrystalGraphDataModule, split: str) -> tuple[list[str], np.ndarray]:
    graphs = datamodule.graphs[split]
    return [g.id for g in graphs], np.array([float(g.y) for g in graphs])


def fit_cgcnn(cfg: DictConfig, datamodule: CrystalGraphDataModule, loggers: list, callbacks: list,
              out: Path) -> tuple[dict[str, tuple], dict[str, Any]]:
    """Train CGCNN, test its best-validation checkpoint; (per-split results, extra metrics).

    A ``checkpoints/last.ckpt`` left in the run dir by an earlier, interrupted run of the same
    config is resumed from (weights, optimiser, scheduler, epoch, best-checkpoint tracking).
    Every checkpoint is loaded with ``weights_only=True``.
    """
    module = build_module(cfg, datamodule)
    checkpoints = [c for c in callbacks if isinstance(c, ModelCheckpoint)]
    best_checkpoint = next((c for c in checkpoints if c.monitor), None)
    if best_checkpoint is None:
        raise ValueError("callbacks must include a ModelCheckpoint that monitors val/mae")
    with execution_whitelist(TRUSTED_TARGETS):
        trainer: pl.Trainer = instantiate(cfg.trainer, logger=loggers or False, callbacks=callbacks)
    last = out / "checkpoints" / "last.ckpt"
    if last.is_file():
        log.info("resuming from %s (epoch %d done)", last, read_checkpoint(last)["epoch"] + 1)
    trainer.fit(module, datamodule=datamodule, ckpt_path=str(last) if last.is_file() else None,
                weights_only=True)
    best_path = best_checkpoint.best_model_path or str(last)
    trainer.test(module, datamodule=datamodule, ckpt_path=best_path, weights_only=True)
    best = load_checkpoint(best_path)
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
    members and write the same files. On several devices (``trainer.strategy=ddp``) every rank
    trains and rank 0 alone writes the files, each covering every id of its split.
    """
    writer = rank_zero_only.rank == 0
    out = Path(cfg.paths.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if (out / "config.yaml").is_file():
        check_same_run(out / "config.yaml", cfg)
        if (out / "metrics.json").is_file():
            metrics = json.loads((out / "metrics.json").read_text())
            log.info("%s holds a finished run of this config, not retrained: %s", out,
                     ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()
                               if k.split("/")[0] in SPLITS and isinstance(v, float)))
            return metrics[cfg.optimized_metric]
    if writer:
        atomic_write(out / "config.yaml", lambda tmp: Path(tmp).write_text(OmegaConf.to_yaml(cfg, resolve=True)))
    pl.seed_everything(cfg.seed, workers=True)

    with execution_whitelist(TRUSTED_TARGETS):
        datamodule: CrystalGraphDataModule = instantiate(cfg.data)
        # An entry without _target_ holds settings for a logger that is not selected (e.g. the
        # W&B group that hparams_search sets, under logger=csv): nothing to build.
        loggers = [instantiate(c, **resumable_wandb(c, out))
                   for c in (cfg.get("logger") or {}).values() if "_target_" in c]
        callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values()]
    datamodule.setup("fit")
    if writer:
        write_rejections(datamodule.rejections, out / "rejected.csv")
    if datamodule.rejections and writer:
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
        metrics = report_splits(out, results, target, write=writer)
        metrics["n/rejected"] = len(datamodule.rejections)
        if not writer:
            return metrics[cfg.optimized_metric]
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


# Settings that do not change what a run computes: a rerun may differ in them and still resume.
PRESENTATION_KEYS = ("trainer.enable_progress_bar", "callbacks.epoch_log.always")


def check_same_run(config_file: Path, cfg: DictConfig) -> None:
    """Raise unless ``cfg`` is the config of the run recorded in ``config_file`` (its run dir is
    resumed or reported, never overwritten by another run's files)."""
    before = OmegaConf.create(yaml.safe_load(config_file.read_text()))
    now = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    for key in PRESENTATION_KEYS:
        for conf in (before, now):
            if OmegaConf.select(conf, key) is not None:
                OmegaConf.update(conf, key, None)
    if before != now:
        changed = sorted(_differences(OmegaConf.to_container(before), OmegaConf.to_container(now)))
        raise UserInputError(f"{config_file.parent} holds a run of another config (differs in "
                         f"{', '.join(changed[:8])}); rerun with the same settings to resume it, "
                         "or choose another hydra.run.dir")


def _differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in a.keys() | b.keys()
                for d in _differences(a.get(k), b.get(k), f"{prefix}{k}.")]
    return [] if a == b else [prefix.rstrip(".")]


def resumable_wandb(logger_cfg: DictConfig, out: Path) -> dict[str, Any]:
    """For a W&B logger: a run id fixed by the run dir, so a resumed run continues its W&B run."""
    if not str(logger_cfg.get("_target_", "")).endswith("WandbLogger") or logger_cfg.get("id"):
        return {}
    return {"id": hashlib.sha1(str(out.resolve()).encode()).hexdigest()[:16], "resume": "allow"}


def _finish_wandb() -> None:
    """End the W&B run so every run of a multirun becomes its own W&B run."""
    try:
        import wandb
    except ImportError:
        return
    if wandb.run is not None:
        wandb.finish()
