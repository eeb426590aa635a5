"""End-to-end training through the real Hydra config, on real MP structures."""
import csv
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.errors import ConfigCompositionException
from pymatgen.core import Lattice, Structure

import moduli
from moduli.graphs.featurizer import Featurization
from moduli.core.errors import UserInputError
from moduli.train.run import train

REPO = Path(__file__).resolve().parents[1]
SPLITS = ("train", "val", "test")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, config):
    out = tmp_path_factory.mktemp("run")
    cfg = config("train", "data.limit=200", "trainer.max_epochs=2", f"paths.output_dir={out}",
                        "trainer.enable_progress_bar=false")
    value = train(cfg)
    return out, value


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_train_writes_every_file(trained_run):
    out, value = trained_run
    metrics = json.loads((out / "metrics.json").read_text())
    for split in SPLITS:
        for name in ("mae", "r2"):
            assert np.isfinite(metrics[f"{split}/{name}"])
        rows = read_csv(out / "predictions" / f"{split}.csv")
        assert list(rows[0]) == ["id", "target", "prediction"] and len(rows) == metrics[f"n/{split}"]
        assert (out / f"parity_{split}.png").stat().st_size > 10_000
    assert metrics["n/train"] + metrics["n/val"] + metrics["n/test"] == 200
    assert value == metrics["val/mae"]
    # The reported MAE is the one of the written predictions.
    rows = read_csv(out / "predictions" / "test.csv")
    mae = np.mean([abs(float(r["target"]) - float(r["prediction"])) for r in rows])
    assert mae == pytest.approx(metrics["test/mae"], abs=1e-5)
    assert read_csv(out / "rejected.csv") == []
    assert (out / "checkpoints" / "last.ckpt").is_file()
    assert (out / metrics["best_checkpoint"]).is_file()
    assert list((out / "wandb").glob("offline-run-*")), "no offline W&B run written"
    images = list((out / "wandb").glob("offline-run-*/files/media/images/parity_*.png"))
    assert len(images) == len(SPLITS), "parity plots not logged to W&B as images"
    assert "log10_g_vrh" in (out / "config.yaml").read_text()


def test_checkpoint_round_trip(trained_run, mp_records):
    out, _ = trained_run
    ckpt = out / json.loads((out / "metrics.json").read_text())["best_checkpoint"]
    torch.load(ckpt, map_location="cpu", weights_only=True)  # plain containers only
    model = moduli.load_model(ckpt)
    assert model.target == {"name": "log10_g_vrh", "quantity": "shear modulus (Voigt-Reuss-Hill)",
                            "units": "log10(GPa)"}
    assert model.featurization.radius == 8.0 and model.featurization.max_neighbors == 12
    rows = read_csv(out / "predictions" / "test.csv")
    by_id = {r.id: r.structure for r in mp_records}
    predicted = model.predict([by_id[row["id"]] for row in rows])
    np.testing.assert_allclose(predicted, [float(r["prediction"]) for r in rows], atol=2e-6)


def test_featurisation_mismatch_is_an_error(trained_run, mp_records):
    out, _ = trained_run
    model = moduli.load_model(out / "checkpoints" / "last.ckpt")
    graph = model.featurizer.graph(mp_records[0].structure)
    other = Featurization(6.0, 12, 0.2, model.featurization.atom_table_sha256)
    with pytest.raises(ValueError, match="radius: model 8.0 vs data 6.0"):
        model.predict_graphs([graph], other)


def test_same_seed_same_metrics(tmp_path, config):
    runs = []
    for name in ("a", "b"):
        cfg = config("train", "data.limit=120", "trainer.max_epochs=2", "logger=none",
                            f"paths.output_dir={tmp_path / name}", "trainer.enable_progress_bar=false")
        train(cfg)
        runs.append(json.loads((tmp_path / name / "metrics.json").read_text()))
    runs[0].pop("best_checkpoint"), runs[1].pop("best_checkpoint")
    assert runs[0] == runs[1]


