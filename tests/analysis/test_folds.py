"""The fold-gathering table against the runs' own metrics.json files."""
import json
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from moduli.analysis.folds import gather, main, summarize
from moduli.training import train

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fold_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv")
    for model in ("dt", "dummy"):
        for fold in (0, 1, 2):
            with initialize_config_dir(str(REPO / "conf")):
                cfg = compose("train", overrides=[f"model={model}", f"data.fold={fold}", "data.limit=150",
                                                  "logger=none", f"paths.output_dir={root / f'{model}_{fold}'}"])
            train(cfg)
    return root


def test_gather_and_summary_match_the_metrics_files(fold_runs, capsys):
    frame = gather([fold_runs])
    assert sorted(frame["model"].unique()) == ["DecisionTreeRegressor", "DummyRegressor"]
    summary = summarize(frame).set_index("model")
    for model, name in (("dt", "DecisionTreeRegressor"), ("dummy", "DummyRegressor")):
        maes = [json.loads((fold_runs / f"{model}_{f}" / "metrics.json").read_text())["test/mae"]
                for f in range(3)]
        assert summary.loc[name, "test_mae_mean"] == pytest.approx(np.mean(maes))
        assert summary.loc[name, "test_mae_std"] == pytest.approx(np.std(maes, ddof=1))
        assert summary.loc[name, "folds"] == "0,1,2"
    out = fold_runs / "summary.md"
    main([str(fold_runs), "--out", str(out)])
    assert "| log10_g_vrh | DecisionTreeRegressor | train | 0,1,2 |" in out.read_text()
    assert capsys.readouterr().out.strip() == out.read_text().strip()
