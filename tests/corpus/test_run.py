"""predict.py end to end: screening counts, schema, ensembles, DDP on CPU, kill and resume."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Structure

import moduli
from moduli.physics.derived import derived_properties
from moduli.physics.derived import PREDICTION_COLUMNS as COLUMNS
from moduli.core.structures import read_json
from moduli.core.errors import NothingPredicted
from moduli.corpus.run import predict
from tests.corpus.conftest import BAD_IDS
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


def run_cli(out, corpus, bulk, shear, *extra, wait=True):
    command = [sys.executable, "predict.py", f"corpus.path={corpus}", f"ckpt.bulk={bulk}",
               f"ckpt.shear={shear}", f"hydra.run.dir={out}", "progress=false",
               "figures=false", *extra]  # figures are tested on single_run
    if not wait:
        return subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    return pd.read_parquet(out / "predictions.parquet")


@pytest.fixture(scope="module")
def single_run(tmp_path_factory, small_corpus, pretrained, config):
    out = tmp_path_factory.mktemp("predict")
    cfg = config("predict", f"corpus.path={small_corpus[0]}", f"ckpt.bulk={pretrained[0]}",
                 f"ckpt.shear={pretrained[1]}", f"paths.output_dir={out}", "chunk_size=40",
                 "num_workers=0", "write_csv=true", "progress=false", "wandb.mode=offline")
    summary = predict(cfg)
    return out, summary


def test_every_screened_input_is_predicted_once_and_bad_ones_are_rejected(single_run, small_corpus):
    out, summary = single_run
    table = pd.read_parquet(out / "predictions.parquet")
    assert table["id"].tolist() == small_corpus[1]  # input order, each once
    assert list(table.columns) == COLUMNS + ["band_gap_ev"]
    assert pd.read_csv(out / "predictions.csv")["id"].tolist() == small_corpus[1]
    rejected = pd.read_csv(out / "rejected.csv")
    stages = dict(zip(rejected["id"], rejected["stage"]))
    for bad_id, stage in BAD_IDS.items():
        assert stages[bad_id] == stage
    n_input = len(read_json(small_corpus[0]))
    assert len(rejected) + len(table) == n_input  # nothing silently dropped
    counts = dict(json.loads((out / "screening.json").read_text())["counts"])
    n_gap = sum(1 for s in stages.values() if s == "band_gap")
    assert counts["input"] == n_input and counts["after_band_gap"] == n_input - n_gap
    assert counts["after_featurize"] == summary["predicted"] == len(table)
    assert not list((out / "shards").glob("*.tmp"))


def test_values_match_the_api_and_the_physics(single_run, small_corpus, pretrained, dielectric_rows):
    out, _ = single_run
    table = pd.read_parquet(out / "predictions.parquet").set_index("id")
    by_id = {r["material_id"]: r for r in dielectric_rows}
    ids = table.index[:20]
    structures = [Structure.from_dict(by_id[i]["structure"]) for i in ids]
    for column, path in (("bulk_modulus_gpa", pretrained[0]), ("shear_modulus_gpa", pretrained[1])):
        expected = 10 ** moduli.load_model(path).predict(structures)
        np.testing.assert_allclose(table.loc[ids, column], expected, rtol=1e-5)
    rows = table.loc[ids]
    derived = derived_properties(rows["bulk_modulus_gpa"], rows["shear_modulus_gpa"],
                                 rows["density_g_cm3"], rows["n_atoms"], rows["volume_a3"], rows["mass_amu"])
    for column, values in derived.items():
        np.testing.assert_allclose(rows[column], values, rtol=1e-9)
    for structure, (_, row) in zip(structures, rows.iterrows()):
        primitive = structure.get_primitive_structure(tolerance=0.1)
        assert row["n_atoms"] == len(primitive)
        assert row["volume_a3"] == pytest.approx(primitive.volume, rel=1e-6)
        assert row["mass_amu"] == pytest.approx(primitive.composition.weight, rel=1e-6)
        assert row["band_gap_ev"] == by_id[row.name]["band_gap"]
    assert (table["v_longitudinal_m_s"] > table["v_transverse_m_s"]).all()
    assert set(table["crystal_system"]) <= {"triclinic", "monoclinic", "orthorhombic", "tetragonal",
                                            "trigonal", "hexagonal", "cubic"}


def test_ensemble_reports_mean_and_std(tmp_path, small_corpus, pretrained, single_run, config):
    out = tmp_path / "ensemble"
    cfg = config("predict", f"corpus.path={small_corpus[0]}", f"ckpt.bulk=[{pretrained[0]},{pretrained[0]}]",
                          f"ckpt.shear=[{pretrained[1]},{pretrained[0]}]", f"paths.output_dir={out}",
                          "num_workers=0", "progress=false", "figures=false")
    predict(cfg)
    table = pd.read_parquet(out / "predictions.parquet")
    single = pd.read_parquet(single_run[0] / "predictions.parquet")
    np.testing.assert_allclose(table["bulk_modulus_gpa"], single["bulk_modulus_gpa"], rtol=1e-9)
    np.testing.assert_allclose(table["bulk_modulus_gpa_std"], 0.0, atol=1e-9)
    # shear = 10 ** mean(log10 G_shear-model, log10 B_bulk-model); std over the members in GPa
    g, b = single["shear_modulus_gpa"].to_numpy(), single["bulk_modulus_gpa"].to_numpy()
    np.testing.assert_allclose(table["shear_modulus_gpa"], np.sqrt(g * b), rtol=1e-6)
    np.testing.assert_allclose(table["shear_modulus_gpa_std"], np.abs(g - b) / 2, rtol=1e-6)


def test_checkpoint_for_the_wrong_modulus_is_refused(tmp_path, small_corpus, pretrained):
    from moduli.models.ensemble import EnsembleModel
    from moduli.corpus.predictor import EnsemblePredictor

    shear = moduli.load_model(pretrained[1])
    shear.target = {"name": "log10_g_vrh", "units": "log10(GPa)"}
    with pytest.raises(ValueError, match="given for bulk predicts log10_g_vrh"):
        EnsemblePredictor({"bulk": EnsembleModel([shear]), "shear": EnsembleModel([shear])})


@pytest.mark.slow  # multi-process; `make test-all`
def test_two_cpu_processes_give_the_same_rows_as_one(tmp_path, small_corpus, pretrained, single_run):
    table = run_cli(tmp_path / "ddp", small_corpus[0], *pretrained, "trainer.devices=2",
                    "trainer.strategy=ddp", "chunk_size=50", "num_workers=0")
    single = pd.read_parquet(single_run[0] / "predictions.parquet")
    assert table["id"].tolist() == single["id"].tolist()
    pd.testing.assert_frame_equal(table, single, check_exact=False, rtol=1e-5)
    shards = sorted(p.name for p in (tmp_path / "ddp" / "shards").glob("*.rows.parquet"))
    assert any(".rank-1." in s for s in shards)  # the second process really worked


def test_kill_and_resume_loses_and_duplicates_nothing(tmp_path, small_corpus, pretrained, single_run):
    out = tmp_path / "resume"
    args = ("chunk_size=10", "num_workers=0")
    process = run_cli(out, small_corpus[0], *pretrained, *args, wait=False)
    wait_for(process, (out / "shards" / "chunk-00002.done.json").exists, "chunk 2's marker")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "predictions.parquet").exists()
    done_before = {p.name for p in (out / "shards").glob("*.done.json")}
    table = run_cli(out, small_corpus[0], *pretrained, *args)
    single = pd.read_parquet(single_run[0] / "predictions.parquet")
    assert table["id"].tolist() == single["id"].tolist()
    pd.testing.assert_frame_equal(table, single, check_exact=False, rtol=1e-5)
    assert not list(out.glob(".screened_out.*"))  # the killed run's leftovers are gone
    log = (out / "predict.log").read_text()
    assert sum(f"chunk {int(name[6:11])}: already done" in log for name in done_before) == len(done_before)


def test_figures_are_written_and_logged_to_wandb_as_images(single_run):
    out, summary = single_run
    table = pd.read_parquet(out / "predictions.parquet")
    figures = out / "figures"
    names = {p.name for p in figures.iterdir()}
    for stem in ("crystal_systems", "atoms_per_cell", "element_frequency", "periodic_table", "moduli_map",
                 "moduli_by_system", "derived"):
        assert {f"corpus_{stem}.png", f"corpus_{stem}.svg"} <= names
    text = (figures / "summary.md").read_text()
    assert f"| all | {len(table)} |" in text  # the moduli-by-system table
    for system, n in table["crystal_system"].value_counts().items():
        assert f"| {system} | {n} |" in text
    logged = sorted(p.name for p in out.glob("wandb/offline-run-*/files/media/images/figures/*.png"))
    assert len(logged) == 7 and all(name.startswith("corpus_") for name in logged)


def test_a_repeated_id_is_predicted_once_and_the_repeat_rejected(tmp_path, dielectric_rows, pretrained, config):
    rows = [{"material_id": r["material_id"], "structure": r["structure"]} for r in dielectric_rows[:4]]
    rows.append({"material_id": rows[0]["material_id"], "structure": rows[1]["structure"]})
    corpus = tmp_path / "repeated.json"
    corpus.write_text(json.dumps(rows))
    out = tmp_path / "out"
    cfg = config("predict", f"corpus.path={corpus}", "screen=none", f"ckpt.bulk={pretrained[0]}",
                          f"ckpt.shear={pretrained[1]}", f"paths.output_dir={out}", "num_workers=0",
                          "progress=false", "figures=false")
    summary = predict(cfg)
    table = pd.read_parquet(out / "predictions.parquet")
    assert table["id"].tolist() == [r["material_id"] for r in rows[:4]]
    first = Structure.from_dict(rows[0]["structure"])
    assert table.loc[0, "formula"] == first.composition.reduced_formula
    rejected = pd.read_csv(out / "rejected.csv")
    assert rejected.values.tolist() == [[rows[0]["material_id"], "duplicate",
                                         "repeated id: input 5 has the id of input 1, the one used"]]
    assert summary["rejected_by_stage"] == {"duplicate": 1}
    assert dict(summary["counts"])["after_duplicate"] == 4


def test_the_paper_screen_on_files_without_band_gaps_predicts_nothing_and_says_why(tmp_path, dielectric_rows,
                                                                       pretrained, caplog, config):
    folder = tmp_path / "cifs"
    folder.mkdir()
    for row in dielectric_rows[:3]:
        Structure.from_dict(row["structure"]).to(filename=str(folder / f"{row['material_id']}.cif"))
    cfg = config("predict", "corpus=files", f"corpus.path={folder}", f"ckpt.bulk={pretrained[0]}",
                 f"ckpt.shear={pretrained[1]}", f"paths.output_dir={tmp_path / 'out'}", "screen=paper",
                 "num_workers=0", "progress=false", "figures=false")
    with caplog.at_level("WARNING"), pytest.raises(NothingPredicted, match=r"^0 predictions from 3 inputs; "
                                                  r"rejected by stage: band_gap 3 \(reasons in "):
        predict(cfg)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("gives no band gap (corpus=files)" in w and "screen=none" in w for w in warnings)
    assert (tmp_path / "out" / "rejected.csv").read_text().count("no band gap given") == 3
    # The default screen (auto) leaves inputs without a band gap to the other rules.
    auto = config("predict", "corpus=files", f"corpus.path={folder}", f"ckpt.bulk={pretrained[0]}",
                  f"ckpt.shear={pretrained[1]}", f"paths.output_dir={tmp_path / 'auto'}",
                  "num_workers=0", "progress=false", "figures=false")
    assert predict(auto)["predicted"] == 3


def test_a_cut_off_json_line_is_rejected_as_unreadable_not_screened(tmp_path, dielectric_rows, pretrained, config):
    lines = [json.dumps({"material_id": r["material_id"], "structure": r["structure"],
                         "band_gap": r["band_gap"]}) for r in dielectric_rows[:3]]
    corpus = tmp_path / "cut.jsonl"
    corpus.write_text("\n".join(lines[:2] + [lines[2][:len(lines[2]) // 2]]))
    out = tmp_path / "out"
    cfg = config("predict", f"corpus.path={corpus}", f"ckpt.bulk={pretrained[0]}", f"ckpt.shear={pretrained[1]}",
                          "screen=none", f"paths.output_dir={out}", "num_workers=0", "progress=false",
                          "figures=false")
    predict(cfg)
    rejected = pd.read_csv(out / "rejected.csv")
    assert rejected[["id", "stage"]].values.tolist() == [["line-3", "parse"]]
    assert rejected["reason"][0].startswith("unreadable JSON on line 3 (")


def test_rejections_say_what_is_wrong_in_words(tmp_path, rocksalt, pretrained, config):
    def edited(change):
        d = rocksalt.as_dict()
        change(d)
        return d

    def nan_site(d):
        d["sites"][0]["abc"] = [float("nan"), 0.0, 0.0]
        d["sites"][0].pop("xyz", None)

    rows = {"no-structure-text": "this is not a crystal\n",
            "no-sites": edited(lambda d: d.update(sites=[])),
            "singular": edited(lambda d: d["lattice"].update(matrix=[[1, 0, 0], [2, 0, 0], [0, 0, 1]])),
            "inf-lattice": edited(lambda d: d["lattice"].update(matrix=[[float("inf"), 0, 0], [0, 4, 0], [0, 0, 4]])),
            "nan-coordinates": edited(nan_site)}
    corpus = tmp_path / "bad.json"
    corpus.write_text(json.dumps([{"material_id": k, "structure": v} for k, v in rows.items()]))
    out = tmp_path / "out"
    with pytest.raises(NothingPredicted):
        predict(config("predict", f"corpus.path={corpus}", "screen=none", f"ckpt.bulk={pretrained[0]}",
                       f"ckpt.shear={pretrained[1]}", f"paths.output_dir={out}", "num_workers=0",
                       "progress=false", "figures=false"))
    reasons = {r.id: (r.stage, r.reason) for r in pd.read_csv(out / "rejected.csv").itertuples()}
    assert reasons == {
        "no-structure-text": ("parse", "unreadable structure: text that is neither CIF nor POSCAR"),
        "no-sites": ("parse", "unreadable structure: no sites"),
        "singular": ("featurize", "singular lattice (cell volume 0 Å³)"),
        "inf-lattice": ("featurize", "non-finite lattice vectors"),
        "nan-coordinates": ("featurize", "non-finite atomic coordinates")}
