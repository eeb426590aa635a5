"""Build a bundled ensemble (``src/moduli/models/bundled/<name>/``) from finished training runs.

    python -m moduli.train.bundling --name mp-elastic-k --runs RUN_DIR... --folds FOLD_RUN_DIR... \
        --command "how the runs were made"

The member runs must share one target and one validation split (ensemble members differing in
seed only). For each member the best-validation checkpoint is copied as a slim checkpoint
(hyper-parameters and weights, no optimiser state). ``card.json`` and ``README.md`` record the
data and its fingerprint, the settings, the ensemble's validation accuracy, the calibration of its
std (one scale factor fitted on validation), the cross-validated accuracy of the same settings
(the fold runs), the date and every member's sha256.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import shutil
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml

from moduli.analysis.metrics import cross_fitted_calibration, fit_std_scale, mae, r2, std_calibration
from moduli.core.atomic import atomic_write
from moduli.core.assets import ASSETS, sha256_of
from moduli.core.schema import TARGETS
from moduli.models.api import read_checkpoint
from moduli.models.registry import BUNDLED_DIR, CARD

# The files behind each data source, for the card (name -> asset names).
SOURCE_ASSETS = {"mp_elastic": ["mp_binary_elasticity_2025", "elastic_tensor_2015"]}
SLIM_KEYS = ("pytorch-lightning_version", "hyper_parameters", "state_dict", "epoch")


def _run(run_dir: Path) -> dict[str, Any]:
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"dir": run_dir, "config": config, "metrics": metrics}


def _predictions(run_dir: Path, split: str) -> pd.DataFrame:
    return pd.read_csv(run_dir / "predictions" / f"{split}.csv", dtype={"id": str}).set_index("id")


def data_fingerprint(run_dir: Path) -> str:
    """sha256 of the sorted ``id,target`` lines of the train and validation sets the model saw."""
    frames = [_predictions(run_dir, s)["target"] for s in ("train", "val")]
    lines = sorted(f"{i},{t:.6f}" for frame in frames for i, t in frame.items())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def write_slim_checkpoint(source: Path, target: Path) -> str:
    """Copy hyper-parameters and weights of a Lightning checkpoint; returns the new file's sha256."""
    checkpoint = read_checkpoint(source)
    atomic_write(target, lambda tmp: torch.save({k: checkpoint[k] for k in SLIM_KEYS}, tmp))
    return sha256_of(target)


def cross_validation(fold_dirs: list[Path], target: str) -> dict[str, Any]:
    runs = sorted((_run(d) for d in fold_dirs), key=lambda r: r["config"]["data"]["fold"])
    if any(r["config"]["data"]["target"] != target for r in runs):
        raise ValueError(f"every fold run must predict {target}")
    per_fold = [{"fold": r["config"]["data"]["fold"], "test_mae": r["metrics"]["test/mae"],
                 "test_r2": r["metrics"]["test/r2"]} for r in runs]
    maes, r2s = np.array([f["test_mae"] for f in per_fold]), np.array([f["test_r2"] for f in per_fold])
    return {"protocol": "Matbench protocol on mp_elastic (KFold 5, shuffle, random_state 18012019; "
                        "10 % of the rest for validation), one model of these settings per fold",
            "runs": [str(r["dir"]) for r in runs], "per_fold": per_fold,
            "test_mae_mean": float(maes.mean()), "test_mae_std": float(maes.std(ddof=1)),
            "test_r2_mean": float(r2s.mean()), "test_r2_std": float(r2s.std(ddof=1))}


