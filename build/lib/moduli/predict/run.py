"""``predict(cfg)``: stream a corpus, screen it, predict B and G in chunks, write one table.

Three named stages, one module each: :mod:`~moduli.predict.stream` (stream and screen, cut into
chunks) -> :mod:`~moduli.predict.chunks` (run each chunk: markers, resume, barrier) ->
:mod:`~moduli.predict.finalise` (schema, merge, rejections, summary, figures). Stage names for
rejections are :class:`moduli.core.schema.Stage`.

Writes into the run dir: ``predictions.parquet`` (and ``predictions.csv`` with
``write_csv=true``), ``rejected.csv`` (id, stage, reason), ``screening.json`` (rules and the
count left after each stage), ``figures/`` (corpus statistics, moduli maps and derived-property
distributions as PNG + SVG with ``summary.md``; also logged to W&B as images) and ``shards/``
(per-chunk, per-rank pieces that make the run resumable). Runs on one CPU or, through Lightning DDP, on many devices.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from moduli.core.config import trusted
from moduli.core.schema import MODULI
from moduli.core.assets import sha256_of
from moduli.models.registry import available_models, model_card
from moduli.models.table import DEFAULT_MODELS, resolve_models
from moduli.predict.chunks import ChunkRunner
from moduli.predict.ensemble import EnsemblePredictor
from moduli.predict.finalise import finalise, remove_leftovers
from moduli.predict.progress import StructureProgress
from moduli.predict.screening import ScreenRules
from moduli.predict.stream import ScreenedStream
from moduli.predict.writer import ShardWriter

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


def load_ensemble(cfg: DictConfig) -> tuple[EnsemblePredictor, dict[str, list[dict[str, Any]]]]:
    """The bulk and shear ensembles of ``cfg.ckpt`` (see :func:`moduli.models.table.resolve_models`;
    unset: the bundled ensembles) and where each came from."""
    given = {prop: _given(cfg.ckpt.get(prop)) or [DEFAULT_MODELS[prop]] for prop in MODULI}
    ensembles = resolve_models(given["bulk"], given["shear"], cfg.paths.data_dir)
    provenance = {prop: [_provenance(g) for g in entries] for prop, entries in given.items()}
    for prop, entries in provenance.items():
        log.info("%s modulus: %s", prop, "; ".join(
            f"{p['name']} ({', '.join(m['sha256'][:12] for m in p['members'])})" if "name" in p
            else f"{p['path']} ({p['sha256'][:12]})" for p in entries))
    return EnsemblePredictor(ensembles), provenance


def predict(cfg: DictConfig) -> dict[str, Any]:
    """Run the three stages; returns the screening summary (also in ``screening.json``)."""
    out = Path(cfg.paths.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    # The main process runs the networks while DataLoader workers parse and featurise: on CPU,
    # leave the workers their cores (oversubscribed cores cost a third of the throughput here).
    torch.set_num_threads(cfg.torch_threads or max(1, (os.cpu_count() or 1) - cfg.num_workers))
    rules = ScreenRules(**OmegaConf.to_container(cfg.screen, resolve=True))
    module, models = load_ensemble(cfg)
    writer = ShardWriter(out / "shards")
    progress = StructureProgress(cfg.progress)
    with trusted():
        trainer: pl.Trainer = instantiate(cfg.trainer, logger=False, callbacks=[writer, progress],
                                          enable_checkpointing=False, enable_model_summary=False)
        entries = instantiate(cfg.corpus)()
    # Every process (one per DDP rank) streams and screens the whole corpus; each keeps its own
    # list of screened-out inputs, and only rank 0's is used. Ranks are known for sure only after
    # the first predict call has launched them, hence a per-process file name.
    stream = ScreenedStream(entries, rules, out / f".screened_out.{os.getpid()}.csv", cfg.chunk_size,
                            cfg.corpus._target_.rsplit(".", 1)[-1].removeprefix("read_"))
    runner = ChunkRunner(trainer, module, writer, module.ensembles["bulk"].featurizer, rules,
                         cfg.symprec, cfg.batch_size, cfg.num_workers)
    started = time.perf_counter()
    for chunk in stream.chunks():
        runner.run(chunk)
    progress.close()
    if trainer.global_rank != 0:
        stream.screened_out.unlink(missing_ok=True)
        return {}
    remove_leftovers(out)
    return finalise(cfg, out, writer.shard_dir, runner.n_chunks, stream, rules,
                    time.perf_counter() - started, models)
