"""The fold-gathering table against the runs' own metrics.json files."""
import json

import numpy as np
import pytest

from moduli.analysis.folds import gather, main, summarize


def test_gather_and_summary_match_the_metrics_files(training_runs, tmp_path, capsys):
    frame = gather([training_runs])
    assert sorted(frame["model"].unique()) == ["DecisionTreeRegressor", "DummyRegressor", "cgcnn"]
    summary = summarize(frame).set_index("model")
    for model, name in (("dt", "DecisionTreeRegressor"), ("dummy", "DummyRegressor")):
        maes = [json.loads((training_runs / f"{model}_{f}" / "metrics.json").read_text())["test/mae"]
                for f in range(2)]
        assert summary.loc[name, "test_mae_mean"] == pytest.approx(np.mean(maes))
        assert summary.loc[name, "test_mae_std"] == pytest.approx(np.std(maes, ddof=1))
        assert summary.loc[name, "folds"] == "0,1"
    out = tmp_path / "summary.md"
    main([str(training_runs), "--out", str(out)])
    assert "| log10_g_vrh | DecisionTreeRegressor | train | 0,1 |" in out.read_text()
    assert capsys.readouterr().out.strip() == out.read_text().strip()
