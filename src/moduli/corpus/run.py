"""``predict(cfg)``: stream a corpus, screen it, predict B and G in chunks, write one table.

Three named stages, one module each: :mod:`~moduli.corpus.stream` (stream and screen, cut into
chunks) -> :mod:`~moduli.corpus.chunks` (run each chunk: markers, resume, barrier) ->
:mod:`~moduli.corpus.finalise` (schema, merge, rejections, summary, figures). Stage names for
rejections are :class:`moduli.core.schema.Stage`.

Writes into the run dir: ``predictions.parquet`` (and ``predictions.csv`` with
``write_csv=true``), ``rejected.csv`` (id, stage, reason), ``screening.json`` (rules and the
count left after each stage), ``figures/`` (corpus statistics, moduli maps and derived-property
distributions as PNG + SVG with ``summary.md``; also logged to W&B as images) and ``shards/``
(per-chunk, per-rank pieces that make the run resumable). Runs on one CPU or, through Lightning DDP, on many devices.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.accelerators import CPUAccelerator
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from moduli.core.config import trusted
from moduli.core.assets import sha256_of
from moduli.core.errors import MissingInputError, UserInputError
from moduli.core.lock import run_lock
from moduli.core.signals import RunStopped, StopRequest, stop_on_signals
from moduli.core.schema import MODULI
from moduli.models.callbacks import StopCheck
from moduli.models.registry import available_models, model_card
from moduli.models.kinds.base import InputOptions
from moduli.models.table import DEFAULT_MODELS, prediction_options, resolve_models
from moduli.corpus.chunks import ChunkRunner
from moduli.corpus.predictor import EnsemblePredictor
from moduli.corpus.finalise import check_table_path, finalise, remove_leftovers
from moduli.corpus.fingerprint import (FINGERPRINT, compare_fingerprint, discard_run, record_fingerprint,
                                       run_fingerprint)
from moduli.corpus.progress import StructureProgress
from moduli.corpus.readers import CorpusEntry
from moduli.corpus.screening import ScreenRules
from moduli.corpus.stream import ScreenedStream
from moduli.corpus.writer import ShardWriter

log = logging.getLogger(__name__)


def _given(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in (value if isinstance(value, (list, tuple)) or OmegaConf.is_list(value) else [value])]


def _provenance(given: str) -> dict[str, Any]:
    """What a ckpt entry named: a bundled ensemble with its members' sha256, or a file's sha256."""
    if given in available_models():
        return {"name": given, "members": [{"file": m["file"], "sha256": m["sha256"]}
                                           for m in model_card(given)["members"]]}
    return {"path": given, "sha256": sha256_of(given)}


def model_names(cfg: DictConfig) -> dict[str, list[str]]:
    """The bulk and shear entries ``cfg.ckpt`` names (unset: the bundled defaults), each checked
    to be a bundled model or a file, so a typo stops the run before any model loads."""
    given = {prop: _given(cfg.ckpt.get(prop)) or [DEFAULT_MODELS[prop]] for prop in MODULI}
    bundled = available_models()
    for prop, entries in given.items():
        for entry in entries:
            if entry not in bundled and not Path(entry).is_file():
                raise MissingInputError(f"{prop} model {entry!r} is neither a checkpoint file nor a "
                                        f"bundled model; bundled models: {', '.join(bundled)}")
    return given


def provenance_of(given: dict[str, list[str]]) -> dict[str, list[dict[str, Any]]]:
    """Where each model of :func:`model_names` comes from, with sha256s (no model is loaded)."""
    return {prop: [_provenance(g) for g in entries] for prop, entries in given.items()}


def load_ensemble(cfg: DictConfig, models: dict[str, list[dict[str, Any]]]) -> EnsemblePredictor:
    """The bulk and shear ensembles of ``cfg.ckpt`` (see :func:`moduli.models.table.resolve_models`;
    unset: the bundled ensembles), each logged with where it came from (``models``, from
    :func:`provenance_of`)."""
    given = model_names(cfg)
    ensembles = resolve_models(given["bulk"], given["shear"], cfg.paths.data_dir)
    for prop, entries in models.items():
        log.info("%s modulus: %s", prop, "; ".join(
            f"{p['name']} ({', '.join(m['sha256'][:12] for m in p['members'])})" if "name" in p
            else f"{p['path']} ({p['sha256'][:12]})" for p in entries))
    return EnsemblePredictor(ensembles)


def features_on(cfg: DictConfig) -> str:
    """``features_on`` (auto, device or workers), checked."""
    where = cfg.get("features_on", "auto")
    if where not in ("auto", "device", "workers"):
        raise UserInputError(f"features_on={where}: choose auto, device or workers")
    return where


def feature_options(cfg: DictConfig, trainer: pl.Trainer) -> InputOptions:
    """The feature cache (``cache``: true, the training cache under ``paths.cache_dir``; false:
    none) and where foundation-model features are computed (``features_on``): ``device``, in
    batches by the predicting module; ``workers``, one structure at a time in the DataLoader
    workers; ``auto``, on the device where it is an accelerator, else in the workers (on CPU cores,
    separate worker processes beat one batched pass: ``benchmarks/predict.py``)."""
    where = features_on(cfg)
    on_device = where == "device" or (where == "auto" and not isinstance(trainer.accelerator, CPUAccelerator))
    cache = cfg.get("cache", True)
    options = prediction_options(cfg.paths.cache_dir if cache is True else cache, on_device)
    log.info("foundation-model features: computed %s; cache %s",
             "in batches on the device" if on_device else "in the workers", options.cache_dir or "off")
    return options


def open_corpus(cfg: DictConfig) -> Iterator[CorpusEntry]:
    """The corpus's entries, its first one read already: a missing setting, file or column is a
    :class:`UserInputError` here, before any model loads."""
    missing = sorted(k.removeprefix("corpus.") for k in OmegaConf.missing_keys(cfg.corpus))
    if missing:
        name = cfg.corpus._target_.rsplit(".", 1)[-1].removeprefix("read_")
        raise UserInputError(f"corpus={name} needs {' '.join(f'corpus.{k}=...' for k in missing)}")
    with trusted():
        entries = iter(instantiate(cfg.corpus)())
    first = next(entries, None)
    return entries if first is None else itertools.chain([first], entries)


def screen_rules(cfg: DictConfig) -> ScreenRules:
    try:
        return ScreenRules(**OmegaConf.to_container(cfg.screen, resolve=True))
    except (TypeError, ValueError) as err:
        raise UserInputError(f"screen settings: {err}") from err


# What a run dir holds before its first chunk: Hydra's config copy, the log, the fingerprint.
RUN_START_FILES = {".hydra", "predict.log", FINGERPRINT}


def discard_refused_run(out: Path, up_to: Path | None = None) -> None:
    """Remove a run dir that holds nothing but what the start of a refused run wrote, and the
    folders above it up to ``up_to`` that this leaves empty, so a mistake in what was asked
    leaves nothing behind; a dir with any work in it is kept."""
    if not (out.is_dir() and {p.name for p in out.iterdir()} <= RUN_START_FILES):
        return
    shutil.rmtree(out, ignore_errors=True)
    if up_to is None or up_to.resolve() not in out.resolve().parents:
        return
    for parent in out.resolve().parents:
        if parent == up_to.resolve().parent or any(parent.iterdir()):
            break
        parent.rmdir()


def quiet_lightning() -> None:
    """No Lightning banners ("GPU available", "💡 Tip") on the console: a prediction run logs
    what it does itself."""
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero",
                 "lightning.pytorch.accelerators.cuda", "lightning.fabric.utilities.distributed"):
        logging.getLogger(name).setLevel(logging.WARNING)


def is_main_process() -> bool:
    """False in the processes Lightning's DDP launcher starts for ranks 1, 2, ..."""
    return int(os.environ.get("LOCAL_RANK", 0)) == 0 and int(os.environ.get("NODE_RANK", 0)) == 0


