"""Matbench-format results files from the fold runs of a Matbench task.

Matbench's leaderboard takes a results file written by ``MatbenchBenchmark``: for each task
and fold, the test predictions keyed by Matbench id, with the scores matbench computes from them.
We record through matbench's own API (``MatbenchTask.record``), so the file is exactly what
matbench would write, and its scores are matbench's, not ours.

``record`` scores predictions against the task's dataframe. Loading that dataframe means reading
all 10,987 structures again; instead the task gets a dataframe of the true targets the runs
themselves wrote beside their predictions (``predictions/test.csv``: id, target, prediction),
which are the Matbench file's values. The structure column is left empty: recording never reads
it.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from moduli.analysis import runs as runs_module
from moduli.core.atomic import atomic_write


def _fold_predictions(run: str | Path) -> pd.DataFrame:
    return runs_module.predictions(run, "test")


def record_task(task, runs: pd.DataFrame) -> None:
    """Record each fold run in ``runs`` (columns ``fold``, ``run``) on a not-loaded MatbenchTask."""
    if runs["fold"].duplicated().any():
        raise ValueError(f"{task.dataset_name}: more than one run for a fold: {sorted(runs['fold'])}")
    folds = {int(row.fold): _fold_predictions(row.run) for row in runs.itertuples()}
    truth = pd.concat(frame["target"] for frame in folds.values())
    task.df = pd.DataFrame({task.metadata.input_type: None, task.metadata.target: truth})
    for fold, predictions in sorted(folds.items()):
        ids = task.validation[task.folds_map[fold]].test
        missing, extra = set(ids) - set(predictions.index), set(predictions.index) - set(ids)
        if missing or extra:
            raise ValueError(f"{task.dataset_name} fold {fold}: the run's test set is not Matbench's "
                             f"({len(missing)} ids missing, {len(extra)} not in the fold; e.g. "
                             f"{sorted(missing or extra)[:3]})")
        run = runs.loc[runs["fold"] == fold, "run"].iloc[0]
        task.record(fold, predictions.loc[ids, "prediction"].to_numpy(), params={"run": str(run)})


def write_matbench_results(frame: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """One ``matbench_<model>_<setting>.json`` per model and setting among the Matbench runs.

    Written by matbench's ``to_file`` (plain JSON, read back by ``MatbenchBenchmark.from_file``;
    gzip it to ``results.json.gz`` for a leaderboard submission).

    ``frame`` is ``moduli.analysis.folds.gather``'s table; runs without a ``matbench_task`` are
    skipped (Matbench only scores its own tasks). Folds without a run stay unrecorded, which
    matbench reports as an incomplete benchmark.
    """
    from matbench.bench import MatbenchBenchmark

    written = []
    matbench_runs = frame[frame["matbench_task"].notna()]
    for (model, setting), runs in matbench_runs.groupby(["model", "setting"]):
        tasks = sorted(runs["matbench_task"].unique())
        bench = MatbenchBenchmark(autoload=False, subset=tasks)
        for name in tasks:
            record_task(getattr(bench, name), runs[runs["matbench_task"] == name])
        bench.add_metadata({"model": model, "setting": setting})
        path = Path(out_dir) / f"matbench_{model}_{setting}.json"
        written.append(atomic_write(path, bench.to_file))
    return written
