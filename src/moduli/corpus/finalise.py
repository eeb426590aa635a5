"""Stage 3 of predict.py (rank 0): one table, one rejection list, a summary and figures.

Merges the finished chunks' shards into ``predictions.parquet`` (the schema's columns, in input
order; also as ``table``, CSV or Parquet by extension, with ``<stem>.rejected.csv`` beside it, when
set), joins the inputs screened out while streaming with those rejected in the workers into
``rejected.csv``, checks that every input is either predicted or rejected, and writes
``screening.json`` (rules, models, the count left after each stage) and ``figures/``.
"""
from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from moduli.analysis.report import Report, add_structure_table, log_to_wandb
from moduli.core.atomic import atomic_write
from moduli.core.records import Rejection, write_rejections
from moduli.core.errors import NothingPredicted
from moduli.core.schema import PREDICT_STAGES
from moduli.physics.derived import PREDICTION_COLUMNS, table_columns
from moduli.corpus.screening import ScreenRules
from moduli.corpus.stream import ScreenedStream
from moduli.corpus.writer import merge

log = logging.getLogger(__name__)


def remove_leftovers(out: Path) -> None:
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


def stage_counts(n_input: int, counts: Counter) -> list[list]:
    """``[["input", n], ["after_duplicate", n'], ...]``: inputs left after each stage."""
    remaining, stages = n_input, [["input", n_input]]
    for stage in PREDICT_STAGES:
        remaining -= counts.get(stage, 0)
        stages.append([f"after_{stage}", remaining])
    return stages


def check_complete(n_input: int, rows: pd.DataFrame, rejected: pd.DataFrame) -> None:
    """Every input is exactly one row or one rejection, and no id is a row twice: checked before
    any final file is replaced, so a run that fails here leaves the last good files as they were."""
    seqs = pd.Series([int(s) for frame in (rows, rejected) if len(frame) for s in frame["seq"]], dtype=int)
    problems = []
    if len(seqs) != n_input or set(seqs) != set(range(n_input)):
        missing = sorted(set(range(n_input)) - set(seqs))[:5]
        twice = sorted(seqs[seqs.duplicated()].unique())[:5]
        problems.append(f"{n_input} inputs but {len(rows)} rows + {len(rejected)} rejections "
                        f"(inputs missing: {missing or 'none'}, in two places: {twice or 'none'})")
    if len(rows) and rows["id"].duplicated().any():
        problems.append(f"ids predicted twice: {sorted(rows.loc[rows['id'].duplicated(), 'id'])[:5]}")
    if problems:
        raise RuntimeError("the run's shards are inconsistent, no output was written: "
                           + "; ".join(problems) + "; rerun with resume=false (--overwrite)")


def finalise(cfg, out: Path, shard_dir: Path, n_chunks: int, stream: ScreenedStream,
             rules: ScreenRules, seconds: float, models: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Write the run's table, rejections, summary and figures; returns the summary. The table is
    checked to hold each input once first; each file is written to a temporary name and renamed."""
    rows, worker_rejected = merge(shard_dir, n_chunks)
    rejected = pd.concat([pd.read_csv(stream.screened_out, dtype={"id": str}), worker_rejected],
                         ignore_index=True).sort_values("seq")
    check_complete(stream.n_input, rows, rejected)
    counts = Counter(stream.counts)
    for stage, n in worker_rejected["stage"].value_counts().items():
        counts[stage] += int(n)
    table = (rows[[c for c in table_columns(rows.columns) if c in rows.columns]] if len(rows)
             else pd.DataFrame(columns=PREDICTION_COLUMNS))
    stages = stage_counts(stream.n_input, counts)
    summary = {"models": models, "rules": rules.describe(), "counts": stages,
               "rejected_by_stage": dict(counts), "predicted": len(table),
               "outside_domain": int((table["in_domain"] == False).sum()) if len(table) else 0,  # noqa: E712
               "domain_unknown": int(table["in_domain"].isna().sum()) if len(table) else 0,
               "chunks": n_chunks, "seconds": round(seconds, 2)}
    rejections = [Rejection(r.id, r.reason, r.stage) for r in rejected.itertuples()]
    atomic_write(out / "predictions.parquet", lambda tmp: table.to_parquet(tmp, index=False))
    if cfg.write_csv:
        atomic_write(out / "predictions.csv", lambda tmp: table.to_csv(tmp, index=False))
    write_rejections(rejections, out / "rejected.csv")
    atomic_write(out / "screening.json", lambda tmp: Path(tmp).write_text(json.dumps(summary, indent=2)))
    if cfg.get("table"):
        write_table(table, cfg.table)
        write_rejections(rejections, rejected_path(cfg.table))
    stream.screened_out.unlink()
    log.info("screening: %s", " -> ".join(f"{name} {n}" for name, n in stages))
    log.info("%d predictions in %s (%.1f s, %.0f inputs/s)", len(table), out / "predictions.parquet",
             seconds, stream.n_input / max(seconds, 1e-9))
    if summary["outside_domain"] or summary["domain_unknown"]:
        log.warning("%d of %d predictions outside the models' training domain, %d with no domain "
                    "recorded (kept; reasons in the domain_note column)", summary["outside_domain"],
                    len(table), summary["domain_unknown"])
    if cfg.figures and len(table):
        figures(cfg, out, table, summary)
    if stream.n_input and not len(table):
        raise NothingPredicted(
            f"0 predictions from {stream.n_input} inputs; rejected by stage: "
            f"{', '.join(f'{k} {v}' for k, v in counts.items() if v)} (reasons in "
            f"{rejected_path(cfg.table) if cfg.get('table') else out / 'rejected.csv'})")
    return summary


TABLE_WRITERS = {".csv": "to_csv", ".parquet": "to_parquet"}


def check_table_path(path: str | Path) -> Path:
    """``path`` if its extension names a table format moduli writes (.csv, .parquet)."""
    from moduli.core.errors import UserInputError

    path = Path(path)
    if path.suffix.lower() not in TABLE_WRITERS:
        raise UserInputError(f"output {path}: the extension chooses the format, .csv or .parquet")
    if path.is_dir():
        raise UserInputError(f"output {path} is a folder: give a file name ending in .csv or .parquet")
    return path


def rejected_path(table: str | Path) -> Path:
    """Where the rejections of a table go: ``results.csv`` -> ``results.rejected.csv``."""
    table = Path(table)
    return table.with_name(f"{table.stem}.rejected.csv")


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """The prediction table as CSV or Parquet (by extension), written atomically."""
    path = check_table_path(path)
    writer = TABLE_WRITERS[path.suffix.lower()]
    return atomic_write(path, lambda tmp: getattr(table, writer)(tmp, index=False))


def figures(cfg, out: Path, table: pd.DataFrame, summary: dict[str, Any]) -> None:
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
