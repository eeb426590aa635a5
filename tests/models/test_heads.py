"""The MLP head on CHGNet features: trains through the config, standardises with the training
features, is labelled in fold tables, and is refused (clearly) where only CGCNN can predict."""
import json

import numpy as np
import pandas as pd
import pytest
import torch

from tests.models.head_runs import loaded_head_predicts_as_in_training


@pytest.fixture(scope="module")
def head_run(tmp_path_factory, config):
    from moduli.train.run import train

    out = tmp_path_factory.mktemp("head")
    cfg = config("train", "model=chgnet_mlp", "data.fold=0", "data.limit=120", "trainer.max_epochs=3",
                 "logger=none", "trainer.enable_progress_bar=false", f"paths.output_dir={out}")
    assert cfg.model.kind._target_.endswith("CHGNetHeadKind") and "kind" not in cfg.model.net
    assert "universal_features" not in cfg.data
    train(cfg)
    return out


def test_the_head_trains_and_standardises_with_the_training_features(head_run, mp_records):
    from moduli.core.records import Record
    from moduli.features.chgnet import CHGNetFeaturizer

    metrics = json.loads((head_run / "metrics.json").read_text())
    assert np.isfinite(metrics["test/mae"]) and metrics["n/train"] > 0
    best = torch.load(head_run / metrics["best_checkpoint"], map_location="cpu", weights_only=True)
    train_ids = pd.read_csv(head_run / "predictions" / "train.csv", dtype={"id": str})["id"]
    by_id = {r.id: r for r in mp_records}
    vectors, _ = CHGNetFeaturizer().featurize([Record(i, by_id[i].structure) for i in train_ids])
    expected = np.mean([vectors[i] for i in train_ids], axis=0)
    np.testing.assert_allclose(best["state_dict"]["model.feature_mean"].numpy(), expected, rtol=1e-4, atol=1e-5)


def test_fold_tables_name_the_head(head_run):
    from moduli.analysis.folds import gather

    assert gather([head_run])["model"].tolist() == ["chgnet_mlp"]


def best_of(run):
    return run / json.loads((run / "metrics.json").read_text())["best_checkpoint"]


def test_the_loaded_head_predicts_structures_as_in_training(head_run, mp_records):
    """From structures alone (features computed on the fly) the head gives the test predictions
    its training run wrote (from cached features)."""
    loaded_head_predicts_as_in_training(head_run, mp_records, "chgnet_mlp")


def test_a_mixed_ensemble_is_the_weighted_mean_of_its_kinds(head_run, training_runs, sample_structures):
    import moduli
    from moduli.models.ensemble import EnsembleModel

    cgcnn, head = moduli.load_model(best_of(training_runs / "cgcnn_0")), moduli.load_model(best_of(head_run))
    structures = sample_structures[:8]
    a, b = cgcnn.predict(structures), head.predict(structures)
    mixed = EnsembleModel([cgcnn, head], weights=[1, 3])
    assert [k.name for k in mixed.kinds] == ["cgcnn", "chgnet_mlp"]
    assert [k.name for k in EnsembleModel([cgcnn, cgcnn]).kinds] == ["cgcnn"]
    mean, std = mixed.predict(structures, return_std=True)
    np.testing.assert_allclose(mean, 0.25 * a + 0.75 * b, rtol=1e-10)
    np.testing.assert_allclose(std, np.sqrt(0.25 * (a - mean) ** 2 + 0.75 * (b - mean) ** 2), rtol=1e-8)


def test_predict_py_and_moduli_predict_agree_with_a_mixed_shear_ensemble(head_run, training_runs, data_dir,
                                                                         sample_structures, config, tmp_path):
    """The corpus pipeline computes the features in its workers; moduli.predict in process."""
    import moduli
    from moduli.corpus.run import predict

    structures = sample_structures[:12]
    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps([{"material_id": f"s{i}", "structure": s.as_dict()}
                                  for i, s in enumerate(structures)]))
    bulk = data_dir / "cgcnn_reference" / "pretrained" / "bulk-moduli.pth.tar"
    shear = [best_of(training_runs / "cgcnn_0"), best_of(head_run)]
    predict(config("predict", f"corpus.path={corpus}", "screen=none", f"ckpt.bulk={bulk}",
                   f"ckpt.shear=[{shear[0]},{shear[1]}]", f"paths.output_dir={tmp_path / 'run'}",
                   "num_workers=1", "progress=false", "figures=false"))
    table = pd.read_parquet(tmp_path / "run" / "predictions.parquet").set_index("id")
    direct = moduli.predict(structures, ids=[f"s{i}" for i in range(12)], bulk=bulk, shear=shear,
                            data_dir=data_dir).set_index("id")
    assert len(table) == 12 and "shear_modulus_gpa_std" in table
    for column in ("bulk_modulus_gpa", "shear_modulus_gpa", "shear_modulus_gpa_std", "debye_temperature_k"):
        np.testing.assert_allclose(table[column], direct.loc[table.index, column], rtol=1e-6)


def test_a_head_refuses_features_other_than_its_own(head_run, tmp_path):
    """A head whose checkpoint records another feature definition, or none (trained before the
    per-atom features), is refused with the reason, not used on mismatched inputs."""
    import moduli
    from moduli.core.errors import FeaturesMismatch

    checkpoint = torch.load(best_of(head_run), weights_only=True)
    assert checkpoint["hyper_parameters"]["features"]["definition"] == 2
    checkpoint["hyper_parameters"]["features"]["definition"] = 1
    torch.save(checkpoint, tmp_path / "other.ckpt")
    with pytest.raises(FeaturesMismatch, match="definition: trained on 1, here 2"):
        moduli.load_model(tmp_path / "other.ckpt")
    del checkpoint["hyper_parameters"]["features"]
    torch.save(checkpoint, tmp_path / "unrecorded.ckpt")
    with pytest.raises(FeaturesMismatch, match="records no CHGNet feature version"):
        moduli.load_model(tmp_path / "unrecorded.ckpt")


def test_a_checkpoint_recorded_under_the_kinds_old_name_loads_as_today(head_run, tmp_path, mp_records):
    """CHGNet heads were registered as ``feature_mlp`` before their name became their config's."""
    import moduli

    checkpoint = torch.load(best_of(head_run), map_location="cpu", weights_only=True)
    assert checkpoint["hyper_parameters"]["net"]["kind"] == "chgnet_mlp"
    checkpoint["hyper_parameters"]["net"]["kind"] = "feature_mlp"
    old = tmp_path / "old-name.ckpt"
    torch.save(checkpoint, old)
    loaded, today = moduli.load_model(old), moduli.load_model(best_of(head_run))
    assert loaded.kind.name == "chgnet_mlp"
    structures = [r.structure for r in mp_records[:3]]
    np.testing.assert_allclose(loaded.predict(structures), today.predict(structures), rtol=1e-6)
