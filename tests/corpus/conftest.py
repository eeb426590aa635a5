"""A small real corpus: MP structures with band gaps (matminer dielectric set) plus bad entries."""
import gzip
import json

import pytest
from pymatgen.core import Lattice, Structure

from moduli.core.structures import read_json, table_rows

BAD_IDS = {"bad-unparseable": "parse", "bad-disordered": "featurize", "bad-overlap": "featurize",
           "bad-uranium": "radioactive", "bad-no-gap": "band_gap", "bad-wide-gap": "band_gap"}


@pytest.fixture(scope="session")
def dielectric_rows(data_dir):
    return table_rows(read_json(data_dir / "matminer_dielectric_constant_bandgap.json.gz"))


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory, dielectric_rows):
    """(path, ids that pass the paper screen) for 150 real rows + 6 bad ones."""
    rows = [{"material_id": r["material_id"], "structure": r["structure"], "band_gap": r["band_gap"],
             "formula": r["formula"]} for r in dielectric_rows[:150]]
    good = Structure.from_dict(rows[0]["structure"])
    disordered = good.copy()
    disordered.replace_species({good[0].specie: {good[0].specie: 0.5, "K": 0.5}})
    overlap = Structure(Lattice.cubic(5.0), ["Si", "Si"], [[0, 0, 0], [0.05, 0, 0]])
    uranium = Structure(Lattice.cubic(4.0), ["U", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    rows += [{"material_id": "bad-unparseable", "structure": {"lattice": 5}, "band_gap": 1.0},
             {"material_id": "bad-disordered", "structure": disordered.as_dict(), "band_gap": 1.0},
             {"material_id": "bad-overlap", "structure": overlap.as_dict(), "band_gap": 1.0},
             {"material_id": "bad-uranium", "structure": uranium.as_dict(), "band_gap": 1.0},
             {"material_id": "bad-no-gap", "structure": good.as_dict(), "band_gap": None},
             {"material_id": "bad-wide-gap", "structure": good.as_dict(), "band_gap": 5.0}]
    path = tmp_path_factory.mktemp("corpus") / "corpus.json.gz"
    with gzip.open(path, "wt") as handle:
        json.dump(rows, handle)
    passing = [r["material_id"] for r in rows[:150] if 0.1 <= r["band_gap"] <= 3.0]
    return path, passing


@pytest.fixture(scope="session")
def pretrained(data_dir):
    folder = data_dir / "cgcnn_reference" / "pretrained"
    return folder / "bulk-moduli.pth.tar", folder / "shear-moduli.pth.tar"
