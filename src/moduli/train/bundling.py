"""Build a bundled ensemble (``src/moduli/models/bundled/<name>/``) from finished training runs.

    python -m moduli.train.bundling --name mp-elastic-k --runs RUN_DIR... --folds FOLD_RUN_DIR... \
        --command "how the runs were made"

The member runs must share one target, one validation split and the training records of their
source; a setting may add extra training records (``data.extra_train``, recorded in its card
entry). They come from one setting (members differing in seed only: equal weights) or several
(e.g. CGCNN networks, SevenNet-feature heads and stiffness heads: each setting's share of the
weight is chosen on the validation MAE, on the same 0.05 grid as the fold tables' mixtures
(:func:`moduli.analysis.folds.choose_shares`), and split equally among its members). For each member the
best-validation checkpoint is copied as a slim checkpoint (hyper-parameters and weights, no
optimiser state). ``card.json`` and ``README.md`` record the
data and its fingerprint, the settings, the ensemble's validation accuracy, the calibration of its
std (one scale factor fitted on validation), the cross-validated accuracy of the same settings
(the fold runs: single models, or per fold the ensemble / mixture of the settings' runs), the date and every member's sha256.
"""
from __future__ import annotations

import argparse
import datetime
import functools
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

from moduli.analysis.folds import choose_shares, ensembles, gather, mixture_weights, mixtures
from moduli.analysis.runs import run_kind
from moduli.analysis.metrics import cross_fitted_calibration, fit_std_scale, mae, r2, std_calibration
from hydra.utils import instantiate

from moduli.core.atomic import atomic_write
from moduli.core.assets import ASSETS, default_cache_dir, sha256_of
from moduli.core.config import trusted
from moduli.core.schema import TARGETS
from moduli.core.weighted import weighted_mean_std
from moduli.data.sources import NAMED_SOURCES, load_named
from moduli.graphs.atom_features import AtomFeatureTable
from moduli.models.domain import TrainingDomain
from moduli.graphs.featurizer import CrystalGraphFeaturizer
from moduli.models.api import read_checkpoint
from moduli.models.kinds import kind_named
from moduli.models.registry import BUNDLED_DIR, CARD

SLIM_KEYS = ("pytorch-lightning_version", "hyper_parameters", "state_dict", "epoch")


def _run(run_dir: Path) -> dict[str, Any]:
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"dir": run_dir, "config": config, "metrics": metrics}


def _predictions(run_dir: Path, split: str) -> pd.DataFrame:
    return pd.read_csv(run_dir / "predictions" / f"{split}.csv", dtype={"id": str}).set_index("id")


def data_fingerprint(run_dir: Path, leave_out: set[str] = frozenset()) -> str:
    """sha256 of the sorted ``id,target`` lines of the train and validation sets the model saw,
    less the ids in ``leave_out`` (a run's extra training records)."""
    frames = [_predictions(run_dir, s)["target"] for s in ("train", "val")]
    lines = sorted(f"{i},{t:.6f}" for frame in frames for i, t in frame.items() if i not in leave_out)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@functools.lru_cache(maxsize=None)
def _source_ids(name: str) -> frozenset[str]:
    return frozenset(r.id for r in load_named(name)[0])


def extra_train(run: dict[str, Any]) -> tuple[list[str], set[str]]:
    """The extra training sources a member run read (``data.extra_train``; none for runs made
    before it existed) and the ids of their records it trained on."""
    names = list(run["config"]["data"].get("extra_train") or [])
    trained = set(_predictions(run["dir"], "train").index)
    return names, {i for name in names for i in _source_ids(name) if i in trained}


def write_slim_checkpoint(source: Path, target: Path) -> str:
    """Copy hyper-parameters and weights of a Lightning checkpoint; returns the new file's sha256.

    Saved through a file object: torch.save names the archive inside the file after a path it is
    given (here a random temporary name), so the same weights would get another sha256 on every
    build; through a file object the name is fixed and a rebuild gives the same bytes."""
    checkpoint = read_checkpoint(source)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            torch.save({k: checkpoint[k] for k in SLIM_KEYS}, handle)

    atomic_write(target, write)
    return sha256_of(target)


