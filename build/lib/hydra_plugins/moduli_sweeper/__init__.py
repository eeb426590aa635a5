"""Registers moduli's Optuna sweeper with Hydra, which only instantiates sweepers it discovers
in the ``hydra_plugins`` namespace (``hydra.sweeper._target_: moduli.train.sweeps.HeartbeatOptunaSweeper``)."""
from moduli.train.sweeps import HeartbeatOptunaSweeper

__all__ = ["HeartbeatOptunaSweeper"]
