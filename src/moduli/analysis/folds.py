"""Gather run dirs (e.g. the folds of a cross-validation) into one table.

    python -m moduli.analysis.folds RUN_OR_SWEEP_DIR [...] [--mix FIRST SECOND [...]] [--out summary.md]

Every folder below the given ones that holds a ``metrics.json`` and a ``config.yaml`` is one run,
and so is every run an experiment record keeps as evidence below them (:mod:`moduli.analysis.runs`);
its model (``cgcnn`` or the baseline estimator's class), setting (the config's ``task_name``, which
tells e.g. ``experiment=mp_elastic_paper`` from ``experiment=mp_elastic_tuned_g``), target and fold
come from its resolved config. Runs of one target, model, setting and fold that differ in seed
are also combined into a deep ensemble (:func:`ensembles`: the mean of the members' predictions
per id). With ``--mix``, two or more settings are mixed per fold (:func:`mixtures`: their shares
chosen on validation). Prints (and writes) the per-fold test MAE / R² and their mean ±
std over folds (ddof=1), and the uncertainty calibration of ensembles and mixtures (raw, and
times one scale fitted on validation). With ``--matbench-dir``, runs on a Matbench task also go into
Matbench-format results files (``moduli.analysis.matbench_results``).
"""
from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from moduli.analysis import runs as runs_module
from moduli.analysis.matbench_results import write_matbench_results
from moduli.analysis.metrics import fit_std_scale, mae, r2, std_calibration
from moduli.core.atomic import atomic_write
from moduli.core.weighted import weighted_mean_std

def gather(roots: Iterable[str | Path]) -> pd.DataFrame:
    """One row per run named by ``roots`` (run dirs, folders of them, or runs kept as a record's
    evidence: :func:`moduli.analysis.runs.find`)."""
    roots, empty = list(roots), []
    found = runs_module.find(roots, empty)
    if not found:
        raise FileNotFoundError(f"no runs (run dirs or a record's evidence) under {roots}")
    if empty:  # said once, on stderr: a mistyped path among many is not silently dropped
        print(f"{len(empty)} of {len(roots)} paths hold no run, e.g. {', '.join(empty[:3])}", file=sys.stderr)
    return pd.DataFrame([runs_module.row(r) for r in found]).sort_values(["target", "model", "setting", "fold"])


ENSEMBLE = " ensemble"  # suffix of an ensemble's model name


def ensembles(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (target, model, setting, fold) that has two or more runs: their deep ensemble.

    Its prediction for an id is the mean of the members' ``predictions/<split>.csv`` values; the
    members must hold the same ids. MAE / R² per split as for a run, plus ``members`` and the
    uncertainty columns of :func:`ensemble_metrics`.
    """
    rows = []
    for (target, model, setting, fold), group in frame.groupby(["target", "model", "setting", "fold"]):
        if len(group) < 2 or model.endswith(ENSEMBLE):
            continue
        runs = [Path(r) for r in group["run"]]
        row = {"target": target, "model": model + ENSEMBLE, "setting": setting, "fold": fold,
               "seed": None, "matbench_task": group["matbench_task"].iloc[0],
               "run": ";".join(group["run"]), "members": len(group)}
        row.update(ensemble_metrics({split: member_predictions(runs, split) for split in SPLITS}))
        rows.append(row)
    return pd.DataFrame(rows)


SPLITS = ("train", "val", "test")


def ensemble_metrics(predictions: dict[str, tuple[np.ndarray, np.ndarray]],
                     weights: np.ndarray | None = None) -> dict[str, float]:
    """MAE / R² per split of the members' weighted mean (``predictions``: split -> (targets,
    members x ids)), and the uncertainty: the members' weighted std against the test errors
    (``test_spearman_std_abs_error``, ``test_within_1_sigma``, ``test_within_2_sigma``), one
    ``std_scale`` fitted on validation (:func:`fit_std_scale`) and the test coverage of the
    scaled std (``test_scaled_within_1_sigma``, ``test_scaled_within_2_sigma``)."""
    row: dict[str, float] = {}
    stats = {}
    for split, (truth, members) in predictions.items():
        if not len(truth):
            row[f"{split}_mae"] = row[f"{split}_r2"] = float("nan")
            continue
        mean, std = weighted_mean_std(members, weights)
        stats[split] = (truth, mean, std)
        row[f"{split}_mae"], row[f"{split}_r2"] = mae(truth, mean), r2(truth, mean)
    if "test" in stats:
        truth, mean, std = stats["test"]
        row.update({f"test_{k}": v for k, v in std_calibration(truth, mean, std).items() if k != "n"})
        if "val" in stats:
            row["std_scale"] = fit_std_scale(*stats["val"])
            scaled = std_calibration(truth, mean, row["std_scale"] * std)
            row["test_scaled_within_1_sigma"] = scaled["within_1_sigma"]
            row["test_scaled_within_2_sigma"] = scaled["within_2_sigma"]
    return row


def member_predictions(runs: list[Path], split: str) -> tuple[np.ndarray, np.ndarray]:
    """(targets, members x ids predictions) of one split, ids in the first run's order; empty
    where a member's evidence does not keep the split (train)."""
    table = member_table(runs, split)
    if table is None:
        return np.empty(0), np.empty((len(runs), 0))
    return table["target"].to_numpy(float), table.drop(columns="target").to_numpy(float).T


