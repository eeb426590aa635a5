"""Bundled ensembles by name, their cards, building a bundle from runs, safe checkpoint reading."""
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import moduli
from moduli.analysis import runs
from moduli.models.ensemble import EnsembleModel
from moduli.models.registry import BUNDLED_DIR, load_bundled, sha256_of

from tests.crafted import RunsCode

REPO = Path(__file__).resolve().parents[2]
NAMES = {"mp-elastic-k": "log10_k_vrh", "mp-elastic-g": "log10_g_vrh",
         "mp-elastic-k-fast": "log10_k_vrh", "mp-elastic-g-fast": "log10_g_vrh",
         "mp-elastic-k-accurate": "log10_k_vrh", "mp-elastic-g-accurate": "log10_g_vrh"}
ACCURATE_SAMPLE = 8  # the accurate bundles' shear Hessian takes ~0.5 s per structure: fewer of them


def test_bundled_models_are_listed_and_load_by_name(sample_structures, mp_records):
    from torch_geometric.data import Batch

    from moduli.models.api import featurize_for_prediction

    listed = moduli.available_models()
    assert set(NAMES) == set(listed) and all(listed[n] for n in NAMES)
    for name, target in NAMES.items():
        ensemble = moduli.load_model(name)
        assert isinstance(ensemble, EnsembleModel) and len(ensemble.members) >= 2
        assert ensemble.target["name"] == target
        accurate = name.endswith("-accurate")
        structures = sample_structures[:ACCURATE_SAMPLE] if accurate else sample_structures
        # each member's own network on the inputs of every kind, featurised once for all members
        graphs, rejected = featurize_for_prediction(ensemble.featurizer, structures, ensemble.kinds)
        assert not rejected and len(graphs) == len(structures)
        batch = Batch.from_data_list(graphs)
        members = np.stack([m.predict_batch(batch) for m in ensemble.members])
        # ensemble.predict is one code path for every bundle; for the accurate ones it would take
        # every strain Hessian again, so their weights and calibration are checked through combine
        mean, std = ensemble.combine(members) if accurate else ensemble.predict(structures, return_std=True)
        weights = np.array(ensemble.card["weights"])  # one per member, from the card
        assert len(weights) == len(members) and weights.sum() == pytest.approx(1.0)
        expected = np.average(members, axis=0, weights=weights)
        spread = np.sqrt(np.average((members - expected) ** 2, axis=0, weights=weights))
        np.testing.assert_allclose(mean, expected, rtol=1e-12)
        np.testing.assert_allclose(std, ensemble.std_scale * spread, rtol=1e-12)
        assert np.all(std > 0)
        if not accurate:
            np.testing.assert_allclose(ensemble.predict(structures), mean, rtol=1e-12)
        # Mostly training structures: the ensemble must be close to DFT (a broken load is not).
        dft = np.array([r.targets[target] for r in mp_records[::97]])[:len(structures)]  # = structures
        assert np.mean(np.abs(mean - dft)) < 0.1


def test_an_unknown_name_lists_the_bundled_ones(tmp_path):
    with pytest.raises(ValueError, match="bundled models: mp-elastic-"):
        moduli.load_model("mp-elastic-x")
    with pytest.raises(ValueError, match="neither a checkpoint file nor a bundled model"):
        moduli.load_model(tmp_path / "missing.ckpt")


def test_a_damaged_member_is_refused(tmp_path):
    shutil.copytree(BUNDLED_DIR / "mp-elastic-k", tmp_path / "mp-elastic-k")
    member = tmp_path / "mp-elastic-k" / "member-0.ckpt"
    data = bytearray(member.read_bytes())
    data[-100] ^= 0xFF
    member.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match the sha256"):
        load_bundled("mp-elastic-k", tmp_path)


