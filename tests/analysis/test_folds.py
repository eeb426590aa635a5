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


def test_runs_differing_in_seed_form_an_ensemble_row(training_runs, tmp_path):
    """Two members of one fold: the first a real run, the second its copy with other predictions."""
    import shutil

    import pandas as pd
    import yaml

    from moduli.analysis.folds import ensembles
    from moduli.analysis.metrics import mae

    first, second = tmp_path / "seed0", tmp_path / "seed1"
    shutil.copytree(training_runs / "cgcnn_0", first)
    shutil.copytree(training_runs / "cgcnn_0", second)
    config = yaml.safe_load((second / "config.yaml").read_text())
    config["seed"] = 1
    (second / "config.yaml").write_text(yaml.safe_dump(config))
    rng = np.random.default_rng(0)
    for split in ("train", "val", "test"):
        table = pd.read_csv(second / "predictions" / f"{split}.csv", dtype={"id": str})
        table["prediction"] += rng.normal(0, 0.1, len(table))
        table.sample(frac=1, random_state=0).to_csv(second / "predictions" / f"{split}.csv", index=False)
    runs = gather([tmp_path])
    row = ensembles(runs).iloc[0]
    assert row["model"] == "cgcnn ensemble" and row["members"] == 2 and row["fold"] == 0
    a, b = (pd.read_csv(r / "predictions" / "test.csv", dtype={"id": str}).set_index("id") for r in (first, second))
    mean = (a["prediction"] + b.loc[a.index, "prediction"]) / 2  # the second file is shuffled
    assert row["test_mae"] == pytest.approx(mae(a["target"], mean))
    error, std = (mean - a["target"]).abs(), (a["prediction"] - b.loc[a.index, "prediction"]).abs() / 2
    assert row["test_within_1_sigma"] == pytest.approx(np.mean(error <= std))
    # one scale fitted on validation (68.3rd percentile of |error| / std), applied to test
    va, vb = (pd.read_csv(r / "predictions" / "val.csv", dtype={"id": str}).set_index("id") for r in (first, second))
    vb = vb.loc[va.index, "prediction"]
    val_ratio = ((va["prediction"] + vb) / 2 - va["target"]).abs() / ((va["prediction"] - vb).abs() / 2)
    scale = np.quantile(val_ratio, 0.6827)
    assert row["std_scale"] == pytest.approx(scale)
    assert row["test_scaled_within_1_sigma"] == pytest.approx(np.mean(error <= scale * std))
    assert len(ensembles(runs[runs["seed"] == 42])) == 0  # one run per fold: no ensemble


def _noisy_settings(training_runs, tmp_path, noises: dict[str, float]) -> None:
    """One copy of a real run per setting, its predictions replaced by target + Gaussian noise."""
    import shutil

    import pandas as pd
    import yaml

    rng = np.random.default_rng(1)
    for setting, noise in noises.items():
        run = tmp_path / setting
        shutil.copytree(training_runs / "cgcnn_0", run)
        config = yaml.safe_load((run / "config.yaml").read_text())
        config["task_name"] = setting
        (run / "config.yaml").write_text(yaml.safe_dump(config))
        for split in ("train", "val", "test"):
            table = pd.read_csv(run / "predictions" / f"{split}.csv", dtype={"id": str})
            table["prediction"] = table["target"] + rng.normal(0, noise, len(table))
            table.to_csv(run / "predictions" / f"{split}.csv", index=False)


def test_a_mixture_of_two_settings_takes_its_weight_from_validation(training_runs, tmp_path):
    import pandas as pd

    from moduli.analysis.folds import MIXTURE_WEIGHTS, mixtures
    from moduli.analysis.metrics import mae

    _noisy_settings(training_runs, tmp_path, {"first": 0.05, "second": 0.2})
    row = mixtures(gather([tmp_path]), "first", "second").iloc[0]
    read = {s: {k: pd.read_csv(tmp_path / k / "predictions" / f"{s}.csv", dtype={"id": str}).set_index("id")
                for k in ("first", "second")} for s in ("val", "test")}

    def mixed_mae(split, w):
        a, b = read[split]["first"], read[split]["second"].loc[read[split]["first"].index]
        return mae(a["target"], w * a["prediction"] + (1 - w) * b["prediction"])

    best = min(MIXTURE_WEIGHTS, key=lambda w: mixed_mae("val", w))
    assert row["weight"] == pytest.approx(best) and row["weight"] > 0.5  # the better setting weighs more
    assert row["test_mae"] == pytest.approx(mixed_mae("test", best))
    assert row["setting"] == "first+second" and row["members"] == 2
    # its std: the two members' spread under the same weights, |a - b| sqrt(w (1 - w))
    a, b = read["test"]["first"], read["test"]["second"].loc[read["test"]["first"].index]
    mixed = best * a["prediction"] + (1 - best) * b["prediction"]
    std = (a["prediction"] - b["prediction"]).abs() * np.sqrt(best * (1 - best))
    assert row["test_within_2_sigma"] == pytest.approx(np.mean((mixed - a["target"]).abs() <= 2 * std))


def test_a_mixture_of_three_settings_takes_its_shares_from_validation(training_runs, tmp_path):
    """Three settings: the shares are the grid point with the lowest validation MAE (brute force
    here over every split of 1 into steps of 0.05), and the test MAE is that mixture's."""
    import pandas as pd

    from moduli.analysis.folds import mixtures
    from moduli.analysis.metrics import mae

    names = ("first", "second", "third")
    _noisy_settings(training_runs, tmp_path, dict(zip(names, (0.2, 0.05, 0.1))))
    row = mixtures(gather([tmp_path]), *names).iloc[0]
    read = {s: [pd.read_csv(tmp_path / k / "predictions" / f"{s}.csv", dtype={"id": str}).set_index("id")
                for k in names] for s in ("val", "test")}

    def mixed_mae(split, shares):
        tables = read[split]
        ids = tables[0].index
        return mae(tables[0]["target"], sum(w * t.loc[ids, "prediction"] for w, t in zip(shares, tables)))

    grid = [(a / 20, b / 20, (20 - a - b) / 20) for a in range(21) for b in range(21 - a)]
    best = min(grid, key=lambda shares: mixed_mae("val", shares))
    shares = tuple(float(w) for w in row["shares"].split("/"))
    assert shares == pytest.approx(best) and sum(shares) == pytest.approx(1.0)
    assert shares[1] == max(shares)  # the least noisy setting weighs most
    assert row["test_mae"] == pytest.approx(mixed_mae("test", best))
    assert row["setting"] == "first+second+third" and row["members"] == 3 and row["weight"] == shares[0]