def training_domain(runs: list[dict[str, Any]], max_std: float) -> TrainingDomain:
    """The domain of the data every member run saw (train + val, as their prediction files list
    them; extra training records only if every member trained on them): elements and
    nearest-neighbour distances from the crystal graphs of those records."""
    with trusted():
        source = instantiate(runs[0]["config"]["data"]["source"])
    records, _ = source()
    records += [r for name in extra_train(runs[0])[0] for r in load_named(name)[0]]
    seen = set.intersection(*({i for split in ("train", "val") for i in _predictions(run["dir"], split).index}
                              for run in runs))
    featurizer = CrystalGraphFeaturizer(AtomFeatureTable.cgcnn(), cache_dir=default_cache_dir() / "graphs")
    graphs, _ = featurizer.featurize([r for r in records if r.id in seen])
    if len(graphs) != len(seen):
        raise ValueError(f"{len(seen) - len(graphs)} training records of {runs[0]['dir']} have no graph now")
    return TrainingDomain.from_graphs(graphs, max_std)


def cross_validation(fold_dirs: list[Path], target: str, kinds: list[str]) -> dict[str, Any]:
    """Per-fold test accuracy of the bundle's settings: one run per fold (a single model), several
    runs of one setting (their ensemble) or runs of several settings, one per member kind in the
    bundle's order (their mixture, the shares chosen on each fold's validation split), as
    :mod:`moduli.analysis.folds` computes them. Fold runs are named by their own settings (e.g.
    ``mp_elastic_paper`` for the members' ``mp_elastic_bundle``), so they are matched by kind."""
    frame = gather(fold_dirs)
    if set(frame["target"]) != {target}:
        raise ValueError(f"every fold run must predict {target}")
    settings = []
    for kind in kinds:
        found = sorted(set(frame.loc[frame["model"] == kind, "setting"]))
        if len(found) != 1:
            raise ValueError(f"need the fold runs of one setting of kind {kind}, got {found}")
        settings += found
    if len(frame) != frame["model"].isin(kinds).sum():
        raise ValueError(f"fold runs of kinds {sorted(set(frame['model']))}, the members are {kinds}")
    if len(settings) >= 2:
        rows = mixtures(frame, *settings)
        what = (f"the mixture of the runs of {', '.join(settings)} (the shares chosen on the "
                "fold's validation split)")
    elif frame.groupby("fold").size().max() > 1:
        rows, what = ensembles(frame), "the ensemble of the runs"
    else:
        rows, what = frame, "one model"
    rows = rows.sort_values("fold")
    shares = (rows["shares"].map(lambda text: [float(w) for w in text.split("/")])
              if "shares" in rows else [None] * len(rows))
    per_fold = [{"fold": int(r.fold), "test_mae": float(r.test_mae), "test_r2": float(r.test_r2),
                 "runs": r.run.split(";"),
                 **({} if share is None else {"weight": share[0], "shares": share})}
                for r, share in zip(rows.itertuples(), shares)]
    maes, r2s = rows["test_mae"].to_numpy(float), rows["test_r2"].to_numpy(float)
    return {"protocol": "Matbench protocol on mp_elastic (KFold 5, shuffle, random_state 18012019; "
                        f"10 % of the rest for validation), per fold {what}",
            "runs": sorted(str(r) for r in frame["run"]), "per_fold": per_fold,
            "test_mae_mean": float(maes.mean()), "test_mae_std": float(maes.std(ddof=1)),
            "test_r2_mean": float(r2s.mean()), "test_r2_std": float(r2s.std(ddof=1))}


