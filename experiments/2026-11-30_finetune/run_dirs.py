"""Turn the GPU runs' outputs (``device/<setting>/<run>_predictions.csv``) into run dirs that
``python -m moduli.analysis.folds`` reads like any train.py run: ``runs/<target>/<name>/`` with
``config.yaml`` (setting ``sevennet_ft``, fold, target, the fine-tuning options from the log),
``metrics.json`` (kind, MAE and R² per part) and ``predictions/<part>.csv``.

    .venv/bin/python experiments/2026-11-30_finetune/run_dirs.py

The fine-tuning runs (a: body learning rate 1e-4, seed 0; b: 3e-4, seed 1; c: 3e-4, seed 2, folds
only; e: 3e-4, seed 4, folds only) are one setting for the tables, ``sevennet_ft``, so the models of a fold form one
ensemble, as seeds do.

The run dirs were then compacted into ``evidence/`` and the prediction CSVs left git: this script
records how the runs were made and runs again only where ``device/`` holds the CSVs.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from moduli.analysis.metrics import mae, r2

HERE = Path(__file__).parent
SETTINGS = {"a": {"seed": 0, "lr_body": 1e-4}, "b": {"seed": 1, "lr_body": 3e-4},
            "c": {"seed": 2, "lr_body": 3e-4},  # c: a second call, folds only
            "e": {"seed": 4, "lr_body": 3e-4}}  # e: this record's second session, folds only (d: logs only)
RUNS = [f"fold{k}" for k in range(5)] + ["bundle"]


def main() -> None:
    for setting, options in SETTINGS.items():
        for run in RUNS:
            if not (HERE / "device" / setting / f"{run}_predictions.csv").is_file():
                continue
            table = pd.read_csv(HERE / "device" / setting / f"{run}_predictions.csv", dtype={"id": str})
            for target, rows in table.groupby("target"):
                out = HERE / "runs" / target / f"sevennet_ft_{setting}_{run}"
                (out / "predictions").mkdir(parents=True, exist_ok=True)
                metrics = {"kind": "sevennet_finetuned"}
                for part, part_rows in rows.groupby("part"):
                    part_rows[["id", "truth", "prediction"]].rename(columns={"truth": "target"}).to_csv(
                        out / "predictions" / f"{part}.csv", index=False, float_format="%.6f")
                    metrics[f"{part}/mae"] = mae(part_rows["truth"], part_rows["prediction"])
                    metrics[f"{part}/r2"] = r2(part_rows["truth"], part_rows["prediction"])
                    metrics[f"n/{part}"] = len(part_rows)
                fold = None if run == "bundle" else int(run.removeprefix("fold"))
                config = {"task_name": "sevennet_ft", "seed": options["seed"],
                          "data": {"target": target, "fold": fold, "matbench_task": None,
                                   "extra_train": ["brgoch_new"], "seed": 42},
                          "model": {"net": {"kind": "sevennet_finetuned", "hidden": 256, "n_layers": 2,
                                            "dropout": 0.1},
                                    "finetune": {"setting": setting, "lr_body": options["lr_body"],
                                                 "lr_head": 1e-3, "weight_decay": 0.01, "batch_size": 32,
                                                 "head_epochs": 3, "loss": "l1, both targets",
                                                 "script": "experiments/2026-11-30_finetune/finetune.py"}}}
                (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
                (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
                print(out, {k: round(v, 4) for k, v in metrics.items() if k.endswith("mae")})


if __name__ == "__main__":
    main()