def member_table(runs: list[Path], split: str) -> pd.DataFrame | None:
    """One split's predictions of several runs: index id (the first run's order), column
    ``target`` and one column per run (0, 1, ...); None where a run's evidence does not keep the
    split. The runs must hold the same ids."""
    tables = [runs_module.predictions(run, split) for run in runs]
    if any(table is None for table in tables):
        return None
    ids = tables[0].index
    for run, table in zip(runs, tables):
        if set(table.index) != set(ids):
            raise ValueError(f"ensemble members hold different {split} ids: {runs[0]} and {run}")
    return pd.DataFrame({"target": tables[0]["target"],
                         **{k: t.loc[ids, "prediction"] for k, t in enumerate(tables)}}, index=ids)


MIXTURE_STEP = 0.05  # the grid of a mixture's shares


def share_grid(n_groups: int) -> list[tuple[float, ...]]:
    """Every way to share a weight of 1 among ``n_groups`` on the :data:`MIXTURE_STEP` grid, the
    first group's share ascending first (for two groups: (0, 1), (0.05, 0.95), ..., (1, 0))."""
    steps = round(1 / MIXTURE_STEP)
    return [tuple(round(k * MIXTURE_STEP, 2) for k in (*head, steps - sum(head)))
            for head in itertools.product(range(steps + 1), repeat=n_groups - 1) if sum(head) <= steps]


MIXTURE_WEIGHTS = np.array([shares[0] for shares in share_grid(2)])  # the first's share, two groups


def mixture_weights(counts: Sequence[int], shares: Sequence[float]) -> np.ndarray:
    """Member weights of a mixture: each group's share split evenly among its ``counts`` members."""
    return np.concatenate([[share / count] * count for share, count in zip(shares, counts)])


def choose_shares(truth: np.ndarray, groups: Sequence[np.ndarray]) -> tuple[float, ...]:
    """The shares (:func:`share_grid`) of the groups' means (each group: members x ids) whose
    weighted sum has the lowest MAE against ``truth`` (use validation only); ties go to the
    earliest in the grid's order."""
    means = [group.mean(axis=0) for group in groups]
    return min(share_grid(len(groups)), key=lambda shares: mae(truth, sum(w * m for w, m in zip(shares, means))))


