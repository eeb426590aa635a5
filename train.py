"""Train a model: ``python train.py [overrides]`` (``-m`` for sweeps), exactly ``moduli train``.

Configs in src/moduli/conf (shipped in the package); see ``moduli train --help``.
"""
from moduli.cli import train_main

if __name__ == "__main__":
    train_main()
