"""The models ``train.py`` fits, each behind one interface: ``fit(datamodule, run) -> Fitted``.

A ``conf/model/*.yaml`` names its fitter by ``_target_``: :class:`NetworkFitter` (Lightning
training of CGCNN or a head on CHGNet features, best-validation checkpoint) or :class:`BaselineFitter` (a scikit-learn / XGBoost
estimator on the paper's six descriptors). The datamodule supplies what depends on the data (split
members, normaliser, atom table, featurisation); both fitters see the same split members and
return the same per-split results, from which :mod:`moduli.train.outputs` writes the same files.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig

from moduli.baselines.descriptors import describe_all
from moduli.baselines.models import baseline_pipeline
from moduli.core.config import trusted
from moduli.core.errors import UserInputError
from moduli.core.schema import SPLITS, TARGETS
from moduli.data.datamodule import CrystalGraphDataModule
from moduli.models.api import load_checkpoint, read_checkpoint
from moduli.models.kinds import ModelKind
from moduli.models.module import CrystalModule
from moduli.train.outputs import SplitResults

log = logging.getLogger(__name__)


@dataclass
class RunContext:
    """What a fit may use of the run around it: its folder, trainer config, loggers, callbacks."""

    out: Path
    trainer: DictConfig | None = None
    loggers: list = field(default_factory=list)
    callbacks: list = field(default_factory=list)


@dataclass
class Fitted:
    """Per-split (ids, targets, predictions) and extra entries for ``metrics.json``."""

    results: SplitResults
    extra: dict[str, Any] = field(default_factory=dict)


def resume_point(folder: Path) -> Path | None:
    """The checkpoint an interrupted run resumes from: ``last.ckpt``; if that does not read (cut
    off by a kill or a full disk), the newest full ``best-<epoch>.ckpt`` that does, with a warning
    (training is deterministic per epoch, so the run still ends as an uninterrupted one); None
    for a fresh run. No readable one: a :class:`UserInputError` saying what to remove."""
    last = folder / "last.ckpt"
    if not last.is_file():
        return None
    try:
        log.info("resuming from %s (epoch %d done)", last, read_checkpoint(last)["epoch"] + 1)
        return last
    except UserInputError as err:
        problem = err
    for candidate in sorted(folder.glob("best-*.ckpt"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            checkpoint = read_checkpoint(candidate)
        except UserInputError:
            continue
        if "optimizer_states" in checkpoint:
            log.warning("%s is unreadable (%s); resuming from %s (epoch %d done) instead", last,
                        problem, candidate, checkpoint["epoch"] + 1)
            return candidate
    raise UserInputError(f"cannot resume: {problem}, and no earlier full checkpoint in {folder} reads; "
                         f"remove {folder.parent} (or choose another hydra.run.dir) to start afresh")


class NetworkFitter:
    """A network of any kind (``kind``, a :class:`~moduli.models.kinds.ModelKind` that the config
    names by ``_target_``: CGCNN, a head on per-structure features) trained with
    Lightning on the normalised target; predictions of its best-validation checkpoint.

    A ``checkpoints/last.ckpt`` left in the run dir by an earlier, interrupted run of the same
    config is resumed from (weights, optimiser, scheduler, epoch, best-checkpoint tracking).
    Every checkpoint is loaded with ``weights_only=True``.
    """

    def __init__(self, kind: ModelKind, net: dict[str, Any], optimizer: dict[str, Any] | None = None,
                 scheduler: dict[str, Any] | None = None, loss: str = "mse",
                 init_from: str | None = None, freeze_convs: int = 0):
        if "kind" in net:
            raise UserInputError(f"model.net.kind={net['kind']!r}: the kind is chosen by "
                                 "model.kind._target_ (a class of moduli.models.kinds)")
        # Checkpoints and fold tables name the kind inside the network settings, as always.
        self.kind, self.net = kind, {"kind": kind.name, **net}
        self.optimizer, self.scheduler, self.loss = optimizer, scheduler, loss
        self.init_from, self.freeze_convs = init_from, freeze_convs

    @property
    def name(self) -> str:
        return self.kind.name

    def prepare(self, datamodule: CrystalGraphDataModule) -> None:
        """Before the data is set up: the kind adds the inputs its networks read."""
        datamodule.use_inputs(self.kind)

    def module(self, datamodule: CrystalGraphDataModule) -> CrystalModule:
        """A fresh LightningModule sized for the datamodule's atom table and target, its inputs'
        standardisation fitted on the training split (pretrained layers copied from
        ``init_from`` when given)."""
        table = datamodule.featurizer.atom_table.table
        module = CrystalModule(
            net=self.net, featurization=datamodule.featurization.as_dict(),
            target=TARGETS[datamodule.target].describe(), normalizer=datamodule.normalizer().as_dict(),
            atom_table_shape=list(table.shape), optimizer=self.optimizer, scheduler=self.scheduler,
            loss=self.loss, atom_table=torch.from_numpy(table), frozen_convs=self.freeze_convs,
            features=self.kind.input_spec(datamodule.cache_dir))
        self.kind.prepare(module.model, datamodule.graphs["train"])
        if self.init_from:
            copied = self.kind.initialise(module.model, self.init_from, datamodule.data_dir)
            log.info("model.init_from=%s: %d tensors of the pretrained network copied",
                     self.init_from, len(copied))
        return module

    def fit(self, datamodule: CrystalGraphDataModule, run: RunContext) -> Fitted:
        module = self.module(datamodule)
        best_checkpoint = next((c for c in run.callbacks if isinstance(c, ModelCheckpoint) and c.monitor),
                               None)
        if best_checkpoint is None:
            raise ValueError("callbacks must include a ModelCheckpoint that monitors val/mae")
        with trusted():
            trainer: pl.Trainer = instantiate(run.trainer, logger=run.loggers or False,
                                              callbacks=run.callbacks)
        last = run.out / "checkpoints" / "last.ckpt"
        start = resume_point(last.parent)
        trainer.fit(module, datamodule=datamodule, ckpt_path=str(start) if start else None,
                    weights_only=True)
        best_path = best_checkpoint.best_model_path or str(last)
        trainer.test(module, datamodule=datamodule, ckpt_path=best_path, weights_only=True)
        best = load_checkpoint(best_path)
        results = {}
        for split in SPLITS:
            ids, truth = datamodule.split_targets(split)
            results[split] = (ids, truth, best.predict_graphs(datamodule.graphs[split],
                                                              datamodule.featurization))
        where = Path(best_path)
        return Fitted(results, {"best_checkpoint": str(where.relative_to(run.out))
                                if where.is_relative_to(run.out) else best_path, "kind": self.kind.name})


class BaselineFitter:
    """An estimator on the paper's six descriptors (imputed, standardised), fitted on train."""

    name = "baseline"

    def __init__(self, estimator: Any):
        self.pipeline = baseline_pipeline(estimator)

    def prepare(self, datamodule: CrystalGraphDataModule) -> None:
        """Nothing to add: the descriptors come from the records."""

    def fit(self, datamodule: CrystalGraphDataModule, run: RunContext | None = None) -> Fitted:
        data = {}
        for split in SPLITS:
            ids, truth = datamodule.split_targets(split)
            data[split] = (ids, truth, describe_all([datamodule.records[i].structure for i in ids]))
        self.pipeline.fit(data["train"][2], data["train"][1])
        return Fitted({split: (ids, truth, self.pipeline.predict(features) if len(ids) else np.zeros(0))
                       for split, (ids, truth, features) in data.items()})
