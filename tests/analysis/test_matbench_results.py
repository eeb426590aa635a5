"""Matbench-format results through matbench's own API, on the official fold ids.

The Matbench structures and targets are not available offline (../shared/data/README.md), so the
runs here are fold run dirs as train.py writes them (config.yaml, metrics.json,
predictions/test.csv) over the real official Matbench test ids, with seeded stand-in targets and
predictions. What is checked is the plumbing: every prediction lands on its Matbench id, and the
scores matbench computes equal the MAE computed here from the same CSVs.
"""
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from matbench.bench import MatbenchBenchmark

from moduli.analysis.folds import gather, main

TASK = "matbench_log_gvrh"


def write_run(run_dir, fold, ids, rng, setting="paper_gvrh"):
    truth = rng.normal(1.5, 0.3, len(ids))
    frame = pd.DataFrame({"id": ids, "target": truth, "prediction": truth + rng.normal(0, 0.1, len(ids))})
    frame = frame.sample(frac=1.0, random_state=fold)  # runs write their own order, not Matbench's
    (run_dir / "predictions").mkdir(parents=True)
    frame.to_csv(run_dir / "predictions" / "test.csv", index=False)
    config = {"task_name": setting, "model": {"kind": "cgcnn"},
              "data": {"target": "log10_g_vrh", "fold": fold, "matbench_task": TASK}}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    mae = float(np.mean(np.abs(frame["prediction"] - frame["target"])))
    metrics = {"test/mae": mae, "test/r2": 0.0, "val/mae": 0.0, "train/mae": 0.0}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    return mae


@pytest.fixture(scope="module")
def official_folds(data_dir):
    with open(data_dir / "matbench_v0.1_log_gvrh_log_kvrh_fold_ids.json") as handle:
        folds = json.load(handle)[TASK]["folds"]
    return [folds[f"fold_{k}"]["test"] for k in range(5)]


def test_results_file_holds_every_prediction_and_matbench_scores_match(tmp_path, official_folds):
    rng = np.random.default_rng(0)
    maes = [write_run(tmp_path / "runs" / f"fold{k}", k, ids, rng) for k, ids in enumerate(official_folds)]
    main([str(tmp_path / "runs"), "--matbench-dir", str(tmp_path / "mb")])

    bench = MatbenchBenchmark.from_file(str(tmp_path / "mb" / "matbench_cgcnn_paper_gvrh.json"))
    assert bench.is_valid and bench.is_complete is False  # one of the 13 tasks only
    task = bench.matbench_log_gvrh
    assert task.all_folds_recorded
    for k, ids in enumerate(official_folds):
        csv = pd.read_csv(tmp_path / "runs" / f"fold{k}" / "predictions" / "test.csv").set_index("id")
        recorded = task.results[f"fold_{k}"]["data"]
        assert len(recorded) == len(ids) == len(csv)
        assert all(recorded[i] == pytest.approx(csv.loc[i, "prediction"]) for i in ids[:50])
        assert task.results[f"fold_{k}"]["scores"]["mae"] == pytest.approx(maes[k])
    assert bench.user_metadata == {"model": "cgcnn", "setting": "paper_gvrh"}


def test_a_test_set_that_is_not_matbench_fold_is_refused(tmp_path, official_folds):
    rng = np.random.default_rng(1)
    write_run(tmp_path / "fold0", 0, official_folds[0][:-1] + official_folds[1][:1], rng)
    with pytest.raises(ValueError, match="fold 0: the run's test set is not Matbench's"):
        main([str(tmp_path), "--matbench-dir", str(tmp_path / "mb")])
    assert not (tmp_path / "mb" / "matbench_cgcnn_paper_gvrh.json").exists()


def test_runs_on_other_data_write_no_matbench_file(tmp_path, official_folds):
    write_run(tmp_path / "fold0", 0, official_folds[0], np.random.default_rng(2))
    config = yaml.safe_load((tmp_path / "fold0" / "config.yaml").read_text())
    config["data"]["matbench_task"] = None
    (tmp_path / "fold0" / "config.yaml").write_text(yaml.safe_dump(config))
    assert gather([tmp_path])["matbench_task"].isna().all()
    main([str(tmp_path), "--matbench-dir", str(tmp_path / "mb")])
    assert not (tmp_path / "mb").exists()