def test_cards_match_their_files_and_the_recorded_runs(mp_records):
    for name, target in NAMES.items():
        card = json.loads((BUNDLED_DIR / name / "card.json").read_text())
        assert card["target"]["name"] == target and card["command"]
        assert card["data"]["n_train"] + card["data"]["n_val"] == len(mp_records)
        for member in card["members"]:
            assert sha256_of(BUNDLED_DIR / name / member["file"]) == member["sha256"]
            assert runs.metrics(REPO / member["run"])["val/mae"] == member["val_mae"]
        elements = {e.symbol for r in mp_records for e in r.structure.composition}
        assert set(card["domain"]["min_distance"]) == elements  # train + val: every record
        assert 0.5 < min(card["domain"]["min_distance"].values())
        assert 0 < card["domain"]["max_std"] < 1.5  # log10 GPa; 2-member (fast) bundles spread widest
        kinds = [s["kind"] for s in card["settings"]]
        for fold in card["cross_validation"]["per_fold"]:
            shares = fold.get("shares") or ([fold["weight"], 1 - fold["weight"]] if "weight" in fold else None)
            assert fold_test_mae([REPO / r for r in fold["runs"]], kinds, shares) == \
                pytest.approx(fold["test_mae"], rel=1e-9)
        size = sum(p.stat().st_size for p in (BUNDLED_DIR / name).iterdir())
        assert size < 12 * 2 ** 20


def fold_test_mae(fold_runs: list[Path], kinds: list[str], shares: list[float] | None) -> float:
    """Test MAE of one fold's runs recomputed from their predictions (run dirs or a record's
    evidence): a run's own metric, else the mean of each kind's runs (CGCNN, feature heads),
    mixed with ``shares`` (one per kind, in order)."""
    if len(fold_runs) == 1:
        return runs.metrics(fold_runs[0])["test/mae"]
    tables = {}
    for run in fold_runs:
        kind = runs.describe(run)["model"]
        tables.setdefault(kind, []).append(runs.predictions(run, "test").sort_index())
    means = [np.mean([t["prediction"] for t in tables[k]], axis=0) for k in kinds]
    truth = tables[kinds[0]][0]["target"].to_numpy()
    mixed = means[0] if len(means) == 1 else sum(share * mean for share, mean in zip(shares, means))
    return float(np.abs(mixed - truth).mean())


@pytest.fixture(scope="module")
def member_runs(tmp_path_factory, config):
    """Two tiny real runs on one fixed split, differing in seed only (as bundle members do)."""
    from moduli.train.run import train

    root = tmp_path_factory.mktemp("members")
    for seed in (0, 1):
        train(config("train", "experiment=mp_elastic_bundle", "data.limit=120",
                     "trainer.max_epochs=2", "data.batch_size=32", "logger=none",
                     "trainer.enable_progress_bar=false", f"seed={seed}",
                     f"paths.output_dir={root / f'seed{seed}'}"))
    return [root / "seed0", root / "seed1"]


def test_a_bundle_built_from_runs_predicts_their_mean(tmp_path, member_runs, sample_structures):
    from moduli.train.bundling import build_bundle

    card = build_bundle("tiny-g", member_runs, [], tmp_path, command="pytest")
    ensemble = load_bundled("tiny-g", tmp_path)
    singles = []
    for run in member_runs:
        best = json.loads((run / "metrics.json").read_text())["best_checkpoint"]
        singles.append(moduli.load_model(run / best).predict(sample_structures[:10]))
    np.testing.assert_allclose(ensemble.predict(sample_structures[:10]), np.mean(singles, axis=0),
                               rtol=1e-10)
    val = [pd.read_csv(r / "predictions" / "val.csv") for r in member_runs]
    truth, predictions = val[0]["target"].to_numpy(), np.stack([v["prediction"] for v in val])
    error, std = predictions.mean(axis=0) - truth, predictions.std(axis=0)
    assert card["validation"]["ensemble_mae"] == pytest.approx(np.abs(error).mean(), rel=1e-9)
    assert ensemble.std_scale == pytest.approx(np.quantile(np.abs(error) / std, 0.6827), rel=1e-9)
    assert card["calibration"]["raw_std"]["within_1_sigma"] == pytest.approx(np.mean(np.abs(error) <= std))
    assert card["domain"]["max_std"] == pytest.approx(np.max(ensemble.std_scale * std), rel=1e-6)
    assert ensemble.domain.max_std == card["domain"]["max_std"]
    assert (tmp_path / "tiny-g" / "README.md").read_text().startswith("# tiny-g")
    # Slim members: no optimiser state, and they load with weights_only=True.
    slim = torch.load(tmp_path / "tiny-g" / "member-0.ckpt", weights_only=True)
    assert set(slim) == {"pytorch-lightning_version", "hyper_parameters", "state_dict", "epoch"}
    # A rebuild from the same runs writes the same bytes (the card's sha256 do not churn).
    again = build_bundle("tiny-g", member_runs, [], tmp_path / "again", command="pytest")
    assert [m["sha256"] for m in again["members"]] == [m["sha256"] for m in card["members"]]


