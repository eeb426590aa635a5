"""Explicit failures and flags: elements a member cannot read are rejected in words before any
network runs; predictions outside the training domain are kept and flagged; a head refuses
features other than those it was trained on."""
import json

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure

import moduli
from moduli.models.registry import model_card


def binary(symbol: str, other: str = "O", a: float = 4.8) -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), [symbol, other], [[0, 0, 0], [0.5, 0.5, 0.5]])


def silicon() -> Structure:
    return Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.431), ["Si"], [[0, 0, 0]])


def crushed(structure: Structure, volume_fraction: float) -> Structure:
    squeezed = structure.copy()
    squeezed.scale_lattice(structure.volume * volume_fraction)
    return squeezed


def unseen_element() -> str:
    """An element CGCNN and SevenNet-0 (the bundles' heads) both read that no mp_elastic
    training structure holds."""
    from pymatgen.core.periodic_table import Element

    from moduli.features.sevennet import shared_featurizer

    seen = set(model_card("mp-elastic-k")["domain"]["min_distance"])
    return next(e.symbol for e in map(Element.from_Z, range(1, 95))
                if e.symbol not in seen and not e.is_noble_gas and e.Z in shared_featurizer().known_z)


def test_elements_outside_the_heads_potential_are_rejected_naming_element_and_member(rocksalt):
    table = moduli.predict([binary("Es"), rocksalt, binary("Am")], ids=["EsO", "NaCl", "AmO"])
    reasons = dict(zip(table["id"], table["rejected"]))
    assert reasons["NaCl"] is None
    for symbol, z in (("Es", 99), ("Am", 95)):
        reason = reasons[f"{symbol}O"]
        assert f"{symbol} (Z {z}) outside SevenNet-0's 89 elements" in reason
        assert "SevenNet-feature head" in reason and "mat1" not in reason


def test_predict_py_rejects_unreadable_elements_and_flags_and_counts_rows_outside_the_domain(
        tmp_path, rocksalt, config):
    from moduli.corpus.run import predict

    rows = {"NaCl": rocksalt, "Si": silicon(), "Si-crushed": crushed(silicon(), 0.17),
            "EsO": binary("Es"), "AmO": binary("Am"), "unseen": binary(unseen_element())}
    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps([{"material_id": k, "structure": v.as_dict()} for k, v in rows.items()]))
    out = tmp_path / "out"
    summary = predict(config("predict", f"corpus.path={corpus}", "screen=none", f"paths.output_dir={out}",
                             "num_workers=0", "progress=false"))
    rejected = pd.read_csv(out / "rejected.csv").set_index("id")
    assert sorted(rejected.index) == ["AmO", "EsO"] and set(rejected["stage"]) == {"featurize"}
    assert "Es (Z 99) outside SevenNet-0's" in rejected.loc["EsO", "reason"]
    table = pd.read_parquet(out / "predictions.parquet").set_index("id")
    assert table["in_domain"].to_dict() == {"NaCl": True, "Si": True, "Si-crushed": False, "unseen": False}
    assert table.loc["NaCl", "domain_note"] == "" and table.loc["Si", "domain_note"] == ""
    assert "nearest-neighbour distance" in table.loc["Si-crushed", "domain_note"]
    assert "not in training data" in table.loc["unseen", "domain_note"]
    assert np.isfinite(table.loc["Si-crushed", "bulk_modulus_gpa"])  # flagged, not dropped
    assert summary["outside_domain"] == 2 and summary["domain_unknown"] == 0
    figures = (out / "figures" / "summary.md").read_text()
    assert "training domain" in figures and "| outside domain | 2 |" in figures


def test_moduli_predict_flags_a_crushed_cell_and_keeps_its_value():
    cells = [silicon(), crushed(silicon(), 0.17), crushed(silicon(), 0.95)]
    table = moduli.predict(cells)
    assert table["in_domain"].tolist() == [True, False, True]
    assert "below the shortest in training" in table.loc[1, "domain_note"]
    assert table.loc[1, "bulk_modulus_gpa"] > table.loc[0, "bulk_modulus_gpa"]


def test_domain_notes_follow_the_recorded_domain(atom_table, rocksalt):
    """Elements, distances and the std bound against a domain computed here from two graphs."""
    from torch_geometric.data import Batch

    from moduli.models.domain import TrainingDomain, domain_columns
    from moduli.graphs.featurizer import CrystalGraphFeaturizer

    featurizer = CrystalGraphFeaturizer(atom_table)
    domain = TrainingDomain.from_graphs([featurizer.graph(rocksalt), featurizer.graph(silicon())], max_std=0.1)
    assert set(domain.min_distance) == {"Na", "Cl", "Si"}
    assert domain.min_distance["Si"] == pytest.approx(5.431 * np.sqrt(3) / 4, abs=1e-3)
    assert domain.min_distance["Na"] == pytest.approx(5.64 / 2, abs=1e-3)
    assert TrainingDomain.from_dict(json.loads(json.dumps(domain.as_dict()))) == domain
    batch = Batch.from_data_list([featurizer.graph(s) for s in
                                  (rocksalt, crushed(rocksalt, 0.8), binary("Mg"), silicon())])
    stds = {"bulk": np.array([0.05, 0.05, 0.05, 0.2])}
    flags, notes = domain_columns([("bulk", domain), ("shear", domain)], batch, stds)
    assert flags == [True, False, False, False]
    assert notes[0] == "" and "below the shortest in training (2.82 Å)" in notes[1]
    assert notes[2] == "element(s) not in training data: O, Mg"
    assert notes[3] == "bulk ensemble std 0.200 above the calibrated range (<= 0.100 log10 GPa on validation)"
    unknown_flags, unknown_notes = domain_columns([("bulk", None), ("shear", domain)], batch, stds)
    assert unknown_flags == [None, False, False, None]
    assert unknown_notes[0] == "no training domain recorded for the bulk model"
