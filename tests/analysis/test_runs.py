"""A record's compact evidence reads back as its run dirs did: the same rows, metrics, predictions
and fold tables, from the same run paths."""
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from moduli.analysis import runs
from moduli.analysis.folds import ensembles, gather, main, summarize, to_markdown


@pytest.fixture
def record(training_runs, tmp_path):
    """A record folder with the tiny real runs below ``runs/``, two of them also as seeds 0 / 1
    of one CGCNN setting (an ensemble)."""
    folder = tmp_path / "2026-12-08_record"
    shutil.copytree(training_runs, folder / "runs")
    return folder


def _tables(roots) -> str:
    frame = gather(roots)
    frame = pd.concat([frame, ensembles(frame)], ignore_index=True) if len(ensembles(frame)) else frame
    return to_markdown(frame, summarize(frame))


def test_compacted_runs_read_back_as_their_dirs(record, monkeypatch):
    monkeypatch.chdir(record.parent)
    name = record.name
    dirs = runs.find([f"{name}/runs"])
    before = {str(d): (runs.row(d), runs.metrics(d), {s: runs.predictions(d, s) for s in ("val", "test")})
              for d in dirs}
    table_before = _tables([f"{name}/runs"])

    n_runs, n_rows = runs.compact(name)
    assert n_runs == len(dirs) == 6
    assert n_rows == sum(len(p) for _, _, splits in before.values() for p in splits.values())
    shutil.rmtree(record / "runs")

    after = runs.find([f"{name}/runs"])
    assert [str(a) for a in after] == list(before)  # the same paths, now from the evidence
    for path, (row, metrics, splits) in before.items():
        assert runs.row(path) == row
        assert runs.metrics(path) == metrics
        for split, table in splits.items():
            pd.testing.assert_frame_equal(runs.predictions(path, split), table)
        assert runs.predictions(path, "train") is None  # the train split is not kept
    assert _tables([f"{name}/runs"]) == table_before


def test_evidence_is_found_from_any_root_and_by_shell_pattern(record, monkeypatch):
    monkeypatch.chdir(record.parent)
    runs.compact(record.name)
    shutil.rmtree(record / "runs")
    every = runs.find([record.name])
    above = runs.find([record.parent])  # a folder above the record, given as an absolute path
    assert len(every) == 6 and [p.resolve() for p in above] == [p.resolve() for p in every]
    assert [p.name for p in runs.find([f"{record.name}/runs/cgcnn_*"])] == ["cgcnn_0", "cgcnn_1"]
    assert [p.name for p in runs.find([record / "runs" / "dt_1"])] == ["dt_1"]  # an absolute path
    assert runs.find([f"{record.name}/runs/nothing_*"]) == []
    with pytest.raises(FileNotFoundError, match="neither a run dir"):
        runs.metrics(record / "runs" / "missing")


def test_an_ensemble_from_evidence_has_no_train_metrics_and_the_same_val_and_test(record, monkeypatch):
    import yaml

    monkeypatch.chdir(record.parent)
    second = record / "runs" / "cgcnn_0_seed1"
    shutil.copytree(record / "runs" / "cgcnn_0", second)
    config = yaml.safe_load((second / "config.yaml").read_text())
    config["seed"] = 1
    (second / "config.yaml").write_text(yaml.safe_dump(config))
    for split in ("train", "val", "test"):
        path = second / "predictions" / f"{split}.csv"
        table = pd.read_csv(path, dtype={"id": str})
        table["prediction"] = (table["prediction"] + 0.05).round(6)
        table.to_csv(path, index=False, float_format="%.6f")
    member_runs = [f"{record.name}/runs/cgcnn_0", f"{record.name}/runs/cgcnn_0_seed1"]
    before = ensembles(gather(member_runs)).iloc[0]
    runs.compact(record.name)
    shutil.rmtree(record / "runs")
    after = ensembles(gather(member_runs)).iloc[0]
    assert np.isnan(after["train_mae"]) and not np.isnan(before["train_mae"])
    for column in ("val_mae", "val_r2", "test_mae", "test_r2", "std_scale", "test_within_1_sigma"):
        assert after[column] == before[column]


def test_the_fold_command_reads_evidence(record, monkeypatch, capsys):
    monkeypatch.chdir(record.parent)
    main([f"{record.name}/runs"])
    from_dirs = capsys.readouterr().out
    runs.main(["compact", record.name])
    assert "6 runs" in capsys.readouterr().out
    shutil.rmtree(record / "runs")
    main([f"{record.name}/runs"])
    assert capsys.readouterr().out == from_dirs
    main([f"{record.name}/runs", f"{record.name}/runs/cgcnn_9"])  # a mistyped path is named
    captured = capsys.readouterr()
    assert captured.out == from_dirs
    assert "1 of 2 paths hold no run, e.g. 2026-12-08_record/runs/cgcnn_9" in captured.err


def test_compacting_refuses_what_it_cannot_keep_exactly(record):
    path = record / "runs" / "dt_0" / "predictions" / "val.csv"
    table = pd.read_csv(path, dtype={"id": str})
    table.loc[0, "prediction"] += 1e-9  # a seventh decimal
    table.to_csv(path, index=False, float_format="%.10f")
    with pytest.raises(ValueError, match="not six-decimal"):
        runs.compact(record)
    assert not (record / "evidence" / "runs.csv").exists()


def test_metrics_keep_every_float_exactly(record):
    runs.compact(record)
    evidence = runs.Evidence(record)
    for run_dir in sorted((record / "runs").iterdir()):
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert evidence.metrics(f"runs/{run_dir.name}") == metrics


def test_a_run_without_fold_leaves_the_others_integer_folds(record):
    """A bundle member (no fold) beside fold runs: the folds still read back as ints."""
    import yaml

    member = record / "runs" / "member"
    shutil.copytree(record / "runs" / "cgcnn_0", member)
    config = yaml.safe_load((member / "config.yaml").read_text())
    config["data"]["fold"] = None
    (member / "config.yaml").write_text(yaml.safe_dump(config))
    runs.compact(record)
    shutil.rmtree(record / "runs")
    assert runs.describe(record / "runs" / "member")["fold"] is None
    fold = runs.describe(record / "runs" / "cgcnn_1")["fold"]
    assert fold == 1 and type(fold) is int


def test_a_run_with_no_test_part_is_kept_with_no_test_rows(record):
    """A run trained on a split without a test part (a bundle's 90 / 10) wrote no test.csv: its
    val predictions are kept and its test split reads back empty."""
    member = record / "runs" / "member"
    shutil.copytree(record / "runs" / "cgcnn_0", member)
    (member / "predictions" / "test.csv").unlink()
    val = runs.predictions(member, "val")
    runs.compact(record)
    shutil.rmtree(record / "runs")
    assert runs.predictions(member, "val").equals(val)
    assert len(runs.predictions(member, "test")) == 0
