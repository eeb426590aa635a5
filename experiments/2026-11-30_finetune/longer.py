"""Does longer fine-tuning help? Each run's test MAE at its best-validation epoch, per setting.

Reads each fold run's per-epoch validation and test MAE: ``device/<setting>/<run>_history.csv``,
or, for run ``d`` (35-39 epochs, whose CSV outputs did not come back from the GPU machine), the
same numbers as its log printed them (``device/d_<run>.log``: one line per epoch). Per setting and
target: the epochs run, the mean over the five folds of the best validation MAE and of the test MAE
at that epoch (selection on validation only), the per-fold test MAE, and (runs d, e) the test MAE at
the one epoch chosen for both moduli (lowest sum of the validation MAEs over each target's training
std: ``val_mae_joint``), i.e. what one network serving K and G gets. -> ``longer.md``

    python3 experiments/2026-11-30_finetune/longer.py
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

HERE = Path(__file__).parent
SETTINGS = {"a": "body lr 1e-4, seed 0", "b": "3e-4, seed 1", "c": "3e-4, seed 2", "d": "3e-4, seed 3",
            "e": "3e-4, seed 4"}
TARGETS = ("log10_g_vrh", "log10_k_vrh")
LINE = re.compile(r"\S+ epoch (\d+) \([\d.]+ s\) (.*)")


def history(setting: str, run: str) -> list[dict[str, float]]:
    """Per-epoch numbers of one run, from its CSV or else from its log."""
    path = HERE / "device" / setting / f"{run}_history.csv"
    if path.is_file():
        with path.open() as handle:
            return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    rows = []
    for line in (HERE / "device" / f"{setting}_{run}.log").read_text().splitlines():
        match = LINE.match(line)
        if match:
            rows.append({"epoch": float(match[1]),
                         **{k: float(v) for k, v in (kv.split("=") for kv in match[2].split())}})
    return rows


def main() -> None:
    lines = ["| target | setting | epochs | val MAE (best) | test MAE at that epoch | per fold | test MAE, one epoch for both |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for target in TARGETS:
        for setting, label in SETTINGS.items():
            chosen, epochs, joint = [], [], []
            for fold in range(5):
                rows = history(setting, f"fold{fold}")
                best = min(rows, key=lambda r: r[f"val_mae_{target}"])
                chosen.append((best[f"val_mae_{target}"], best[f"test_mae_{target}"]))
                epochs.append(len(rows))
                if "val_mae_joint" in rows[0]:
                    joint.append(min(rows, key=lambda r: r["val_mae_joint"])[f"test_mae_{target}"])
            val = sum(v for v, _ in chosen) / 5
            test = sum(t for _, t in chosen) / 5
            both = f"{sum(joint) / 5:.4f}" if joint else "—"
            lines.append(f"| {target} | {setting} ({label}) | {min(epochs)}-{max(epochs)} | {val:.4f} | "
                         f"{test:.4f} | {' / '.join(f'{t:.4f}' for _, t in chosen)} | {both} |")
    (HERE / "longer.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