def bundle_head(config, out: Path, model: str, task_name: str, epochs: int = 3) -> Path:
    """A tiny real feature head on the bundle members' split (fixed 90/10 of the first 120 records)."""
    from moduli.train.run import train

    train(config("train", f"model={model}", f"task_name={task_name}", "data.fold=null",
                 "data.fractions=[0.9,0.1,0.0]", "data.seed=42", "data.limit=120",
                 f"trainer.max_epochs={epochs}", "logger=none", "trainer.enable_progress_bar=false",
                 f"paths.output_dir={out}"))
    return out


@pytest.fixture(scope="module")
def chgnet_head(tmp_path_factory, config):
    return bundle_head(config, tmp_path_factory.mktemp("chgnet") / "head", "chgnet_mlp", "heads")


def test_a_mixed_bundle_weighs_its_two_settings_on_validation(tmp_path, member_runs, chgnet_head,
                                                              sample_structures):
    """CHGNet-feature head + two CGCNN members on the same split: the head's share is the 0.05-grid
    weight with the lowest validation MAE, and the bundle predicts that weighted mean."""
    from moduli.train.bundling import build_bundle

    head = chgnet_head
    card = build_bundle("tiny-mix", [member_runs[0], head, member_runs[1]], [], tmp_path / "out")
    val = [pd.read_csv(r / "predictions" / "val.csv")["prediction"].to_numpy() for r in (head, *member_runs)]
    truth = pd.read_csv(head / "predictions" / "val.csv")["target"].to_numpy()
    grid = np.round(np.linspace(0, 1, 21), 2)  # the weight of the first setting (CGCNN: listed first)
    share = min(grid, key=lambda w: np.abs(w * (val[1] + val[2]) / 2 + (1 - w) * val[0] - truth).mean())
    assert card["weights"] == pytest.approx([share / 2, share / 2, 1 - share])
    assert [s["kind"] for s in card["settings"]] == ["cgcnn", "chgnet_mlp"]
    assert [m["setting"] for m in card["members"]] == ["mp_elastic_bundle", "mp_elastic_bundle", "heads"]
    singles = [moduli.load_model(r / json.loads((r / "metrics.json").read_text())["best_checkpoint"])
               .predict(sample_structures[:6]) for r in (*member_runs, head)]
    ensemble = load_bundled("tiny-mix", tmp_path / "out")
    np.testing.assert_allclose(ensemble.predict(sample_structures[:6]),
                               share * (singles[0] + singles[1]) / 2 + (1 - share) * singles[2], rtol=1e-6)
    assert "weight" in (tmp_path / "out" / "tiny-mix" / "README.md").read_text()


