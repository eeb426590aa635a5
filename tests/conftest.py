"""Shared fixtures: real structures from ../shared/data and small pymatgen-built crystals.

Nothing here downloads: the data dir is ``MODULI_DATA_DIR`` (the Makefile and CI point it at
../shared/data), caches and W&B files go to a per-session temp folder.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"


def pytest_configure(config):
    os.environ.setdefault("MODULI_DATA_DIR", str(DEFAULT_DATA))
    os.environ["WANDB_MODE"] = os.environ.get("WANDB_MODE", "offline")
    scratch = Path(tempfile.mkdtemp(prefix="moduli-tests-"))
    for var, sub in (("WANDB_DIR", "wandb"), ("WANDB_CACHE_DIR", "wandb-cache"),
                     ("MODULI_CACHE_DIR", "cache")):
        if var not in os.environ:
            os.environ[var] = str(scratch / sub)
        Path(os.environ[var]).mkdir(parents=True, exist_ok=True)


def compose_config(config_name: str, *overrides: str):
    """``conf/<config_name>.yaml`` composed with ``overrides``, as train.py / predict.py see it."""
    from hydra import compose, initialize_config_module

    with initialize_config_module("moduli.conf"):
        return compose(config_name, overrides=list(overrides))


@pytest.fixture(scope="session")
def config():
    """The one way tests compose configs: ``config("train", "model=dt", "data.limit=120")``."""
    return compose_config


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ["MODULI_DATA_DIR"])
    if not (path / "mp_binary_elasticity_2025.1_matcalc.json.gz").is_file():
        pytest.fail(f"real data not found in {path}: set MODULI_DATA_DIR to ../shared/data")
    return path


@pytest.fixture(scope="session")
def mp_records(data_dir):
    """The cleaned, id-sorted mp_elastic records (4,411 real MP structures)."""
    from moduli.data.sources import load_mp_elastic

    records, rejections = load_mp_elastic(data_dir)
    return records


@pytest.fixture(scope="session")
def atom_table(data_dir):
    from moduli.graphs.atom_features import AtomFeatureTable

    return AtomFeatureTable.cgcnn(data_dir)


@pytest.fixture(scope="session")
def sample_structures(mp_records):
    """A spread of real structures: every 97th record (46 structures, 2 to 40+ atoms)."""
    return [r.structure for r in mp_records[::97]]


@pytest.fixture(scope="session")
def rocksalt():
    from pymatgen.core import Lattice, Structure

    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"],
                                     [[0, 0, 0], [0.5, 0.5, 0.5]])


@pytest.fixture(scope="session")
def training_runs(tmp_path_factory, config):
    """Tiny real training runs (120 mp_elastic records): CGCNN (1 epoch), decision tree, dummy; folds 0, 1."""
    from moduli.train.run import train

    root = tmp_path_factory.mktemp("runs")
    for model, extra in (("cgcnn", ["trainer.max_epochs=1", "data.batch_size=32"]), ("dt", []), ("dummy", [])):
        for fold in (0, 1):
            train(config("train", f"model={model}", f"data.fold={fold}", "data.limit=120",
                         "logger=none", "trainer.enable_progress_bar=false",
                         f"paths.output_dir={root / f'{model}_{fold}'}", *extra))
    return root
