import gzip
import json
import math
import urllib.request
from pathlib import Path

import pytest

from moduli.core import assets
from moduli.data.sources import (load_cif_folder, load_matbench, load_mp_elastic, load_structures_json,
                                 moduli_problem, read_json)


def test_mp_elastic_union_cleaning_and_order(data_dir, mp_records):
    newer = {r["mp_id"]: r for r in read_json(data_dir / "mp_binary_elasticity_2025.1_matcalc.json.gz")}
    older = read_json(data_dir / "matminer_elastic_tensor_2015.json.gz")
    older_ids = {row[0] for row in older["data"]}
    assert len(mp_records) == len(newer.keys() | older_ids) == 4411
    ids = [r.id for r in mp_records]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    by_id = {r.id: r for r in mp_records}
    shared = sorted(newer.keys() & older_ids)
    assert len(shared) == 723
    for mid in shared[:50]:  # the 2025 values win on overlap
        assert by_id[mid].targets["log10_g_vrh"] == pytest.approx(math.log10(newer[mid]["shear_modulus_vrh"]))
        assert by_id[mid].targets["log10_k_vrh"] == pytest.approx(math.log10(newer[mid]["bulk_modulus_vrh"]))


def test_moduli_cleaning_rules():
    assert moduli_problem({"K_VRH": 100.0, "G_VRH": 40.0}) is None
    assert "non-positive" in moduli_problem({"K_VRH": 100.0, "G_VRH": 0.0})
    assert "non-finite" in moduli_problem({"K_VRH": float("nan"), "G_VRH": 1.0})
    assert "G_Reuss" in moduli_problem({"G_Reuss": 50.0, "G_VRH": 40.0, "G_Voigt": 60.0})
    assert "K_Voigt" in moduli_problem({"K_Reuss": 90.0, "K_VRH": 100.0, "K_Voigt": 95.0})
    assert moduli_problem({"K_Reuss": 90.0, "K_VRH": 100.0, "K_Voigt": 110.0}) is None


def test_cif_folder_reads_cgcnn_layout(data_dir):
    records, rejections = load_cif_folder(data_dir / "cgcnn_reference" / "sample-regression", "log10_k_vrh")
    assert len(records) == 10 and not rejections
    nacl = {r.id: r for r in records}["1000041"]
    assert nacl.structure.composition.reduced_formula == "NaCl" and nacl.targets["log10_k_vrh"] == 1.0


def test_structures_json_rejects_bad_rows_with_reasons(tmp_path, rocksalt):
    rows = [{"material_id": "good", "structure": rocksalt.as_dict(), "G_VRH": 15.0},
            {"material_id": "zero", "structure": rocksalt.as_dict(), "G_VRH": 0.0},
            {"material_id": "nan", "structure": rocksalt.as_dict(), "G_VRH": float("nan")},
            {"material_id": "broken", "structure": {"lattice": "nonsense"}, "G_VRH": 10.0},
            {"material_id": "cif", "structure": rocksalt.to(fmt="cif"), "G_VRH": 20.0}]
    path = tmp_path / "s.json.gz"
    with gzip.open(path, "wt") as handle:
        json.dump(rows, handle)
    records, rejections = load_structures_json(path, "log10_g_vrh", "G_VRH")
    assert [r.id for r in records] == ["cif", "good"]
    assert records[1].targets["log10_g_vrh"] == pytest.approx(math.log10(15.0))
    reasons = {r.id: r.reason for r in rejections}
    assert set(reasons) == {"zero", "nan", "broken"}
    assert "non-positive" in reasons["zero"] and reasons["broken"] == "unreadable structure: no sites"