def mixtures(frame: pd.DataFrame, *settings: str) -> pd.DataFrame:
    """Two or more settings mixed per target and fold: ``sum_k w_k * mean(setting k's runs)``,
    the shares ``w_k`` on a 0.05 grid chosen by the validation MAE alone (never the test fold).

    One row per (target, fold) where every setting has runs: model ``mixture``, setting
    ``first+second[+...]``, ``weight`` (the first's share), ``shares`` (all, "/"-joined),
    ``members``, MAE / R² per split and the uncertainty columns of :func:`ensemble_metrics` (the
    members' std under the same weights).
    """
    if len(settings) < 2:
        raise ValueError(f"a mixture needs two or more settings, got {settings}")
    rows = []
    singles = frame[~frame["model"].str.endswith(ENSEMBLE)]
    for (target, fold), group in singles.groupby(["target", "fold"]):
        runs = {name: [Path(r) for r in group.loc[group["setting"] == name, "run"]] for name in settings}
        if not all(runs.values()):
            continue
        predictions = {}
        for split in SPLITS:
            tables = [member_table(runs[name], split) for name in settings]
            if any(t is None for t in tables):  # a split the evidence does not keep (train)
                predictions[split] = (np.empty(0), np.empty((0, 0)))
                continue
            ids = tables[0].index
            predictions[split] = (tables[0]["target"].to_numpy(float), np.concatenate(
                [t.loc[ids].drop(columns="target").to_numpy(float).T for t in tables]))
        counts = [len(runs[name]) for name in settings]
        truth, members = predictions["val"]
        bounds = np.cumsum([0, *counts])
        shares = choose_shares(truth, [members[a:b] for a, b in zip(bounds[:-1], bounds[1:])])
        row = {"target": target, "model": "mixture", "setting": "+".join(settings), "fold": fold,
               "seed": None, "matbench_task": group["matbench_task"].iloc[0], "weight": shares[0],
               "shares": "/".join(f"{w:.2f}" for w in shares),
               "run": ";".join(str(r) for name in settings for r in runs[name]), "members": sum(counts)}
        row.update(ensemble_metrics(predictions, mixture_weights(counts, shares)))
        rows.append(row)
    return pd.DataFrame(rows)


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std over folds of test MAE and R² and the mean validation MAE (the number to choose
    settings by), per target, model and setting, best test MAE first."""
    grouped = frame.groupby(["target", "model", "setting"])
    summary = pd.DataFrame({
        "folds": grouped["fold"].apply(lambda f: ",".join(str(int(x)) for x in sorted(f))),
        "val_mae_mean": grouped["val_mae"].mean(),
        "test_mae_mean": grouped["test_mae"].mean(), "test_mae_std": grouped["test_mae"].std(ddof=1),
        "test_r2_mean": grouped["test_r2"].mean(), "test_r2_std": grouped["test_r2"].std(ddof=1)})
    return summary.reset_index().sort_values(["target", "test_mae_mean"])


def to_markdown(frame: pd.DataFrame, summary: pd.DataFrame) -> str:
    lines = ["| target | model | setting | folds | val MAE (mean) | test MAE (mean ± std) | test R² (mean ± std) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in summary.itertuples():
        lines.append(f"| {row.target} | {row.model} | {row.setting} | {row.folds} | {row.val_mae_mean:.4f} | "
                     f"{row.test_mae_mean:.4f} ± "
                     f"{row.test_mae_std:.4f} | {row.test_r2_mean:.3f} ± {row.test_r2_std:.3f} |")
    lines += ["", "Per fold (test MAE / R²):", "",
              "| target | model | setting | fold | test MAE | test R² |", "| --- | --- | --- | --- | --- | --- |"]
    for row in frame.itertuples():
        lines.append(f"| {row.target} | {row.model} | {row.setting} | {row.fold} | {row.test_mae:.4f} | "
                     f"{row.test_r2:.3f} |")
    calibrated = frame[frame["test_within_1_sigma"].notna()] if "test_within_1_sigma" in frame else frame.iloc[0:0]
    if len(calibrated):
        lines += ["", "Ensembles and mixtures: the members' (weighted) std against the test errors, raw "
                  "and times one scale fitted on validation (a calibrated Gaussian std has 0.683 "
                  "within 1σ, 0.954 within 2σ):", "",
                  "| target | model | setting | fold | members | Spearman(std, abs error) | within 1σ | "
                  "within 2σ | scale (val) | scaled: within 1σ | scaled: within 2σ |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for row in calibrated.itertuples():
            lines.append(f"| {row.target} | {row.model} | {row.setting} | {row.fold} | {int(row.members)} | "
                         f"{row.test_spearman_std_abs_error:.3f} | {row.test_within_1_sigma:.3f} | "
                         f"{row.test_within_2_sigma:.3f} | {row.std_scale:.2f} | "
                         f"{row.test_scaled_within_1_sigma:.3f} | {row.test_scaled_within_2_sigma:.3f} |")
    mixed = frame[frame["weight"].notna()] if "weight" in frame else frame.iloc[0:0]
    if len(mixed):
        lines += ["", "Mixtures: the settings' shares (in the order of the setting's name), chosen on "
                  "validation MAE:", "",
                  "| target | setting | fold | members | shares | val MAE | test MAE |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for row in mixed.itertuples():
            lines.append(f"| {row.target} | {row.setting} | {row.fold} | {int(row.members)} | "
                         f"{row.shares} | {row.val_mae:.4f} | {row.test_mae:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=prog, description="Per-fold and mean ± std test metrics of run dirs",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  moduli folds logs/train/multiruns/2026-12-01_10-00-00\n"
        "  moduli folds runs/ --mix recipe sevennet --out folds.md")
    parser.add_argument("roots", nargs="+", help="run dirs or folders holding them (searched recursively)")
    parser.add_argument("--out", help="also write the tables (markdown) to this file")
    parser.add_argument("--mix", nargs="+", action="append", default=[], metavar="SETTING",
                        help="also mix two or more settings (task names) per fold, the shares chosen "
                        "on validation; repeatable")
    parser.add_argument("--matbench-dir", help="write a Matbench results file per model and setting "
                        "of the runs on Matbench tasks into this folder")
    args = parser.parse_args(argv)
    runs = gather(args.roots)
    extra = [ensembles(runs), *(mixtures(runs, *settings) for settings in args.mix)]
    frame = pd.concat([runs, *[e for e in extra if len(e)]], ignore_index=True)
    text = to_markdown(frame, summarize(frame))
    print(text)
    if args.out:
        atomic_write(args.out, lambda tmp: Path(tmp).write_text(text))
    if args.matbench_dir:
        for path in write_matbench_results(runs, args.matbench_dir):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