def build_bundle(name: str, run_dirs: list[Path], fold_dirs: list[Path], out_root: Path = BUNDLED_DIR,
                 command: str = "", date: str | None = None) -> dict[str, Any]:
    """Write ``out_root/name/`` (slim members, card.json, README.md); returns the card."""
    runs = [_run(Path(d)) for d in run_dirs]
    first = runs[0]["config"]
    target = first["data"]["target"]
    if any(r["config"]["data"]["target"] != target for r in runs):
        raise ValueError("every member run must predict the same target")
    val = [_predictions(r["dir"], "val") for r in runs]
    if any(not v.index.equals(val[0].index) for v in val):
        raise ValueError("member runs must share one validation split (same ids in the same order)")
    fingerprints = {data_fingerprint(r["dir"]) for r in runs}
    if len(fingerprints) != 1:
        raise ValueError("member runs were trained on different data")
    folder = Path(out_root) / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    members = []
    for k, run in enumerate(runs):
        file = f"member-{k}.ckpt"
        sha = write_slim_checkpoint(run["dir"] / run["metrics"]["best_checkpoint"], folder / file)
        members.append({"file": file, "sha256": sha, "seed": run["config"]["seed"],
                        "best_checkpoint": run["metrics"]["best_checkpoint"],
                        "val_mae": run["metrics"]["val/mae"], "run": str(run["dir"])})
    truth = val[0]["target"].to_numpy()
    stacked = np.stack([v["prediction"].to_numpy() for v in val])
    mean, raw_std = stacked.mean(axis=0), stacked.std(axis=0)
    scale = fit_std_scale(truth, mean, raw_std)
    source = first["data"]["source"]["_target_"].rsplit(".", 1)[-1]
    cv = cross_validation([Path(d) for d in fold_dirs], target) if fold_dirs else None
    source = source.removeprefix("load_")
    summary = (f"{TARGETS[target].quantity}, {target}: ensemble of {len(runs)} CGCNN "
               f"({first['task_name']}) trained on {source}")
    if cv:
        summary += (f"; one such model: {len(cv['per_fold'])}-fold test MAE "
                    f"{cv['test_mae_mean']:.4f} {TARGETS[target].units}")
    card = {
        "name": name,
        "summary": summary,
        "target": TARGETS[target].describe(),
        "created": date or datetime.date.today().isoformat(), "moduli_version": version("moduli"),
        "data": {"source": source, "files": {ASSETS[a].filename: ASSETS[a].sha256
                                             for a in SOURCE_ASSETS.get(source, [])},
                 "split": {"kind": "random", "fractions": first["data"]["fractions"],
                           "seed": first["data"]["seed"]},
                 "n_train": int(runs[0]["metrics"]["n/train"]), "n_val": int(runs[0]["metrics"]["n/val"]),
                 "n_rejected": int(runs[0]["metrics"].get("n/rejected", 0)),
                 "fingerprint_sha256": fingerprints.pop(),
                 "fingerprint_of": "sorted 'id,target' lines (log10 GPa, 6 decimals) of train + val"},
        "settings": {"experiment": first["task_name"], "net": first["model"]["net"],
                     "optimizer": first["model"]["optimizer"], "scheduler": first["model"]["scheduler"],
                     "loss": first["model"]["loss"], "batch_size": first["data"]["batch_size"],
                     "max_epochs": first["trainer"]["max_epochs"],
                     "featurizer": first["data"]["featurizer"],
                     "checkpoint": "lowest val/mae epoch of each member"},
        "validation": {"ensemble_mae": mae(truth, mean), "ensemble_r2": r2(truth, mean),
                       "member_mae": [m["val_mae"] for m in members]},
        "std_scale": scale,
        "calibration": {
            "note": "on the validation split (members chose their best epoch on it, so slightly "
                    "optimistic); std in log10 GPa; std_scale is the 68.3rd percentile of "
                    "|error| / std, fitted on all of it; the scaled coverage is cross-fitted "
                    "(scale fitted on one half, measured on the other); Gaussian 0.683 / 0.954",
            "raw_std": std_calibration(truth, mean, raw_std),
            "scaled_std_cross_fitted": cross_fitted_calibration(truth, mean, raw_std)},
        "cross_validation": cv,
        "members": members,
        "command": command,
    }
    atomic_write(folder / CARD, lambda tmp: Path(tmp).write_text(json.dumps(card, indent=2) + "\n"))
    atomic_write(folder / "README.md", lambda tmp: Path(tmp).write_text(render_card(card)))
    return card


def render_card(card: dict[str, Any]) -> str:
    """The card as Markdown for people."""
    cv, cal, data = card["cross_validation"], card["calibration"], card["data"]
    lines = [f"# {card['name']}", "", card["summary"] + ".", "",
             f"- target: `{card['target']['name']}` ({card['target']['units']}); created "
             f"{card['created']} with moduli {card['moduli_version']}",
             f"- data: `{data['source']}`, {data['n_train']} train / {data['n_val']} val "
             f"(random split {data['split']['fractions']}, seed {data['split']['seed']}), "
             f"{data['n_rejected']} rejected; fingerprint `{data['fingerprint_sha256'][:16]}…`"]
    lines += [f"  - `{f}` sha256 `{s}`" for f, s in data["files"].items()]
    s = card["settings"]
    lines += [f"- settings: `{s['experiment']}`: net {s['net']}, optimiser {s['optimizer']}, "
              f"loss {s['loss']}, batch {s['batch_size']}, {s['max_epochs']} epochs, best val epoch"]
    if cv:
        lines += [f"- cross-validated accuracy of these settings (single models, {len(cv['per_fold'])} "
                  f"folds): test MAE {cv['test_mae_mean']:.4f} ± {cv['test_mae_std']:.4f}, "
                  f"R² {cv['test_r2_mean']:.3f} ± {cv['test_r2_std']:.3f}",
                  "  - per fold: " + ", ".join(f"{f['fold']}: {f['test_mae']:.4f} / {f['test_r2']:.3f}"
                                               for f in cv["per_fold"])]
    v = card["validation"]
    lines += [f"- validation: ensemble MAE {v['ensemble_mae']:.4f}, R² {v['ensemble_r2']:.3f}; "
              f"members {', '.join(f'{m:.4f}' for m in v['member_mae'])}",
              f"- uncertainty: std × {card['std_scale']:.3f} (68.3rd percentile of |error| / std on "
              f"validation). Raw std: "
              f"Spearman(std, |error|) {cal['raw_std']['spearman_std_abs_error']:.3f}, within 1σ "
              f"{cal['raw_std']['within_1_sigma']:.3f}, 2σ {cal['raw_std']['within_2_sigma']:.3f}; "
              f"scaled (cross-fitted halves): 1σ {cal['scaled_std_cross_fitted']['within_1_sigma']:.3f}, "
              f"2σ {cal['scaled_std_cross_fitted']['within_2_sigma']:.3f}", "", "| member | seed | val MAE | sha256 |",
              "| --- | --- | --- | --- |"]
    lines += [f"| `{m['file']}` | {m['seed']} | {m['val_mae']:.4f} | `{m['sha256']}` |" for m in card["members"]]
    if card["command"]:
        lines += ["", "Made with:", "", "```bash", card["command"], "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--runs", nargs="+", required=True, type=Path, help="member run dirs")
    parser.add_argument("--folds", nargs="*", default=[], type=Path, help="cross-validation run dirs")
    parser.add_argument("--out", type=Path, default=BUNDLED_DIR)
    parser.add_argument("--command", default="")
    args = parser.parse_args(argv)
    card = build_bundle(args.name, args.runs, args.folds, args.out, args.command)
    print(render_card(card))


if __name__ == "__main__":
    main()
