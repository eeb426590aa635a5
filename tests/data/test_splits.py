import json

import pytest

from moduli.data.splits import (fold_split, matbench_test_folds, official_matbench_test_folds,
                                random_split)


@pytest.mark.parametrize("task", ["matbench_log_gvrh", "matbench_log_kvrh"])
def test_matbench_protocol_reproduces_official_fold_ids(task, data_dir):
    prefix = task.replace("matbench_", "mb-").replace("_", "-")
    ids = [f"{prefix}-{i + 1:05d}" for i in range(10987)]
    with open(data_dir / "matbench_v0.1_log_gvrh_log_kvrh_fold_ids.json") as handle:
        published = json.load(handle)[task]["folds"]
    ours = matbench_test_folds(ids)
    assert [len(f) for f in ours] == [2198, 2198, 2197, 2197, 2197]
    for k in range(5):
        assert sorted(ours[k]) == published[f"fold_{k}"]["test"]
    assert [sorted(f) for f in official_matbench_test_folds(task)] == [sorted(f) for f in ours]


def test_fold_split_partitions_and_is_seeded():
    ids = [f"id-{i:04d}" for i in range(1000)]
    split = fold_split(ids, fold=2, seed=7)
    assert sorted(split["train"] + split["val"] + split["test"]) == ids
    assert len(split["test"]) == 200 and len(split["val"]) == 80
    assert split == fold_split(ids, fold=2, seed=7)
    other = fold_split(ids, fold=2, seed=8)
    assert other["test"] == split["test"] and other["val"] != split["val"]
    with pytest.raises(ValueError, match="fold must be in 0..4"):
        fold_split(ids, fold=5, seed=7)


def test_random_split_fractions_and_determinism():
    ids = [f"id-{i:04d}" for i in range(500)]
    split = random_split(ids, (0.8, 0.1, 0.1), seed=3)
    assert [len(split[k]) for k in ("train", "val", "test")] == [400, 50, 50]
    assert sorted(sum(split.values(), [])) == ids
    assert split == random_split(ids, (0.8, 0.1, 0.1), seed=3)
    assert split != random_split(ids, (0.8, 0.1, 0.1), seed=4)
    with pytest.raises(ValueError, match="summing to 1"):
        random_split(ids, (0.8, 0.3, 0.1), seed=3)