def predict(cfg: DictConfig) -> dict[str, Any]:
    """Run the three stages; returns the screening summary (also in ``screening.json``).

    Everything that can be checked from the settings (the corpus, the screen, the model names,
    the output table's extension, the run dir's fingerprint and lock) is checked before the run
    dir is written or a model loads. SIGTERM / SIGINT stop the run with every finished chunk kept
    (:class:`~moduli.core.signals.RunStopped`).
    """
    rules = screen_rules(cfg)
    features_on(cfg)
    if cfg.get("table"):
        check_table_path(cfg.table)
    models = provenance_of(model_names(cfg))
    entries = open_corpus(cfg)
    out = Path(cfg.paths.output_dir)
    fingerprint = run_fingerprint(cfg, models, rules.describe())
    main = is_main_process()
    if main and not cfg.get("resume", True):
        discard_run(out)
    resumes = compare_fingerprint(out, fingerprint)
    out.mkdir(parents=True, exist_ok=True)
    with run_lock(out) if main else contextlib.nullcontext(), stop_on_signals() as stop:
        if main and not resumes:
            record_fingerprint(out, fingerprint)
        return _run(cfg, out, entries, rules, models, stop, resumes)


def _run(cfg: DictConfig, out: Path, entries: Iterator[CorpusEntry], rules: ScreenRules,
         models: dict[str, list[dict[str, Any]]], stop: StopRequest, resumes: bool) -> dict[str, Any]:
    quiet_lightning()
    log.info("screen: %s", rules.summary())
    if resumes:
        log.info("resuming the run in %s (same corpus, models and settings)", out)
    # The main process runs the networks while DataLoader workers parse and featurise: on CPU,
    # leave the workers their cores (oversubscribed cores cost a third of the throughput here).
    torch.set_num_threads(cfg.torch_threads or max(1, (os.cpu_count() or 1) - cfg.num_workers))
    module = load_ensemble(cfg, models)
    writer = ShardWriter(out / "shards")
    progress = StructureProgress(cfg.progress)
    with trusted():
        trainer: pl.Trainer = instantiate(cfg.trainer, logger=False,
                                          callbacks=[writer, progress, StopCheck(stop)],
                                          enable_checkpointing=False, enable_model_summary=False)
    # Every process (one per DDP rank) streams and screens the whole corpus; each keeps its own
    # list of screened-out inputs, and only rank 0's is used. Ranks are known for sure only after
    # the first predict call has launched them, hence a per-process file name.
    stream = ScreenedStream(entries, rules, out / f".screened_out.{os.getpid()}.csv", cfg.chunk_size,
                            cfg.corpus._target_.rsplit(".", 1)[-1].removeprefix("read_"))
    module.options = feature_options(cfg, trainer)
    runner = ChunkRunner(trainer, module, writer, module.ensembles["bulk"].featurizer, rules,
                         cfg.symprec, cfg.batch_size, cfg.num_workers)
    started = time.perf_counter()
    try:
        for chunk in stream.chunks():
            runner.run(chunk)
            stop.check()
    except RunStopped as err:
        stream.screened_out.unlink(missing_ok=True)
        raise _said(err, runner) from None
    except Exception as err:
        stream.screened_out.unlink(missing_ok=True)
        if stop.signum is None:
            raise
        raise _said(RunStopped(stop.signum), runner) from err  # a failure the same signal caused
    finally:
        progress.close()
    if trainer.global_rank != 0:
        stream.screened_out.unlink(missing_ok=True)
        return {}
    remove_leftovers(out)
    return finalise(cfg, out, writer.shard_dir, runner.n_chunks, stream, rules,
                    time.perf_counter() - started, models)


def _said(err: RunStopped, runner: ChunkRunner) -> RunStopped:
    """A stop, told with what was kept."""
    return err.said(f"after {runner.n_done} finished chunk{'s' if runner.n_done != 1 else ''} (every "
                    "finished chunk is kept); rerun the same command to resume")
