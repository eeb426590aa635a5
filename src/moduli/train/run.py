"""``train(cfg)``: one training run (CGCNN or a descriptor baseline) from a Hydra config.

Writes ``config.yaml`` (resolved), ``rejected.csv``, ``checkpoints/``, ``metrics.json``
(train/val/test MAE and R² of the best-validation checkpoint, log10 GPa),
``predictions/{train,val,test}.csv`` and ``parity_{split}.png``; logs the same to the configured
loggers (W&B offline by default). Returns the metric named by ``cfg.optimized_metric`` for sweeps.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import yaml
from hydra.utils import instantiate
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from moduli.core.atomic import atomic_write
from moduli.core.config import ESTIMATOR_TARGETS, trusted
from moduli.core.errors import UserInputError
from moduli.core.records import write_rejections
from moduli.core.signals import RunStopped, stop_on_signals
from moduli.core.schema import SPLITS, TARGETS
from moduli.data.datamodule import CrystalGraphDataModule
from moduli.models.callbacks import StopCheck
from moduli.train.fitters import RunContext
from moduli.train.outputs import report_splits

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> float:
    """Fit the configured model, write the run's files; return ``cfg.optimized_metric``.

    ``cfg.model`` instantiates a fitter (:mod:`moduli.train.fitters`: CGCNN or a descriptor
    baseline); both see the same split members and write the same files. On several devices
    (``trainer.strategy=ddp``) every rank trains and rank 0 alone writes the files, each covering
    every id of its split.
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

    with trusted(*ESTIMATOR_TARGETS):
        datamodule: CrystalGraphDataModule = instantiate(cfg.data)
        model = instantiate(cfg.model)
        # An entry without _target_ holds settings for a logger that is not selected (e.g. the
        # W&B group that hparams_search sets, under logger=csv): nothing to build.
        loggers = [instantiate(c, **resumable_wandb(c, out))
                   for c in (cfg.get("logger") or {}).values() if "_target_" in c]
        callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values()]
    model.prepare(datamodule)
    datamodule.setup("fit")
    check_same_data(out, split_fingerprint(datamodule), write=writer)
    if writer:
        write_rejections(datamodule.rejections, out / "rejected.csv")
    if datamodule.rejections and writer:
        log.warning("%d inputs rejected, see %s", len(datamodule.rejections), out / "rejected.csv")
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    try:
        with stop_on_signals() as stop:
            try:
                fitted = model.fit(datamodule, RunContext(out, cfg.trainer, loggers,
                                                          [*callbacks, StopCheck(stop)]))
            except RunStopped as stop:
                last = out / "checkpoints" / "last.ckpt"
                kept = (f"{last} (the end of the last finished epoch) is kept" if last.is_file()
                        else "no epoch had finished, so nothing is kept")
                raise stop.said(f"during training: {kept}; rerun the same command to resume") from None
        metrics = report_splits(out, fitted.results, TARGETS[cfg.data.target].describe(), write=writer)
        metrics["n/rejected"] = len(datamodule.rejections)
        if not writer:
            return metrics[cfg.optimized_metric]
        atomic_write(out / "metrics.json", lambda tmp: Path(tmp).write_text(
            json.dumps({**metrics, **fitted.extra}, indent=2, sort_keys=True)))
        log.info("%s: %s", model.name,
                 ", ".join(f"{k}={v:.4f}" for k, v in metrics.items() if k.split("/")[0] in SPLITS))
        for logger in loggers:
            logger.log_metrics({f"final/{k}": v for k, v in metrics.items()})
            if hasattr(logger, "log_image"):
                logger.log_image(key="parity", images=[str(out / f"parity_{s}.png") for s in SPLITS],
                                 caption=list(SPLITS))
    finally:
        _finish_wandb()
    return metrics[cfg.optimized_metric]


DATA_FINGERPRINT = "data_fingerprint.json"


def split_fingerprint(datamodule: CrystalGraphDataModule) -> dict[str, Any]:
    """sha256 of the sorted ``split,id,target`` lines (log10 GPa, 6 decimals) of every split, and
    the split sizes: what a resumed run must train on to end as an uninterrupted one."""
    lines, sizes = [], {}
    for split in SPLITS:
        ids, targets = datamodule.split_targets(split)
        sizes[split] = len(ids)
        lines += [f"{split},{i},{t:.6f}" for i, t in zip(ids, targets)]
    digest = hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()
    return {"sha256": digest, "sizes": sizes}


def check_same_data(out: Path, fingerprint: dict[str, Any], write: bool = True) -> None:
    """Record the split's fingerprint in a new run dir; in a resumed one, raise unless the data
    (ids, targets, split) are those the run began on."""
    path = out / DATA_FINGERPRINT
    if path.is_file():
        recorded = json.loads(path.read_text())
        if recorded != fingerprint:
            raise UserInputError(
                f"{out} holds a run on other data (split sizes {recorded.get('sizes')} -> "
                f"{fingerprint['sizes']}, or other ids or targets: the data files changed since the run "
                "began); choose another hydra.run.dir to train on the new data")
    elif write:
        atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(fingerprint, indent=2)))


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