def test_a_bundle_of_three_settings_chooses_every_share_on_validation(tmp_path, member_runs, chgnet_head,
                                                                       config, sample_structures):
    """Two CGCNN members, a CHGNet-feature head and a SevenNet-feature head: the three shares are
    the point of the 0.05 grid (summing to 1) with the lowest validation MAE, found here by an
    independent brute-force search; the bundle predicts that mixture and its card names the shares."""
    import itertools

    from moduli.train.bundling import build_bundle

    sevennet = bundle_head(config, tmp_path / "sevennet", "sevennet_mlp", "sevennet_heads")
    card = build_bundle("tiny-three", [sevennet, member_runs[0], chgnet_head, member_runs[1]], [],
                        tmp_path / "out")
    val = {r: pd.read_csv(r / "predictions" / "val.csv") for r in (*member_runs, chgnet_head, sevennet)}
    truth = val[sevennet]["target"].to_numpy()
    means = [val[sevennet]["prediction"].to_numpy(),
             (val[member_runs[0]]["prediction"].to_numpy() + val[member_runs[1]]["prediction"].to_numpy()) / 2,
             val[chgnet_head]["prediction"].to_numpy()]  # settings in the order their first run came
    grid = [(a / 20, b / 20, (20 - a - b) / 20) for a, b in itertools.product(range(21), repeat=2) if a + b <= 20]
    errors = {w: np.abs(sum(wk * m for wk, m in zip(w, means)) - truth).mean() for w in grid}
    best = min(errors.values())
    shares = tuple(card["shares"].values())
    assert list(card["shares"]) == ["sevennet_heads", "mp_elastic_bundle", "heads"]
    assert errors[shares] == pytest.approx(best, abs=1e-12)  # k / 20 and the card's 0.05 k: the same floats
    assert sum(shares) == pytest.approx(1.0)
    assert card["weights"] == pytest.approx([shares[0], shares[1] / 2, shares[1] / 2, shares[2]])
    assert [s["kind"] for s in card["settings"]] == ["sevennet_mlp", "cgcnn", "chgnet_mlp"]
    singles = [moduli.load_model(r / json.loads((r / "metrics.json").read_text())["best_checkpoint"])
               .predict(sample_structures[:6]) for r in (sevennet, *member_runs, chgnet_head)]
    ensemble = load_bundled("tiny-three", tmp_path / "out")
    np.testing.assert_allclose(ensemble.predict(sample_structures[:6]),
                               shares[0] * singles[0] + shares[1] * (singles[1] + singles[2]) / 2
                               + shares[2] * singles[3], rtol=1e-6)
    assert f"sevennet_heads {shares[0]:.2f}, mp_elastic_bundle {shares[1]:.2f}, heads {shares[2]:.2f}" \
        in card["weights_note"]


@pytest.mark.slow  # 55 s; the join itself is tests/data/test_sources.py::test_extra_training_records_join_the_training_part_only
def test_a_setting_may_add_extra_training_records_recorded_in_its_card(tmp_path, member_runs, config,
                                                                       mp_records):
    """Heads trained with data.extra_train beside CGCNN members without it: one validation split,
    the same source records; the card names the extra records of that setting, and the training
    domain holds only what every member saw. Members of one setting must agree on extra data."""
    from moduli.data.sources import load_brgoch_new
    from moduli.train.bundling import build_bundle
    from moduli.train.run import train

    def head(name: str, *extra: str) -> Path:
        train(config("train", "model=sevennet_mlp", "task_name=heads", "data.fold=null",
                     "data.fractions=[0.9,0.1,0.0]", "data.seed=42", "data.limit=120", "trainer.max_epochs=2",
                     "logger=none", "trainer.enable_progress_bar=false", f"paths.output_dir={tmp_path / name}",
                     *extra))
        return tmp_path / name

    with_extra = head("extra", "data.extra_train=[brgoch_new]")
    card = build_bundle("tiny-extra", [*member_runs, with_extra], [], tmp_path / "out")
    n_extra = len(load_brgoch_new()[0])
    assert [s["extra_train"] for s in card["settings"]] == [None, {"sources": ["brgoch_new"], "n_records": n_extra}]
    assert card["data"]["n_train"] + card["data"]["n_val"] == 120
    assert "matminer_brgoch_superhard_training_subset.json.gz" in card["data"]["files"]
    assert "+ brgoch_new data" in card["summary"]
    assert f"plus {n_extra} training records of brgoch_new" in (tmp_path / "out" / "tiny-extra" / "README.md").read_text()
    seen = {e.symbol for r in mp_records[:120] for e in r.structure.composition}
    assert set(card["domain"]["min_distance"]) == seen
    with pytest.raises(ValueError, match="the member runs of heads were trained on different extra data"):
        build_bundle("tiny-bad", [with_extra, head("plain")], [], tmp_path / "out")


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth.tar"
    with open(path, "wb") as handle:
        pickle.dump({"state_dict": {}, "normalizer": RunsCode(marker)}, handle)
    torch.save({"state_dict": {}, "normalizer": RunsCode(marker)}, tmp_path / "evil.ckpt")
    for candidate in (path, tmp_path / "evil.ckpt"):
        with pytest.raises(ValueError, match=f"refused to load {candidate}"):
            moduli.load_model(candidate)
    assert not marker.exists()
