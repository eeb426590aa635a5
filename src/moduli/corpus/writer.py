"""Sharded, resumable output: one shard per rank and chunk, a marker per finished chunk, a merge.

Layout under the run dir::

    shards/chunk-00003.rank-1.rows.parquet       predictions of rank 1 for chunk 3
    shards/chunk-00003.rank-1.rejected.parquet   its rejections
    shards/chunk-00003.done.json                 written by rank 0 once every rank has finished

Every file is written to a temporary name and renamed, so a killed run leaves either a whole
file or none. A chunk without its marker is recomputed on the next run; finished chunks are
skipped. The merge keeps one row per input (the distributed sampler pads ranks with repeats).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from lightning.pytorch.callbacks import BasePredictionWriter

from moduli.core.atomic import atomic_write

REJECTED_COLUMNS = ["seq", "id", "stage", "reason"]


def shard_path(shard_dir: Path, chunk: int, rank: int, kind: str) -> Path:
    return shard_dir / f"chunk-{chunk:05d}.rank-{rank}.{kind}.parquet"


def marker_path(shard_dir: Path, chunk: int) -> Path:
    return shard_dir / f"chunk-{chunk:05d}.done.json"


class ShardWriter(BasePredictionWriter):
    """Collects this rank's predictions for the current chunk and writes them at the chunk's end."""

    def __init__(self, shard_dir: Path):
        super().__init__(write_interval="batch")
        self.shard_dir = Path(shard_dir)
        self.chunk = 0
        self.rows: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []

    def start_chunk(self, chunk: int) -> None:
        self.chunk, self.rows, self.rejected = chunk, [], []

    def write_on_batch_end(self, trainer, pl_module, prediction, batch_indices, batch, batch_idx,
                           dataloader_idx=0) -> None:
        self.rows.extend(prediction["rows"])
        self.rejected.extend(prediction["rejected"])

    def on_predict_epoch_end(self, trainer, pl_module) -> None:
        rank = trainer.global_rank
        rows = pd.DataFrame(self.rows)
        rejected = pd.DataFrame(self.rejected, columns=REJECTED_COLUMNS)
        atomic_write(shard_path(self.shard_dir, self.chunk, rank, "rows"),
                     lambda tmp: rows.to_parquet(tmp, index=False))
        atomic_write(shard_path(self.shard_dir, self.chunk, rank, "rejected"),
                     lambda tmp: rejected.to_parquet(tmp, index=False))


def write_marker(shard_dir: Path, chunk: int, world_size: int, n_entries: int, digest: str) -> None:
    shards = [shard_path(shard_dir, chunk, r, kind).name for r in range(world_size)
              for kind in ("rows", "rejected")]
    missing = [s for s in shards if not (shard_dir / s).is_file()]
    if missing:
        raise RuntimeError(f"chunk {chunk}: shards missing after predict: {missing}")
    content = json.dumps({"chunk": chunk, "world_size": world_size, "entries": n_entries,
                          "digest": digest, "shards": shards})
    atomic_write(marker_path(shard_dir, chunk), lambda tmp: Path(tmp).write_text(content))


def is_done(shard_dir: Path, chunk: int) -> bool:
    return marker_path(shard_dir, chunk).is_file()


def read_marker(shard_dir: Path, chunk: int) -> dict[str, Any]:
    return json.loads(marker_path(shard_dir, chunk).read_text())


def merge(shard_dir: Path, n_chunks: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All finished chunks' rows and rejections, one per input, in input order."""
    rows, rejected = [], []
    for chunk in range(n_chunks):
        marker = read_marker(shard_dir, chunk)
        for name in marker["shards"]:
            frame = pd.read_parquet(shard_dir / name)
            (rows if name.endswith(".rows.parquet") else rejected).append(frame)
    rows_frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["seq"])
    rejected_frame = (pd.concat(rejected, ignore_index=True) if rejected
                      else pd.DataFrame(columns=REJECTED_COLUMNS))
    return _one_per_input(rows_frame), _one_per_input(rejected_frame)


def _one_per_input(frame: pd.DataFrame) -> pd.DataFrame:
    if "seq" not in frame or frame.empty:
        return frame.iloc[0:0]
    return frame.drop_duplicates("seq").sort_values("seq").reset_index(drop=True)
