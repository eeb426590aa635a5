"""A progress bar counted in structures (Lightning's own counts batches)."""
from __future__ import annotations

import sys

from lightning.pytorch.callbacks import Callback
from tqdm import tqdm


class StructureProgress(Callback):
    """Structures done and structures/s over the whole run, shown by rank 0.

    Under DDP each rank handles 1/world_size of every chunk; the bar counts rank 0's share
    times the world size, so its rate estimates the whole run's.
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.bar: tqdm | None = None

    def on_predict_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if not self.enabled or trainer.global_rank != 0:
            return
        if self.bar is None:
            self.bar = tqdm(unit=" structures", desc="predict", file=sys.stderr, dynamic_ncols=True)
        self.bar.update((len(batch["rows"]) + len(batch["rejected"])) * trainer.world_size)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
