"""Lightning callbacks every run of a network uses, training or predicting."""
from __future__ import annotations

import lightning.pytorch as pl

from moduli.core.signals import StopRequest


class StopCheck(pl.Callback):
    """Checks for a stop signal after every batch (:meth:`StopRequest.check`), so a SIGTERM whose
    exception was swallowed where it landed still stops the run within one batch."""

    def __init__(self, stop: StopRequest):
        self.stop = stop

    def on_train_batch_end(self, *args, **kwargs) -> None:
        self.stop.check()

    def on_predict_batch_end(self, *args, **kwargs) -> None:
        self.stop.check()
