"""Finished training runs, read from their run dirs or from an experiment record's evidence.

A training run writes a run dir (``config.yaml``, ``metrics.json``, ``predictions/<split>.csv``,
checkpoints, logs, parity plots). An experiment record in git keeps its runs as compact evidence
instead, from which every fold table can be made again:

    <record>/evidence/runs.csv             one row per run: its path below the record, target,
                                           model, setting, fold, seed, Matbench task, Hydra
                                           overrides and every entry of its metrics.json (those
                                           it wrote as NaN are named in ``nan_metrics``)
    <record>/evidence/predictions.parquet  one row per run, split (val, test) and id: the target and
                                           the prediction, in millionths (the CSVs' six decimals)

The train split's predictions are not kept (they are three quarters of the bytes and no table
reads them): an ensemble made from evidence has no train MAE.

Every reader here takes a run's path as it was written (``experiments/<record>/runs/<target>/<run>``).
A run dir on disk is read from its files; a path that is not on disk is looked up in the evidence
of the nearest folder above it that has one. Fold tables (:mod:`moduli.analysis.folds`), Matbench
results, reports and bundle cards therefore read either, and a card's run paths stay valid.

    python -m moduli.analysis.runs compact experiments/2026-11-25_accuracy   # run dirs -> evidence
"""
from __future__ import annotations

import argparse
import functools
import glob
import json
from collections.abc import Iterable
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import yaml

from moduli.core.atomic import atomic_write
from moduli.core.schema import SPLITS, canonical_kind, net_kind

EVIDENCE = "evidence"
RUNS_FILE = "runs.csv"
PREDICTIONS_FILE = "predictions.parquet"
KEPT_SPLITS = ("val", "test")
SCALE = 1_000_000  # predictions are kept as integer millionths
DESCRIPTION = ("target", "model", "setting", "fold", "seed", "matbench_task")
TABLE_METRICS = tuple(f"{split}/{m}" for split in SPLITS for m in ("mae", "r2"))
GLOB_CHARACTERS = set("*?[")
NAN_METRICS = "nan_metrics"  # the metrics a run wrote as NaN (e.g. test/mae with no test split)


def is_run_dir(path: Path) -> bool:
    return (path / "metrics.json").is_file() and (path / "config.yaml").is_file()


def run_dirs_below(root: Path) -> list[Path]:
    """Every run dir at or below ``root`` (a folder with ``metrics.json`` and ``config.yaml``)."""
    return sorted({p.parent for p in Path(root).rglob("metrics.json") if is_run_dir(p.parent)})


def run_kind(config: dict, metrics: dict) -> str:
    """The model kind of a network's run: ``metrics.json`` names it (runs from 2026-11-30 on);
    earlier runs name it in ``model.net.kind`` (CGCNN configs before kinds: in neither)."""
    return canonical_kind(metrics["kind"]) if metrics.get("kind") else net_kind(config["model"].get("net"))


def describe_dir(run_dir: Path) -> dict:
    """What a run was, from its resolved config: target, model (the network's kind or the baseline
    estimator's class), setting (the config's ``task_name``), fold, seed and Matbench task."""
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    model = config["model"]
    name = (model["estimator"]["_target_"].rsplit(".", 1)[-1] if "estimator" in model
            else run_kind(config, metrics))
    return {"target": config["data"]["target"], "model": name, "setting": config.get("task_name", ""),
            "fold": config["data"]["fold"], "seed": config.get("seed"),
            "matbench_task": config["data"].get("matbench_task")}


class Evidence:
    """The compact evidence of one record: its runs table and its val / test predictions."""

    def __init__(self, record: Path):
        self.record = record
        folder = record / EVIDENCE
        types = {"run": str, "setting": str, "overrides": str, NAN_METRICS: str,
                 "fold": "Int64", "seed": "Int64"}  # ints, also in a column with a missing one
        self.runs = pd.read_csv(folder / RUNS_FILE, dtype=types, keep_default_na=False, na_values=[""],
                                float_precision="round_trip")
        self.runs["setting"] = self.runs["setting"].fillna("")
        self.runs = self.runs.set_index("run", drop=False)
        self.metric_columns = [c for c in self.runs.columns
                               if c not in ("run", "overrides", NAN_METRICS, *DESCRIPTION)]
        table = pd.read_parquet(folder / PREDICTIONS_FILE)
        self._predictions = {key: group for key, group in table.groupby(["run", "split"], observed=True, sort=False)}
        self._no_rows = table.iloc[0:0]  # a split with no rows (no validation set) or no file (no test part)

    def keys(self) -> list[str]:
        return list(self.runs.index)

    def describe(self, key: str) -> dict:
        row = self.runs.loc[key]
        out = {name: _plain(row[name]) for name in DESCRIPTION}
        out["setting"] = out["setting"] or ""
        return out

    def metrics(self, key: str) -> dict:
        row = self.runs.loc[key]
        nan = (_plain(row[NAN_METRICS]) or "").split() if NAN_METRICS in row.index else []
        return {name: float("nan") if name in nan else _plain(row[name])
                for name in self.metric_columns if name in nan or not _missing(row[name])}

    def predictions(self, key: str, split: str) -> pd.DataFrame | None:
        """One split of a run's predictions; None for a split the evidence does not keep."""
        if split not in KEPT_SPLITS:
            return None
        group = self._predictions.get((key, split), self._no_rows)
        return pd.DataFrame({"target": group["target"].to_numpy(np.int64) / SCALE,
                             "prediction": group["prediction"].to_numpy(np.int64) / SCALE},
                            index=pd.Index(group["id"].astype(str).to_numpy(), name="id"))


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _plain(value):
    """A pandas cell as the Python value json would give (int, float, str or None)."""
    if _missing(value):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


