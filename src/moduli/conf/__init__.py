"""Hydra configs, one group per folder, shipped in the wheel: ``pkg://moduli.conf``."""