def build_bundle(name: str, run_dirs: list[Path], fold_dirs: list[Path], out_root: Path = BUNDLED_DIR,
                 command: str = "", date: str | None = None) -> dict[str, Any]:
    """Write ``out_root/name/`` (slim members, card.json, README.md); returns the card."""
    runs = [_run(Path(d)) for d in run_dirs]
    settings = list(dict.fromkeys(r["config"]["task_name"] for r in runs))
    runs.sort(key=lambda r: settings.index(r["config"]["task_name"]))  # grouped by setting
    first = runs[0]["config"]
    target = first["data"]["target"]
    if any(r["config"]["data"]["target"] != target for r in runs):
        raise ValueError("every member run must predict the same target")
    val = [_predictions(r["dir"], "val") for r in runs]
    if any(not v.index.equals(val[0].index) for v in val):
        raise ValueError("member runs must share one validation split (same ids in the same order)")
    extras = [extra_train(r) for r in runs]
    fingerprints = {data_fingerprint(r["dir"], ids) for r, (_, ids) in zip(runs, extras)}
    if len(fingerprints) != 1:
        raise ValueError("member runs were trained on different data")
    for setting in settings:  # extra training data may differ between settings, not within one
        if len({(tuple(n), frozenset(i)) for r, (n, i) in zip(runs, extras)
                if r["config"]["task_name"] == setting}) != 1:
            raise ValueError(f"the member runs of {setting} were trained on different extra data")
    truth = val[0]["target"].to_numpy()
    stacked = np.stack([v["prediction"].to_numpy() for v in val])
    counts = [sum(r["config"]["task_name"] == s for r in runs) for s in settings]
    bounds = np.cumsum([0, *counts])
    shares = choose_shares(truth, [stacked[a:b] for a, b in zip(bounds[:-1], bounds[1:])])
    weights = mixture_weights(counts, shares)
    folder = Path(out_root) / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    members = []
    for k, (run, weight) in enumerate(zip(runs, weights)):
        file = f"member-{k}.ckpt"
        sha = write_slim_checkpoint(run["dir"] / run["metrics"]["best_checkpoint"], folder / file)
        members.append({"file": file, "sha256": sha, "setting": run["config"]["task_name"],
                        "seed": run["config"]["seed"], "weight": float(weight),
                        "best_checkpoint": run["metrics"]["best_checkpoint"],
                        "val_mae": run["metrics"]["val/mae"], "run": str(run["dir"])})
    mean, raw_std = weighted_mean_std(stacked, weights)
    scale = fit_std_scale(truth, mean, raw_std)
    domain = training_domain(runs, float(np.max(scale * raw_std)))
    source = first["data"]["source"]["_target_"].rsplit(".", 1)[-1]
    groups = [next(r for r in runs if r["config"]["task_name"] == s) for s in settings]
    extra_names = list(dict.fromkeys(n for names, _ in extras for n in names))
    cv = (cross_validation([Path(d) for d in fold_dirs], target, [_kind(g) for g in groups])
          if fold_dirs else None)
    source = source.removeprefix("load_")
    parts = [f"{n} {kind_named(_kind(g)).label} ({g['config']['task_name']}"
             f"{'' if len(settings) == 1 else f', weight {w:.2f}'}"
             f"{''.join(f', + {e} data' for e in extras[runs.index(g)][0])})"
             for n, g, w in zip(counts, groups, shares)]
    summary = f"{TARGETS[target].quantity}, {target}: ensemble of {' + '.join(parts)} trained on {source}"
    if cv:
        summary += (f"; {len(cv['per_fold'])}-fold test MAE of these settings "
                    f"{cv['test_mae_mean']:.4f} {TARGETS[target].units}")
    card = {
        "name": name,
        "summary": summary,
        "target": TARGETS[target].describe(),
        "created": date or datetime.date.today().isoformat(), "moduli_version": version("moduli"),
        "data": {"source": source, "files": {ASSETS[a].filename: ASSETS[a].sha256
                                             for name in [source, *extra_names]
                                             for a in NAMED_SOURCES.get(name, (None, []))[1]},
                 "split": {"kind": "random", "fractions": first["data"]["fractions"],
                           "seed": first["data"]["seed"]},
                 "n_train": int(runs[0]["metrics"]["n/train"]) - len(extras[0][1]),
                 "n_val": int(runs[0]["metrics"]["n/val"]),
                 "n_rejected": int(runs[0]["metrics"].get("n/rejected", 0)),
                 "fingerprint_sha256": fingerprints.pop(),
                 "fingerprint_of": "sorted 'id,target' lines (log10 GPa, 6 decimals) of train + val "
                                   "(of the source; a setting's extra training records are in its settings)"},
        "settings": [_settings(g, extras[runs.index(g)]) for g in groups],
        "weights": [float(w) for w in weights],
        "shares": {setting: float(share) for setting, share in zip(settings, shares)},
        "weights_note": ("equal" if len(settings) == 1 else
                         "each setting's share (" + ", ".join(f"{s} {w:.2f}" for s, w in zip(settings, shares))
                         + ") chosen on the validation MAE (0.05 grid), split equally among its members"),
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
        "domain": domain.as_dict(),
        "members": members,
        "command": command,
    }
    atomic_write(folder / CARD, lambda tmp: Path(tmp).write_text(json.dumps(card, indent=2) + "\n"))
    atomic_write(folder / "README.md", lambda tmp: Path(tmp).write_text(render_card(card)))
    return card


