"""What a finished Optuna sweep leaves behind: best.yaml, history and importance files.

Registered as a Hydra callback by ``hparams_search=cgcnn_optuna``; reads the study back from
its storage, so the summary covers every trial of the study, from this and earlier runs.
"""
from __future__ import annotations

import datetime
import logging
import random
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.storages._rdb import models as rdb_models
import sqlalchemy.exc
import yaml
from hydra.experimental.callback import Callback
from hydra.utils import instantiate
from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)
# The Hydra sweeper asks and tells; HeartbeatStorage beats for those trials itself, so Optuna's
# warning that heartbeats belong to study.optimize does not apply here.
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")


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


class HeartbeatStorage(optuna.storages.RDBStorage):
    """Optuna's RDB storage with heartbeats for trials asked through ``study.ask`` (as the Hydra
    sweeper does; Optuna beats only inside ``study.optimize``).

    The process that creates a trial records its heartbeat at once and then every
    ``heartbeat_interval`` seconds from a background thread until the trial is told. A trial
    whose process died stops beating; :func:`fail_dead_trials` marks it FAIL once its last
    heartbeat is older than ``grace_period``.
    """

    def __init__(self, url: str, heartbeat_interval: int = 60, grace_period: int = 180, **kwargs: Any):
        # Processes that open a new, empty database at the same moment race to create Optuna's
        # tables (PostgreSQL: "duplicate key ... alembic_version"); the loser retries and finds them.
        for attempt in range(10):
            try:
                super().__init__(url, heartbeat_interval=heartbeat_interval,
                                 grace_period=grace_period, **kwargs)
                break
            except sqlalchemy.exc.DBAPIError:
                if attempt == 9:
                    raise
                time.sleep(0.2 + random.random())
        self._start_beating()

    def _start_beating(self) -> None:
        self._beating: set[int] = set()
        self._beating_lock = threading.Lock()
        threading.Thread(target=self._beat_forever, name="optuna-heartbeat", daemon=True).start()

    def _beat_forever(self) -> None:
        while True:
            time.sleep(self.heartbeat_interval)
            with self._beating_lock:
                trial_ids = list(self._beating)
            for trial_id in trial_ids:
                try:
                    self.record_heartbeat(trial_id)
                except Exception as err:  # noqa: BLE001 - a missed beat is retried next time
                    log.warning("heartbeat of trial id %d not recorded: %s", trial_id, err)

    def _create_new_trial(self, study_id: int, template_trial=None):
        # Optuna's cache layer calls this one (create_new_trial calls it too).
        trial = super()._create_new_trial(study_id, template_trial)
        if trial.state == optuna.trial.TrialState.RUNNING:
            self.record_heartbeat(trial._trial_id)
            with self._beating_lock:
                self._beating.add(trial._trial_id)
        return trial

    def set_trial_state_values(self, trial_id: int, state, values=None) -> bool:
        changed = super().set_trial_state_values(trial_id, state, values)
        if state == optuna.trial.TrialState.RUNNING:  # a waiting trial taken up by this process
            self.record_heartbeat(trial_id)
            with self._beating_lock:
                self._beating.add(trial_id)
        elif state.is_finished():
            with self._beating_lock:
                self._beating.discard(trial_id)
        return changed

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        for key in ("_beating", "_beating_lock"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._start_beating()


def fail_dead_trials(study: optuna.Study) -> list[int]:
    """Mark FAIL the RUNNING trials whose process died: last heartbeat older than the grace
    period, or (trials of runs made before heartbeats) no heartbeat and started longer ago than
    the grace period. Returns their numbers."""
    storage = getattr(study._storage, "_backend", study._storage)  # Optuna wraps it in a cache
    if not isinstance(storage, optuna.storages.RDBStorage) or storage.heartbeat_interval is None:
        return []
    stale = set(storage._get_stale_trial_ids(study._study_id))
    session = storage.scoped_session()
    try:
        have_beaten = {tid for (tid,) in session.query(rdb_models.TrialHeartbeatModel.trial_id)}
    finally:
        session.close()
    now = datetime.datetime.now()
    grace = datetime.timedelta(seconds=storage.grace_period or 2 * storage.heartbeat_interval)
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if (trial._trial_id not in have_beaten and trial.datetime_start
                and now - trial.datetime_start > grace):
            stale.add(trial._trial_id)
    failed = []
    for trial_id in sorted(stale):
        if study._storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL):
            failed.append(storage.get_trial_number_from_id(trial_id))
    return failed


class HeartbeatOptunaSweeper(OptunaSweeper):
    """Hydra's Optuna sweeper, with ``storage`` given as a config to instantiate (our
    :class:`HeartbeatStorage`) as well as a URL."""

    def __init__(self, *args: Any, storage: Any = None, **kwargs: Any):
        super().__init__(*args, storage=_instantiate_storage(storage), **kwargs)


def _instantiate_storage(storage: Any) -> Any:
    if isinstance(storage, dict) or OmegaConf.is_dict(storage):
        return instantiate(storage, _execution_whitelist_=["moduli.train.sweeps.*", "optuna.storages.*"])
    return storage


def _storage(sweeper: DictConfig) -> Any:
    """The sweeper's storage as Optuna takes it: a URL, or the storage object its config builds."""
    return _instantiate_storage(sweeper.storage)


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
                study = optuna.create_study(study_name=sweeper.study_name, storage=_storage(sweeper),
                                            direction=str(sweeper.direction), load_if_exists=True)
                break
            except sqlalchemy.exc.OperationalError:
                if attempt == 9:
                    raise
                time.sleep(0.2 + random.random())
        failed = fail_dead_trials(study)
        if failed:
            log.warning("study %s: trials %s were left RUNNING by a process that died; marked FAIL",
                        study.study_name, failed)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweeper = config.hydra.sweeper
        study = optuna.load_study(study_name=sweeper.study_name, storage=_storage(sweeper))
        summary = summarize_study(study, Path(config.hydra.sweep.dir))
        log.info("study %s: %d trials (%d complete, %d failed); best %s = %s with %s",
                 summary["study"], summary["trials"], summary["complete"], summary["failed"],
                 config.optimized_metric, summary.get("best_value"), summary.get("best_params"))


def main(argv: list[str] | None = None) -> None:
    """``python -m moduli.train.sweeps --storage URL --study NAME``: mark the dead trials of a study FAIL
    (what every sweep of the study does when it starts)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("--storage", required=True, help="e.g. sqlite:///path/optuna.db")
    parser.add_argument("--study", required=True)
    parser.add_argument("--grace-period", type=int, default=180, help="seconds")
    args = parser.parse_args(argv)
    storage = HeartbeatStorage(args.storage, heartbeat_interval=60, grace_period=args.grace_period)
    study = optuna.load_study(study_name=args.study, storage=storage)
    print(f"study {args.study}: marked FAIL {fail_dead_trials(study) or 'none'}")


if __name__ == "__main__":
    main()