def test_structures_json_lines_are_read_as_prediction_corpora_read_them(tmp_path, rocksalt):
    """The same rows as JSON Lines (the format corpora stream): same records; a cut-off line is
    rejected as line-N, as predict.py rejects it."""
    from moduli.corpus.readers import read_structures_json

    lines = [json.dumps({"material_id": m, "structure": rocksalt.as_dict(), "G_VRH": g})
             for m, g in (("a", 10.0), ("b", 20.0))]
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(lines + [lines[0][:40]]) + "\n")
    records, rejections = load_structures_json(path, "log10_g_vrh", "G_VRH")
    assert [r.id for r in records] == ["a", "b"] and records[1].targets["log10_g_vrh"] == pytest.approx(math.log10(20))
    assert [(r.id, r.reason.split(" (")[0]) for r in rejections] == [("line-3", "unreadable JSON on line 3")]
    entries = list(read_structures_json(path, band_gap_column=None))
    assert [e.id for e in entries] == ["a", "b", "line-3"]
    assert entries[2].metadata["unreadable"] == rejections[0].reason


def test_matbench_offline_without_file_fails_fast_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv(assets.DATA_DIR_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv(assets.CACHE_DIR_ENV, str(tmp_path / "cache"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(assets.AssetUnavailableError, match="matbench_log_gvrh.json.gz.*Put the file at"):
        load_matbench("matbench_log_gvrh")


def test_matbench_file_in_data_dir_is_read_with_matbench_ids(tmp_path, monkeypatch, mp_records):
    from matminer.utils.io import store_dataframe_as_json
    import pandas as pd

    frame = pd.DataFrame({"structure": [r.structure for r in mp_records[:5]],
                          "log10(K_VRH)": [r.targets["log10_k_vrh"] for r in mp_records[:5]]})
    store_dataframe_as_json(frame, str(tmp_path / "matbench_log_kvrh.json.gz"), compression="gz")
    records, rejections = load_matbench("matbench_log_kvrh", tmp_path)
    assert [r.id for r in records] == [f"mb-log-kvrh-{i:05d}" for i in range(1, 6)]
    assert records[2].targets["log10_k_vrh"] == pytest.approx(mp_records[2].targets["log10_k_vrh"])


def test_asset_with_wrong_hash_is_refused(tmp_path):
    fake = tmp_path / "cgcnn_reference" / "atom_init.json"
    fake.parent.mkdir()
    fake.write_text("{}")
    with pytest.raises(ValueError, match="does not match the sha256"):
        assets.fetch("cgcnn_atom_init", tmp_path, download=False)


def test_asset_download_verifies_and_moves_into_place(tmp_path, monkeypatch, data_dir):
    source = data_dir / "cgcnn_reference" / "atom_init.json"
    monkeypatch.setenv(assets.DATA_DIR_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv(assets.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: open(source, "rb"))
    path = assets.fetch("cgcnn_atom_init")
    assert path == tmp_path / "cache" / "data" / "cgcnn_reference" / "atom_init.json"
    assert path.read_bytes() == Path(source).read_bytes()


def test_a_repeated_id_keeps_the_first_record_and_rejects_the_later_one(tmp_path, rocksalt):
    other = rocksalt.copy()
    other.scale_lattice(rocksalt.volume * 1.2)
    rows = [{"material_id": "a", "structure": rocksalt.as_dict(), "G_VRH": 15.0},
            {"material_id": "b", "structure": rocksalt.as_dict(), "G_VRH": 30.0},
            {"material_id": "a", "structure": other.as_dict(), "G_VRH": 99.0}]
    path = tmp_path / "repeated.json"
    path.write_text(json.dumps(rows))
    records, rejections = load_structures_json(path, "log10_g_vrh", "G_VRH")
    assert [r.id for r in records] == ["a", "b"]
    assert records[0].targets["log10_g_vrh"] == pytest.approx(math.log10(15.0))
    assert records[0].structure.volume == pytest.approx(rocksalt.volume)
    assert [(r.id, r.stage) for r in rejections] == [("a", "data")]
    assert rejections[0].reason == "repeated id: entry 3 has the id of entry 1, the one used"


def test_a_repeated_id_within_an_mp_elastic_file_is_rejected(tmp_path, data_dir, monkeypatch):
    import shutil

    newer = json.loads(gzip.open(data_dir / "mp_binary_elasticity_2025.1_matcalc.json.gz", "rt").read())
    repeat = dict(newer[0], bulk_modulus_vrh=newer[0]["bulk_modulus_vrh"] * 2)
    with gzip.open(tmp_path / "mp_binary_elasticity_2025.1_matcalc.json.gz", "wt") as handle:
        json.dump(newer + [repeat], handle)
    shutil.copy(data_dir / "matminer_elastic_tensor_2015.json.gz", tmp_path)
    monkeypatch.setattr("moduli.core.assets._verify", lambda path, asset: None)  # edited copy
    records, rejections = load_mp_elastic(tmp_path)
    assert len(records) == 4411
    kept = {r.id: r for r in records}[newer[0]["mp_id"]]
    assert kept.targets["log10_k_vrh"] == pytest.approx(math.log10(newer[0]["bulk_modulus_vrh"]))
    assert [r.reason for r in rejections] == [
        f"repeated id in mp_binary_elasticity_2025.1_matcalc.json.gz: entry {len(newer) + 1} has "
        "the id of entry 1, the one used"]


def test_a_derived_asset_is_never_downloaded_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv(assets.DATA_DIR_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv(assets.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("no download of a subset"))
    with pytest.raises(assets.AssetUnavailableError, match="superhard_training_subset.*derived file with no download"):
        assets.fetch("brgoch_superhard_subset")


@pytest.fixture(scope="module")
def brgoch(data_dir):
    from moduli.data.sources import load_brgoch_new

    return load_brgoch_new(data_dir)


def test_brgoch_new_follows_the_data_readme_rule(brgoch, data_dir, mp_records):
    """Every row of the file is a record or a rejection with its reason; no record is in
    mp_elastic, the legacy-tensor check set, flagged suspect, or the same crystal as one of those."""
    from moduli.core.structures import read_json, table_rows

    records, rejections = brgoch
    rows = table_rows(read_json(data_dir / "matminer_brgoch_superhard_training_subset.json.gz"))
    held_out = table_rows(json.loads((data_dir / "mp_elastic_tensors_1211_trachote.json").read_text()))
    assert len(records) + len(rejections) == len(rows) == 2223
    ids = {r.id for r in records}
    assert not ids & {r.id for r in mp_records} and not ids & {row["material_id"] for row in held_out}
    suspect = {row["material_id"] for row in rows if row["suspect_value"]}
    assert not ids & suspect
    reasons = {r.id: r.reason for r in rejections}
    assert reasons["mp-4673"] == "the same crystal as check-set record mp-3378 (StructureMatcher)"
    assert reasons["mp-5986"] == "the same crystal as mp_elastic record mp-2998 (StructureMatcher)"
    assert sum(r.reason == "no material_id" for r in rejections) == 34
    assert 500 < len(records) < 560  # the README's "about 550 new ids", less suspect rows and repeats
    by_id = {row["material_id"]: row for row in rows}
    for record in records[:20]:
        assert record.targets["log10_k_vrh"] == pytest.approx(math.log10(by_id[record.id]["bulk_modulus"]))
        assert record.targets["log10_g_vrh"] == pytest.approx(math.log10(by_id[record.id]["shear_modulus"]))


def test_extra_training_records_join_the_training_part_only(brgoch, data_dir, tmp_path):
    """With data.extra_train the validation and test ids are the same as without; the extra
    records are all in training; rejected rows are reported."""
    from functools import partial

    from moduli.data.datamodule import CrystalGraphDataModule

    made = {}
    for extra in ([], ["brgoch_new"]):
        made[bool(extra)] = module = CrystalGraphDataModule(
            partial(load_mp_elastic, data_dir), "log10_g_vrh", limit=300, fold=2, seed=42,
            data_dir=str(data_dir), cache_dir=str(tmp_path), extra_train=extra)
        module.setup()
    plain, more = made[False], made[True]
    extra_ids = [r.id for r in brgoch[0]]
    for split in ("val", "test"):
        assert more.split_ids[split] == plain.split_ids[split]
    assert more.split_ids["train"] == plain.split_ids["train"] + extra_ids
    assert len(more.graphs["train"]) == len(plain.graphs["train"]) + len(extra_ids)
    assert len(more.rejections) == len(plain.rejections) + len(brgoch[1])
