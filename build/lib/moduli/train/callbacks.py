"""Training callbacks of our own (Lightning's cover checkpoints and stopping)."""
from __future__ import annotations

import logging
import sys
import time

import lightning.pytorch as pl

log = logging.getLogger("moduli.train")


class EpochLog(pl.Callback):
    """One log line per epoch (epoch, train/loss, val/mae, val/r2, seconds) when stdout is no
    terminal (nohup, SLURM, CI): there a progress bar shows nothing until the run ends. The
    line goes through logging, so Hydra writes it to the console and to ``train.log``.
    ``always=True`` logs with a terminal too."""

    def __init__(self, always: bool = False):
        self.enabled = always or not sys.stdout.isatty()
        self.started = time.perf_counter()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.started = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.enabled or trainer.sanity_checking or trainer.global_rank != 0:
            return
        metrics = trainer.callback_metrics
        values = " ".join(f"{name} {float(metrics[name]):.4f}"
                          for name in ("train/loss", "val/mae", "val/r2") if name in metrics)
        log.info("epoch %d/%d: %s (%.1f s)", trainer.current_epoch + 1, trainer.max_epochs, values,
                 time.perf_counter() - self.started)