@functools.lru_cache(maxsize=None)
def _evidence(record: str) -> Evidence:
    return Evidence(Path(record))


def record_of(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` that holds evidence (``evidence/runs.csv``)."""
    for folder in (path, *path.parents):
        if (folder / EVIDENCE / RUNS_FILE).is_file():
            return folder
    return None


def locate(path: str | Path) -> tuple[Evidence, str] | None:
    """(evidence, run key) of a run path kept as evidence; None when no record above it has it."""
    path = Path(path)
    record = record_of(path.parent)
    if record is None:
        return None
    evidence = _evidence(str(record.resolve()))
    key = path.relative_to(record).as_posix()
    return (evidence, key) if key in evidence.runs.index else None


def _located(path: str | Path) -> tuple[Evidence, str]:
    found = locate(path)
    if found is None:
        raise FileNotFoundError(f"{path}: neither a run dir (metrics.json + config.yaml) nor a run "
                                f"in the evidence of a record above it")
    return found


def describe(path: str | Path) -> dict:
    """Target, model, setting, fold, seed and Matbench task of a run (dir or evidence)."""
    if is_run_dir(Path(path)):
        return describe_dir(Path(path))
    evidence, key = _located(path)
    return evidence.describe(key)


def metrics(path: str | Path) -> dict:
    """A run's ``metrics.json`` (from its dir, or the same numbers from the evidence)."""
    if is_run_dir(Path(path)):
        return json.loads((Path(path) / "metrics.json").read_text())
    evidence, key = _located(path)
    return evidence.metrics(key)


def predictions(path: str | Path, split: str) -> pd.DataFrame | None:
    """One split of a run's predictions (index ``id``; columns ``target``, ``prediction``), or
    None where the evidence does not keep that split (train)."""
    if is_run_dir(Path(path)):
        return pd.read_csv(Path(path) / "predictions" / f"{split}.csv", dtype={"id": str}).set_index("id")
    evidence, key = _located(path)
    return evidence.predictions(key, split)


def row(path: str | Path) -> dict:
    """A run's row of the fold tables: its description, ``run`` (the path) and the train / val /
    test MAE and R² (``test_mae``, ...)."""
    values = metrics(path)
    return {**describe(path), "run": str(path),
            **{k.replace("/", "_"): values.get(k, float("nan")) for k in TABLE_METRICS}}


def find(roots: Iterable[str | Path], empty: list[str] | None = None) -> list[Path]:
    """The runs a list of roots names: run dirs at or below each root, and runs kept as evidence
    at or below it. A root may be a shell pattern (``runs/*/*_fold[01]_seed*``) that no longer
    matches on disk because its runs were compacted: it is matched against the evidence. Roots
    that hold no run are appended to ``empty`` when one is given."""
    found: dict[str, Path] = {}
    for root in roots:
        root = Path(root)
        on_disk = [Path(p) for p in sorted(glob.glob(str(root)))] if GLOB_CHARACTERS & set(str(root)) else [root]
        runs = [r for folder in on_disk if folder.is_dir() for r in run_dirs_below(folder)] + _evidence_runs(root)
        for run in runs:
            found.setdefault(str(run.resolve()), run)
        if not runs and empty is not None:
            empty.append(str(root))
    return sorted(found.values())


def _evidence_runs(root: Path) -> list[Path]:
    """Runs kept as evidence at or below ``root`` (a path or a shell pattern)."""
    parts = root.parts
    fixed = next((i for i, part in enumerate(parts) if GLOB_CHARACTERS & set(part)), len(parts))
    base = Path(*parts[:fixed]) if fixed else Path(".")
    record = record_of(base)
    records = [record] if record is not None else (
        [p.parent.parent for p in base.rglob(f"{EVIDENCE}/{RUNS_FILE}")] if base.is_dir() else [])
    runs = []
    for record in records:
        evidence = _evidence(str(record.resolve()))
        pattern = PurePosixPath(*root.relative_to(record).parts) if root != record and \
            _is_below(root, record) else PurePosixPath()
        for key in evidence.keys():
            if _matches(PurePosixPath(key), pattern):
                runs.append(record / key)
    return runs


def _is_below(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _matches(key: PurePosixPath, pattern: PurePosixPath) -> bool:
    """Is ``key`` at or below ``pattern`` (each part a shell pattern)?"""
    if len(pattern.parts) > len(key.parts):
        return False
    return all(fnmatchcase(k, p) for k, p in zip(key.parts, pattern.parts))


# --- compacting a record ------------------------------------------------------------------------

def compact(record: str | Path) -> tuple[int, int]:
    """Write ``record/evidence`` from the run dirs below ``record`` and check it: every run's
    description and metrics, and every val / test prediction, read back equal to the files.
    Returns (runs, prediction rows). The run dirs are left for the caller to remove."""
    record = Path(record)
    dirs = [d for d in run_dirs_below(record) if EVIDENCE not in d.relative_to(record).parts]
    if not dirs:
        raise FileNotFoundError(f"no run dirs (metrics.json + config.yaml) below {record}")
    rows, tables = [], []
    for run_dir in dirs:
        key = run_dir.relative_to(record).as_posix()
        values = json.loads((run_dir / "metrics.json").read_text())
        clash = set(values) & {"run", "overrides", NAN_METRICS, *DESCRIPTION}
        if clash:
            raise ValueError(f"{run_dir}: metrics named like a description column: {sorted(clash)}")
        overrides = run_dir / ".hydra" / "overrides.yaml"
        rows.append({"run": key, **describe_dir(run_dir),
                     "overrides": " ".join(yaml.safe_load(overrides.read_text()) or []) if overrides.is_file() else "",
                     NAN_METRICS: " ".join(k for k, v in values.items() if isinstance(v, float) and np.isnan(v)),
                     **values})
        for split in _written_splits(run_dir):
            table = predictions(run_dir, split)
            tables.append(pd.DataFrame({"run": key, "split": split, "id": table.index.to_numpy(),
                                        "target": _millionths(table["target"], run_dir, split),
                                        "prediction": _millionths(table["prediction"], run_dir, split)}))
    runs = pd.DataFrame(rows)
    table = pd.concat(tables, ignore_index=True)
    for column in ("run", "split", "id"):
        table[column] = table[column].astype("category")
    folder = record / EVIDENCE
    atomic_write(folder / RUNS_FILE, lambda tmp: runs.to_csv(tmp, index=False, float_format="%.17g"))
    atomic_write(folder / PREDICTIONS_FILE,
                 lambda tmp: table.to_parquet(tmp, index=False, compression="zstd"))
    _evidence.cache_clear()
    _check(record, dirs)
    return len(runs), len(table)


def _written_splits(run_dir: Path) -> list[str]:
    """The kept splits a run wrote predictions for (a run trained on a split without a test part,
    such as a bundle's, writes none for test; its evidence then has no rows for it)."""
    return [split for split in KEPT_SPLITS if (run_dir / "predictions" / f"{split}.csv").is_file()]


def _millionths(values: pd.Series, run_dir: Path, split: str) -> np.ndarray:
    scaled = np.rint(values.to_numpy(float) * SCALE)
    if not np.array_equal(scaled / SCALE, values.to_numpy(float)) or np.abs(scaled).max(initial=0) >= 2 ** 31:
        raise ValueError(f"{run_dir} {split}: predictions are not six-decimal numbers; not compacted")
    return scaled.astype(np.int32)


def _check(record: Path, dirs: list[Path]) -> None:
    evidence = _evidence(str(record.resolve()))
    for run_dir in dirs:
        key = run_dir.relative_to(record).as_posix()
        if _typed(evidence.describe(key)) != _typed(describe_dir(run_dir)):
            raise AssertionError(f"{run_dir}: description differs in the evidence")
        if not _same_metrics(evidence.metrics(key), json.loads((run_dir / "metrics.json").read_text())):
            raise AssertionError(f"{run_dir}: metrics differ in the evidence")
        for split in _written_splits(run_dir):
            kept, original = evidence.predictions(key, split), predictions(run_dir, split)
            if not (kept.equals(original) or len(kept) == len(original) == 0):
                raise AssertionError(f"{run_dir} {split}: predictions differ in the evidence")


def _typed(values: dict) -> dict:
    """Values with their types, so that 0.0 and 0 differ (a fold read back as a float would
    print as "0.0" in the tables)."""
    return {k: (type(v).__name__, v) for k, v in values.items()}


def _same_metrics(a: dict, b: dict) -> bool:
    """Equal dicts, NaN equal to NaN."""
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (isinstance(a[k], float) and isinstance(b[k], float) and np.isnan(a[k]) and np.isnan(b[k]))
        for k in a)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m moduli.analysis.runs",
                                     description="Compact an experiment record's run dirs into evidence/")
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("compact", help="write RECORD/evidence from the run dirs below RECORD")
    command.add_argument("records", nargs="+", help="experiment record folders")
    args = parser.parse_args(argv)
    for record in args.records:
        n_runs, n_rows = compact(record)
        print(f"{record}: {n_runs} runs, {n_rows} val/test predictions -> {Path(record) / EVIDENCE}")


if __name__ == "__main__":
    main()
