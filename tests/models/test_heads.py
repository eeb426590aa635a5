"""The MLP head on CHGNet features: trains through the config, standardises with the training
features, is labelled in fold tables, and is refused (clearly) where only CGCNN can predict."""
import json

import numpy as np
import pandas as pd
import pytest
import torch

from moduli.core.errors import UserInputError
from moduli.models.table import resolve_models


@pytest.fixture(scope="module")
def head_run(tmp_path_factory, config):
    from moduli.train.run import train

    out = tmp_path_factory.mktemp("head")
    cfg = config("train", "model=chgnet_mlp", "data.fold=0", "data.limit=120", "trainer.max_epochs=3",
                 "logger=none", "trainer.enable_progress_bar=false", f"paths.output_dir={out}")
    assert cfg.data.universal_features == "chgnet" and cfg.model.net.kind == "feature_mlp"
    train(cfg)
    return out


def test_the_head_trains_and_standardises_with_the_training_features(head_run, mp_records):
    from moduli.core.records import Record
    from moduli.graphs.universal import CHGNetFeaturizer

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

    assert gather([head_run])["model"].tolist() == ["feature_mlp"]


def test_prediction_from_structures_refuses_a_head_on_features(head_run, data_dir):
    best = json.loads((head_run / "metrics.json").read_text())["best_checkpoint"]
    bulk = data_dir / "cgcnn_reference" / "pretrained" / "bulk-moduli.pth.tar"
    with pytest.raises(UserInputError, match="head on CHGNet features"):
        resolve_models(bulk=bulk, shear=head_run / best, data_dir=data_dir)
