"""What a finished Optuna sweep leaves behind: best.yaml, history and importance files.

Registered as a Hydra callback by ``hparams_search=cgcnn_optuna``; reads the study back from
its storage, so the summary covers every trial of the study, from this and earlier runs.
"""
from __future__ import annotations

import logging
import random
import time
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc
import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def summarize_study(study: optuna.Study, out: Path) -> dict[str, Any]:
    """Write best.yaml, trials.csv, importance.yaml and Optuna's history / importance plots."""
    out.mkdir(parents=True, exist_ok=True)
    states = [t.state.name for t in study.trials]
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    summary: dict[str, Any] = {"study": study.study_name, "trials": len(states),
                               "complete": len(complete), "failed": states.count("FAIL")}
    study.trials_dataframe().to_csv(out / "trials.csv", index=False)
    if complete:
        best = study.best_trial
        summary.update({"best_trial": best.number, "best_value": best.value,
                        "best_params": best.params})
        if len(complete) >= 2 and len({tuple(sorted(t.params.items())) for t in complete}) >= 2:
            importance = optuna.importance.get_param_importances(study)
            summary["importance"] = {k: float(v) for k, v in importance.items()}
    (out / "best.yaml").write_text(yaml.safe_dump(summary, sort_keys=False))
    if complete:  # Optuna's own plots last: they need plotly, the numbers above do not
        optuna.visualization.plot_optimization_history(study).write_html(out / "history.html")
        if "importance" in summary:
            optuna.visualization.plot_param_importances(study).write_html(out / "importance.html")
    return summary


class StudySummary(Callback):
    """Hydra callback around an Optuna sweep.

    Before: make the sweep dir (the study's SQLite file lives there) and create the study.
    Two processes that create a new SQLite study at the same moment can both try to create its
    tables, and one fails ("table studies already exists"); creating it here with retries
    leaves the sweeper only to load it. After: summarise the study in the sweep dir.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        Path(config.hydra.sweep.dir).mkdir(parents=True, exist_ok=True)
        sweeper = config.hydra.sweeper
        if not sweeper.storage:
            return
        for attempt in range(10):
            try:
                optuna.create_study(study_name=sweeper.study_name, storage=sweeper.storage,
                                    direction=str(sweeper.direction), load_if_exists=True)
                return
            except sqlalchemy.exc.OperationalError:
                if attempt == 9:
                    raise
                time.sleep(0.2 + random.random())

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweeper = config.hydra.sweeper
        study = optuna.load_study(study_name=sweeper.study_name, storage=sweeper.storage)
        summary = summarize_study(study, Path(config.hydra.sweep.dir))
        log.info("study %s: %d trials (%d complete, %d failed); best %s = %s with %s",
                 summary["study"], summary["trials"], summary["complete"], summary["failed"],
                 config.optimized_metric, summary.get("best_value"), summary.get("best_params"))