def test_bad_inputs_are_rejected_and_the_run_goes_on(tmp_path, mp_records, config):
    rows = [{"material_id": r.id, "structure": r.structure.as_dict(),
             "G_VRH": 10 ** r.targets["log10_g_vrh"]} for r in mp_records[:80]]
    disordered = mp_records[0].structure.copy()
    disordered.replace_species({disordered[0].specie: {disordered[0].specie: 0.5, "K": 0.5}})
    overlapping = Structure(Lattice.cubic(5.0), ["Si", "Si"], [[0, 0, 0], [0.05, 0, 0]])
    rows += [{"material_id": "bad-disordered", "structure": disordered.as_dict(), "G_VRH": 10.0},
             {"material_id": "bad-overlap", "structure": overlapping.as_dict(), "G_VRH": 10.0},
             {"material_id": "bad-modulus", "structure": rows[0]["structure"], "G_VRH": -3.0},
             {"material_id": "bad-structure", "structure": "not a structure", "G_VRH": 10.0}]
    path = tmp_path / "structures.json.gz"
    with gzip.open(path, "wt") as handle:
        json.dump(rows, handle)
    out = tmp_path / "run"
    cfg = config("train", "data=structures_json", f"data.source.path={path}",
                        "data.source.target_column=G_VRH", "trainer.max_epochs=1", "logger=csv",
                        f"paths.output_dir={out}", "trainer.enable_progress_bar=false")
    train(cfg)
    rejected = {r["id"]: r for r in read_csv(out / "rejected.csv")}
    assert set(rejected) == {"bad-disordered", "bad-overlap", "bad-modulus", "bad-structure"}
    assert rejected["bad-overlap"]["stage"] == "featurize"
    assert "closer than" in rejected["bad-overlap"]["reason"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n/rejected"] == 4 and metrics["n/train"] + metrics["n/val"] + metrics["n/test"] == 80


def test_experiment_configs_compose(config):
    gvrh = config("train", "experiment=paper_gvrh")
    assert gvrh.data.source.task == "matbench_log_gvrh" and gvrh.data.target == "log10_g_vrh"
    assert gvrh.data.fold == 0 and gvrh.model.net.n_conv == 3 and gvrh.model.net.n_h == 2
    kvrh = config("train", "experiment=paper_kvrh")
    assert kvrh.data.matbench_task == "matbench_log_kvrh" and kvrh.data.target == "log10_k_vrh"
    paper_mp = config("train", "experiment=mp_elastic_paper", "logger=csv")
    assert paper_mp.data.fold == 0 and list(paper_mp.logger) == ["csv"]
    with pytest.raises(ConfigCompositionException, match="nonexistent_key"):  # unknown keys are errors
        config("train", "model.nonexistent_key=2")


def test_command_line_entry_point(tmp_path):
    out = tmp_path / "cli"
    result = subprocess.run(
        [sys.executable, "train.py", "debug=fast", "data.target=log10_k_vrh", "logger=csv",
         "trainer.enable_progress_bar=false", f"hydra.run.dir={out}"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n/train"] + metrics["n/val"] + metrics["n/test"] == 200
    assert (out / "csv").is_dir() and (out / "config.yaml").is_file()


@pytest.mark.slow  # multi-process; `make test-all`
def test_two_cpu_processes_train_and_rank_zero_writes_every_id_once(tmp_path, mp_records):
    from moduli.data.splits import random_split

    out = tmp_path / "ddp"
    command = [sys.executable, "train.py", "data.limit=200", "trainer.max_epochs=2", "logger=none",
               "trainer.devices=2", "trainer.strategy=ddp", "trainer.enable_progress_bar=false",
               f"hydra.run.dir={out}"]
    result = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stdout.count("cgcnn: train/mae=") == 1  # the final line, from rank 0 only
    expected = random_split([r.id for r in mp_records[:200]], (0.8, 0.1, 0.1), 42)
    for split in SPLITS:
        ids = [row["id"] for row in read_csv(out / "predictions" / f"{split}.csv")]
        assert ids == expected[split]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n/train"] == len(expected["train"]) and np.isfinite(metrics["test/mae"])


RECIPE = ["data.limit=120", "trainer.max_epochs=2", "data.batch_size=32", "logger=none",
          "trainer.enable_progress_bar=false", "model.net.n_conv=4", "model.net.h_fea_len=32",
          "model.net.dropout=0.2", "model.loss=l1", "model.optimizer.name=adamw",
          "model.optimizer.weight_decay=0.01", "model.optimizer.pretrained_lr_scale=0.1",
          "model.init_from=cgcnn_formation_energy", "model.freeze_convs=2",
          "trainer.gradient_clip_val=1.0", "callbacks.early_stopping.patience=5"]


@pytest.mark.parametrize("schedule", ["{name: warmup_cosine, warmup_epochs: 1}", "{name: onecycle}"])
def test_every_recipe_option_composes_and_trains(tmp_path, config, data_dir, schedule):
    cfg = config("train", *RECIPE, f"model.scheduler={schedule}", f"paths.output_dir={tmp_path}")
    assert cfg.model.scheduler.name in schedule and cfg.model.optimizer.name == "adamw"
    train(cfg)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    best = torch.load(tmp_path / metrics["best_checkpoint"], map_location="cpu", weights_only=True)
    assert best["hyper_parameters"]["frozen_convs"] == 2 and best["hyper_parameters"]["net"]["dropout"] == 0.2
    source = torch.load(data_dir / "cgcnn_reference" / "pretrained" / "formation-energy-per-atom.pth.tar",
                        map_location="cpu", weights_only=True)["state_dict"]
    state = {k.removeprefix("model."): v for k, v in best["state_dict"].items()}
    for name in ("embedding.weight", "convs.0.fc_full.weight", "convs.1.fc_full.bias"):
        assert torch.equal(state[name], source[name]), f"{name} was frozen but changed"
    assert not torch.equal(state["convs.2.fc_full.weight"], source["convs.2.fc_full.weight"])
    lrs = [group["initial_lr"] for group in best["optimizer_states"][0]["param_groups"]]
    assert len(lrs) == 2 and lrs[0] < lrs[1]  # convolutions 2-3 at a tenth of the head's rate


@pytest.mark.parametrize("experiment", ["paper_gvrh", "paper_kvrh", "mp_elastic_paper", "mp_elastic_bundle",
                                        "mp_elastic_tuned_g"])
def test_the_paper_experiments_keep_the_original_recipe(config, experiment):
    """model=cgcnn is the recipe measured better (issue 9); every experiment that reproduces the
    paper or records a run made with the original recipe selects model=cgcnn_paper."""
    model = config("train", f"experiment={experiment}").model
    assert (model.loss, model.optimizer.name, model.optimizer.weight_decay, model.scheduler,
            model.net.dropout) == ("mse", "adam", 0.0, None, 0.0)


def test_the_default_cgcnn_recipe_is_the_one_chosen_on_validation(config):
    for cfg in (config("train"), config("train", "experiment=mp_elastic_recipe")):
        model = cfg.model
        assert (model.loss, model.optimizer.name, model.optimizer.weight_decay, model.net.dropout) == \
            ("l1", "adamw", 0.01, 0.1)
        assert dict(model.scheduler) == {"name": "warmup_cosine", "warmup_epochs": 10}
    recipe = config("train", "experiment=mp_elastic_recipe")
    assert (recipe.model.net.n_h, recipe.data.batch_size, recipe.trainer.max_epochs) == (2, 128, 300)


def test_a_resumed_run_on_changed_data_is_refused(tmp_path, mp_records, config):
    """The run dir records its split's fingerprint (ids and targets); a rerun after the data file
    changed stops with one line instead of resuming on other data."""
    rows = [{"material_id": r.id, "structure": r.structure.as_dict(), "G_VRH": 10 ** r.targets["log10_g_vrh"]}
            for r in mp_records[:60]]
    path = tmp_path / "structures.json"
    path.write_text(json.dumps(rows))
    out = tmp_path / "run"

    def settings():
        return config("train", "data=structures_json", f"data.source.path={path}", "model=dt",
                      "data.source.target_column=G_VRH", "logger=none", f"paths.output_dir={out}")

    train(settings())
    assert json.loads((out / "data_fingerprint.json").read_text())["sizes"]["train"] > 0
    (out / "metrics.json").unlink()  # as if it had been stopped
    rows[5]["G_VRH"] *= 2
    path.write_text(json.dumps(rows))
    with pytest.raises(UserInputError, match="holds a run on other data"):
        train(settings())
