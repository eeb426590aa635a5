"""``predict(cfg)``: stream a corpus, screen it, predict B and G in chunks, write one table.

Writes into the run dir: ``predictions.parquet`` (and ``predictions.csv`` with
``write_csv=true``), ``rejected.csv`` (id, stage, reason), ``screening.json`` (rules and the
count left after each stage), ``figures/`` (corpus statistics, moduli maps and derived-property
distributions as PNG + SVG with ``summary.md``; also logged to W&B as images) and ``shards/``
(per-chunk, per-rank pieces that make the run resumable). Runs on one CPU or, through Lightning DDP, on many devices.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pandas as pd
import torch
from hydra.utils import execution_whitelist, instantiate
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader

from moduli.analysis.report import Report, add_structure_table, log_to_wandb
from moduli.models.ensemble import MODULI
from moduli.models.registry import available_models, model_card, sha256_of
from moduli.models.table import COLUMNS, DEFAULT_MODELS, OPTIONAL_COLUMNS, resolve_models
from moduli.predict.corpus import UNREADABLE
from moduli.predict.ensemble import EnsemblePredictor
from moduli.predict.progress import StructureProgress
from moduli.predict.screening import ScreenRules
from moduli.predict.worker import ChunkDataset, collate
from moduli.atomic import atomic_write
from moduli.predict.writer import ShardWriter, is_done, merge, write_marker

log = logging.getLogger(__name__)

TRUSTED_TARGETS = ["moduli.*", "lightning.pytorch.*"]
# The order in which inputs drop out; counts after each stage go to screening.json.
PIPELINE = ["duplicate", "band_gap", "stability", "parse", "radioactive", "single_element", "featurize"]


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
    """Run the whole pipeline; returns the screening summary (also in ``screening.json``)."""
    out = Path(cfg.paths.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    # The main process runs the networks while DataLoader workers parse and featurise: on CPU,
    # leave the workers their cores (oversubscribed cores cost a third of the throughput here).
    torch.set_num_threads(cfg.torch_threads or max(1, (os.cpu_count() or 1) - cfg.num_workers))
    rules = ScreenRules(**OmegaConf.to_container(cfg.screen, resolve=True))
    module, models = load_ensemble(cfg)
    featurizer = module.ensembles["bulk"].featurizer  # both share one featurisation (checked)
    shard_dir = out / "shards"
    writer = ShardWriter(shard_dir)
    progress = StructureProgress(cfg.progress)
    with execution_whitelist(TRUSTED_TARGETS):
        trainer: pl.Trainer = instantiate(cfg.trainer, logger=False, callbacks=[writer, progress],
                                          enable_checkpointing=False, enable_model_summary=False)
        entries = instantiate(cfg.corpus)()
    # Every process (one per DDP rank) streams and screens the whole corpus; each keeps its own
    # list of screened-out inputs, and only rank 0's is used. Ranks are known for sure only after
    # the first predict call has launched them, hence a per-process file name.
    screened_out = out / f".screened_out.{os.getpid()}.csv"
    counts: Counter[str] = Counter()
    n_input, n_chunks, chunk = 0, 0, []
    started = time.perf_counter()

    def run_chunk(entries_of_chunk: list) -> None:
        nonlocal n_chunks
        index, n_chunks = n_chunks, n_chunks + 1
        if is_done(shard_dir, index):
            log.info("chunk %d: already done, skipped", index)
            return
        loader = DataLoader(ChunkDataset(entries_of_chunk, featurizer, rules, cfg.symprec),
                            batch_size=cfg.batch_size, num_workers=cfg.num_workers,
                            collate_fn=collate, shuffle=False)
        writer.start_chunk(index)
        tick = time.perf_counter()
        trainer.predict(module, loader, return_predictions=False)
        trainer.strategy.barrier()
        if trainer.global_rank == 0:
            write_marker(shard_dir, index, trainer.world_size, len(entries_of_chunk))
        log.info("chunk %d: %d structures in %.1f s (%.0f structures/s)", index,
                 len(entries_of_chunk), time.perf_counter() - tick,
                 len(entries_of_chunk) / max(time.perf_counter() - tick, 1e-9))

    with open(screened_out, "w", newline="") as handle:
        rejected_writer = csv.writer(handle)
        rejected_writer.writerow(["seq", "id", "stage", "reason"])
        first_of_id: dict[str, int] = {}
        for seq, entry in enumerate(entries):
            n_input += 1
            if seq == 0 and rules.needs_band_gap and "band_gap_ev" not in entry.metadata:
                log.warning("the screen keeps band gaps in [%s, %s] eV, but this corpus gives no band "
                            "gap (corpus=%s): every input will be screened out; use screen=none to "
                            "predict them all", rules.band_gap_min, rules.band_gap_max,
                            cfg.corpus._target_.rsplit(".", 1)[-1].removeprefix("read_"))
            if entry.id in first_of_id:
                failed = ("duplicate", f"repeated id: input {seq + 1} has the id of input "
                                       f"{first_of_id[entry.id] + 1}, the one used")
            elif UNREADABLE in entry.metadata:
                failed = ("parse", entry.metadata[UNREADABLE])
            else:
                failed = rules.check_metadata(entry.metadata)
            first_of_id.setdefault(entry.id, seq)
            if failed:
                counts[failed[0]] += 1
                rejected_writer.writerow([seq, entry.id, *failed])
                continue
            chunk.append((seq, entry))
            if len(chunk) == cfg.chunk_size:
                run_chunk(chunk)
                chunk = []
        if chunk:
            run_chunk(chunk)
    progress.close()
    if trainer.global_rank != 0:
        screened_out.unlink(missing_ok=True)
        return {}
    _remove_leftovers(out)
    return _finish(cfg, out, shard_dir, n_chunks, n_input, counts, rules, screened_out,
                   time.perf_counter() - started, models)


def _remove_leftovers(out: Path) -> None:
    """Delete screened-out lists left by processes of killed runs (their pid no longer runs)."""
    for path in out.glob(".screened_out.*.csv"):
        pid = int(path.name.split(".")[2])
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except PermissionError:
            pass  # a live process of another user


def _finish(cfg, out: Path, shard_dir: Path, n_chunks: int, n_input: int, counts: Counter,
            rules: ScreenRules, screened_out: Path, seconds: float,
            models: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    rows, worker_rejected = merge(shard_dir, n_chunks)
    for stage, n in worker_rejected["stage"].value_counts().items():
        counts[stage] += int(n)
    table = rows[[c for c in COLUMNS + OPTIONAL_COLUMNS if c in rows.columns]] if len(rows) else \
        pd.DataFrame(columns=COLUMNS)
    atomic_write(out / "predictions.parquet", lambda tmp: table.to_parquet(tmp, index=False))
    if cfg.write_csv:
        atomic_write(out / "predictions.csv", lambda tmp: table.to_csv(tmp, index=False))
    rejected = pd.concat([pd.read_csv(screened_out, dtype={"id": str}), worker_rejected],
                         ignore_index=True).sort_values("seq")
    atomic_write(out / "rejected.csv",
                 lambda tmp: rejected[["id", "stage", "reason"]].to_csv(tmp, index=False))
    screened_out.unlink()
    remaining, stages = n_input, [["input", n_input]]
    for stage in PIPELINE:
        remaining -= counts.get(stage, 0)
        stages.append([f"after_{stage}", remaining])
    summary = {"models": models, "rules": rules.describe(), "counts": stages, "rejected_by_stage": dict(counts),
               "predicted": len(table), "chunks": n_chunks, "seconds": round(seconds, 2)}
    if remaining != len(table):
        raise RuntimeError(f"{remaining} inputs passed every stage but {len(table)} rows were "
                           "written: shards are inconsistent")
    atomic_write(out / "screening.json", lambda tmp: Path(tmp).write_text(json.dumps(summary, indent=2)))
    log.info("screening: %s", " -> ".join(f"{name} {n}" for name, n in stages))
    log.info("radioactive list: %s", ", ".join(rules.radioactive or []) or "(none)")
    log.info("%d predictions in %s (%.1f s, %.0f inputs/s)", len(table), out / "predictions.parquet",
             seconds, n_input / max(seconds, 1e-9))
    if n_input and not len(table):
        log.warning("0 predictions from %d inputs; rejected by stage: %s (reasons in %s)", n_input,
                    ", ".join(f"{k} {v}" for k, v in counts.items()), out / "rejected.csv")
    if cfg.figures and len(table):
        _figures(cfg, out, table, summary)
    return summary


def _figures(cfg, out: Path, table: pd.DataFrame, summary: dict[str, Any]) -> None:
    """Corpus figures into ``figures/`` and W&B. The predictions are complete by now, so a
    failure here (a plotting or W&B error) is logged as an error rather than failing the run."""
    try:
        report = Report(out / "figures")
        add_structure_table(report, table, "corpus", f"{cfg.task_name}: {out.name}")
        log.info("figures: %s", report.write())
        if cfg.wandb.mode != "disabled":
            log_to_wandb(report.files, key="figures", project=cfg.wandb.project, mode=cfg.wandb.mode,
                         name=f"{cfg.task_name}-{out.name}", group=cfg.wandb.group or None,
                         dir=str(out), job_type="predict", config={"screening": summary})
    except Exception as err:  # noqa: BLE001 - the predictions above stay valid
        log.error("figures failed (predictions.parquet is complete): %s: %s", type(err).__name__, err)
