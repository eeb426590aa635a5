"""Descriptors against independent pymatgen computations; every baseline trains and reports."""
import json
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from moduli.baselines.descriptors import DESCRIPTORS, describe
from moduli.train.run import train

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("index", [0, 250, 1000, 2500, 4000])
def test_descriptors_match_pymatgen(index, mp_records):
    structure = mp_records[index].structure
    values = dict(zip(DESCRIPTORS, describe(structure)))
    species = [site.specie for site in structure]
    assert values["mean_atomic_number"] == pytest.approx(np.mean([el.Z for el in species]))
    assert values["mean_atomic_mass"] == pytest.approx(np.mean([float(el.atomic_mass) for el in species]))
    assert values["mean_electronegativity"] == pytest.approx(np.mean([el.X for el in species]))
    assert values["density_g_cm3"] == pytest.approx(float(structure.density), rel=1e-6)
    assert values["volume_per_atom_a3"] == pytest.approx(structure.volume / len(structure))
    assert values["spacegroup_number"] == SpacegroupAnalyzer(structure, symprec=0.1).get_space_group_number()


def test_elements_without_electronegativity_are_left_out_of_the_mean():
    argon_salt = Structure(Lattice.cubic(6.0), ["Ar", "Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0, 0]])
    values = dict(zip(DESCRIPTORS, describe(argon_salt)))
    assert values["mean_electronegativity"] == pytest.approx((0.93 + 3.16) / 2)
    argon = Structure(Lattice.cubic(5.3), ["Ar"], [[0, 0, 0]])
    assert np.isnan(dict(zip(DESCRIPTORS, describe(argon)))["mean_electronegativity"])


@pytest.mark.parametrize("model", ["rf", "xgb", "svr", "gbr", "dt", "dummy"])
def test_each_baseline_trains_and_writes_metrics(model, tmp_path, config):
    cfg = config("train", f"model={model}", "data.limit=200", "data.fold=0", "logger=csv",
                 f"paths.output_dir={tmp_path}")
    value = train(cfg)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert value == metrics["val/mae"]
    assert metrics["n/train"] + metrics["n/val"] + metrics["n/test"] == 200
    for split in ("train", "val", "test"):
        assert (tmp_path / "predictions" / f"{split}.csv").is_file()
        assert (tmp_path / f"parity_{split}.png").is_file()
    if model == "dummy":
        assert metrics["test/mae"] == pytest.approx(metrics["dummy/test/mae"])
    else:  # a real model on real descriptors beats the mean on its own training data
        assert metrics["train/mae"] < metrics["dummy/train/mae"]
