"""Stage 2 of predict.py: run the networks on one chunk at a time, resumably.

A chunk's inputs are parsed, screened (structure rules) and featurised in DataLoader workers
(:mod:`moduli.corpus.worker`); every rank writes its shard (:mod:`moduli.corpus.writer`); after a
barrier, rank 0 writes the chunk's marker with a digest of the chunk's inputs. A chunk whose
marker exists is skipped when its inputs are still the same (a changed corpus stops the run), so a
killed run rerun with the same command only computes the chunks it had not finished.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import lightning.pytorch as pl
from torch.utils.data import DataLoader

from moduli.core.errors import UserInputError
from moduli.core.signals import default_signals_in_worker
from moduli.corpus.fingerprint import FRESH_START, chunk_digest
from moduli.graphs.featurizer import CrystalGraphFeaturizer
from moduli.models.ensemble import unique_kinds
from moduli.corpus.screening import ScreenRules
from moduli.corpus.stream import Chunk
from moduli.corpus.worker import ChunkDataset, collate
from moduli.corpus.writer import ShardWriter, is_done, read_marker, write_marker

log = logging.getLogger(__name__)


class ChunkRunner:
    """Numbers the chunks it is given (0, 1, ...) and predicts those not done yet."""

    def __init__(self, trainer: pl.Trainer, module: pl.LightningModule, writer: ShardWriter,
                 featurizer: CrystalGraphFeaturizer, rules: ScreenRules, symprec: float,
                 batch_size: int, num_workers: int):
        self.trainer, self.module, self.writer = trainer, module, writer
        self.featurizer, self.rules, self.symprec = featurizer, rules, symprec
        self.batch_size, self.num_workers = batch_size, num_workers
        self.n_chunks = 0  # chunks seen
        self.n_done = 0  # chunks finished (now or by an earlier run)

    @property
    def shard_dir(self) -> Path:
        return self.writer.shard_dir

    def run(self, chunk: Chunk) -> None:
        index, self.n_chunks = self.n_chunks, self.n_chunks + 1
        digest = chunk_digest(chunk)
        if is_done(self.shard_dir, index):
            recorded = read_marker(self.shard_dir, index).get("digest")
            if recorded != digest:
                raise UserInputError(
                    f"the inputs of chunk {index} (inputs {chunk[0][0] + 1} to {chunk[-1][0] + 1} of the "
                    f"corpus) differ from those this run dir predicted: the corpus changed since; "
                    f"{FRESH_START}")
            log.info("chunk %d: already done, skipped", index)
            self.n_done += 1
            return
        kinds = unique_kinds(self.module.ensembles.values())
        for kind in kinds:  # featurisers made before the workers fork, so each inherits them
            kind.input_spec(self.module.options.cache_dir)
        loader = DataLoader(ChunkDataset(chunk, self.featurizer, self.rules, self.symprec, kinds,
                                         self.module.options),
                            batch_size=self.batch_size, num_workers=self.num_workers,
                            collate_fn=collate, shuffle=False, worker_init_fn=default_signals_in_worker)
        self.writer.start_chunk(index)
        tick = time.perf_counter()
        self.trainer.predict(self.module, loader, return_predictions=False)
        self.trainer.strategy.barrier()
        if self.trainer.global_rank == 0:
            write_marker(self.shard_dir, index, self.trainer.world_size, len(chunk), digest)
        self.n_done += 1
        seconds = time.perf_counter() - tick
        log.info("chunk %d: %d structures in %.1f s (%.0f structures/s)", index, len(chunk),
                 seconds, len(chunk) / max(seconds, 1e-9))