def _kind(run: dict[str, Any]) -> str:
    return run_kind(run["config"], run["metrics"])


def _settings(run: dict[str, Any], extras: tuple[list[str], set[str]]) -> dict[str, Any]:
    """What a card records of one setting's training configuration (from its first member run),
    with the extra inputs its checkpoints record (``features``, e.g. the CHGNet version) and the
    extra training records it read beyond the source (``extra_train``: sources and count)."""
    config = run["config"]
    model, data = config["model"], config["data"]
    best = read_checkpoint(run["dir"] / run["metrics"]["best_checkpoint"])
    return {"experiment": config["task_name"], "kind": _kind(run), "net": model["net"],
            "optimizer": model["optimizer"], "scheduler": model["scheduler"], "loss": model["loss"],
            "init_from": model.get("init_from"), "batch_size": data["batch_size"],
            "max_epochs": config["trainer"]["max_epochs"], "featurizer": data["featurizer"],
            "features": best["hyper_parameters"].get("features"),
            "extra_train": {"sources": extras[0], "n_records": len(extras[1])} if extras[0] else None,
            "checkpoint": "lowest val/mae epoch of each member"}


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
    for s in card["settings"]:
        features = s.get("features") or s.get("universal_features")  # cards before 2026-12: a name
        lines += [f"- settings: `{s['experiment']}` ({kind_named(s['kind']).label}): net {s['net']}, optimiser "
                  f"{s['optimizer']}, scheduler {s['scheduler']}, loss {s['loss']}, batch {s['batch_size']}, "
                  f"{s['max_epochs']} epochs, best val epoch"
                  + (f", features {features}" if features else "")
                  + (f", plus {s['extra_train']['n_records']} training records of "
                     f"{', '.join(s['extra_train']['sources'])}" if s.get("extra_train") else "")
                  + (f", initialised from {s['init_from']}" if s["init_from"] else "")]
    lines += [f"- weights: {card['weights_note']}"]
    if card.get("domain"):
        domain = card["domain"]
        lines += [f"- training domain: {len(domain['min_distance'])} elements (shortest nearest-neighbour "
                  f"distance per element in card.json), calibrated std up to {domain['max_std']:.3f} "
                  "log10 GPa on validation; predictions outside it are kept and flagged "
                  "(`in_domain`, `domain_note`)"]
    if cv:
        lines += [f"- cross-validated accuracy of these settings ({cv['protocol'].split('), ')[-1]}, "
                  f"{len(cv['per_fold'])} folds): test MAE {cv['test_mae_mean']:.4f} ± {cv['test_mae_std']:.4f}, "
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
              f"2σ {cal['scaled_std_cross_fitted']['within_2_sigma']:.3f}", "", "| member | setting | seed | weight | val MAE | sha256 |",
              "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| `{m['file']}` | {m['setting']} | {m['seed']} | {m['weight']:.3f} | {m['val_mae']:.4f} | "
              f"`{m['sha256']}` |" for m in card["members"]]
    if card["command"]:
        lines += ["", "Made with:", "", "```bash", card["command"], "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  moduli bundle --name my-k --runs runs/k_seed0 runs/k_seed1 --out bundles/\n"
        "  moduli bundle --name my-k --runs runs/k_seed* --folds runs/k_fold* --command 'how they were made'")
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
