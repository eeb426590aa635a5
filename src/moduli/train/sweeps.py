"""Optuna sweeps through Hydra that survive dead processes, and what a finished sweep leaves behind.

:class:`HeartbeatOptunaSweeper` (``hydra/sweeper: moduli_optuna``) keeps every trial it runs
beating in the study's storage, whether ``hydra.sweeper.storage`` is the shipped config or a
plain URL (``hydra.sweeper.storage=sqlite:///optuna.db``, the override Hydra's docs show); a
trial whose process died stops beating and is marked FAIL by the next sweep of the study that
starts, or that is running, once its last beat is older than ``hydra.sweeper.grace_period``.
:class:`StudySummary` (a Hydra callback) reads the study back at the end: best.yaml, history and
importance files over every trial of the study, from this and earlier runs.
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
from dataclasses import dataclass

from hydra.core.config_store import ConfigStore
from hydra.experimental.callback import Callback
from hydra.utils import instantiate
from hydra_plugins.hydra_optuna_sweeper.config import OptunaSweeperConf
from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)
# The Hydra sweeper asks and tells; HeartbeatStorage beats for those trials itself, so Optuna's
# warning that heartbeats belong to study.optimize does not apply here.
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
HEARTBEAT_INTERVAL = 60  # s between heartbeats of a running trial
GRACE_PERIOD = 180       # s without a heartbeat before a RUNNING trial counts as dead


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
    heartbeat is older than ``grace_period``, at the start of a sweep and, from the same
    background thread, every interval while this process runs trials of that study.
    """

    def __init__(self, url: str, heartbeat_interval: int = HEARTBEAT_INTERVAL,
                 grace_period: int = GRACE_PERIOD, **kwargs: Any):
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
        self._studies: set[int] = set()  # studies this process runs trials of: watched for dead ones
        self._beating_lock = threading.Lock()
        threading.Thread(target=self._beat_forever, name="optuna-heartbeat", daemon=True).start()

    def _beat_forever(self) -> None:
        while True:
            time.sleep(self.heartbeat_interval)
            with self._beating_lock:
                trial_ids, study_ids = list(self._beating), list(self._studies)
            for trial_id in trial_ids:
                try:
                    self.record_heartbeat(trial_id)
                except Exception as err:  # noqa: BLE001 - a missed beat is retried next time
                    log.warning("heartbeat of trial id %d not recorded: %s", trial_id, err)
            for study_id in study_ids:
                try:
                    failed = fail_dead_trials_of(self, study_id)
                except Exception as err:  # noqa: BLE001 - tried again next interval
                    log.warning("dead-trial check of study id %d failed: %s", study_id, err)
                    continue
                if failed:
                    log.warning("trials %s were left RUNNING by a process that died; marked FAIL", failed)

    def _create_new_trial(self, study_id: int, template_trial=None):
        # Optuna's cache layer calls this one (create_new_trial calls it too).
        trial = super()._create_new_trial(study_id, template_trial)
        with self._beating_lock:
            self._studies.add(study_id)
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
        for key in ("_beating", "_studies", "_beating_lock"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._start_beating()


def fail_dead_trials(study: optuna.Study) -> list[int]:
    """Mark FAIL the RUNNING trials of ``study`` whose process died (see :func:`fail_dead_trials_of});
    returns their numbers. Nothing for a storage without heartbeats."""
    storage = getattr(study._storage, "_backend", study._storage)  # Optuna wraps it in a cache
    if not isinstance(storage, optuna.storages.RDBStorage) or storage.heartbeat_interval is None:
        return []
    return fail_dead_trials_of(storage, study._study_id)


def fail_dead_trials_of(storage: optuna.storages.RDBStorage, study_id: int) -> list[int]:
    """Mark FAIL the RUNNING trials whose process died: last heartbeat older than the grace
    period, or (trials of runs made before heartbeats) no heartbeat and started longer ago than
    the grace period. Returns their numbers."""
    stale = set(storage._get_stale_trial_ids(study_id))
    session = storage.scoped_session()
    try:
        have_beaten = {tid for (tid,) in session.query(rdb_models.TrialHeartbeatModel.trial_id)}
    finally:
        session.close()
    now = datetime.datetime.now()
    grace = datetime.timedelta(seconds=storage.grace_period or 2 * storage.heartbeat_interval)
    for trial in storage.get_all_trials(study_id, deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if (trial._trial_id not in have_beaten and trial.datetime_start
                and now - trial.datetime_start > grace):
            stale.add(trial._trial_id)
    failed = []
    for trial_id in sorted(stale):
        if storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL):
            failed.append(storage.get_trial_number_from_id(trial_id))
    return failed


@dataclass
class HeartbeatOptunaSweeperConf(OptunaSweeperConf):
    """Hydra's Optuna sweeper config plus the heartbeat settings, which apply to any storage."""

    _target_: str = "moduli.train.sweeps.HeartbeatOptunaSweeper"
    heartbeat_interval: int = HEARTBEAT_INTERVAL
    grace_period: int = GRACE_PERIOD


ConfigStore.instance().store(group="hydra/sweeper", name="moduli_optuna", node=HeartbeatOptunaSweeperConf,
                             provider="moduli")


class HeartbeatOptunaSweeper(OptunaSweeper):
    """Hydra's Optuna sweeper whose storage always beats: ``storage`` is a URL or a config to
    instantiate, and either becomes a :class:`HeartbeatStorage` with the sweeper's
    ``heartbeat_interval`` and ``grace_period``."""

    def __init__(self, *args: Any, storage: Any = None, heartbeat_interval: int = HEARTBEAT_INTERVAL,
                 grace_period: int = GRACE_PERIOD, **kwargs: Any):
        super().__init__(*args, storage=make_storage(storage, heartbeat_interval, grace_period), **kwargs)


def make_storage(storage: Any, heartbeat_interval: int = HEARTBEAT_INTERVAL,
                 grace_period: int = GRACE_PERIOD) -> Any:
    """A :class:`HeartbeatStorage` from a storage URL or config (None stays None: in memory)."""
    if storage is None or isinstance(storage, optuna.storages.BaseStorage):
        return storage
    beats = {"heartbeat_interval": heartbeat_interval, "grace_period": grace_period}
    if isinstance(storage, str):
        return HeartbeatStorage(storage, **beats)
    given = OmegaConf.to_container(storage, resolve=True) if OmegaConf.is_dict(storage) else dict(storage)
    return instantiate({**beats, **given}, _execution_whitelist_=["moduli.train.sweeps.*", "optuna.storages.*"])


def _storage(sweeper: DictConfig) -> Any:
    """The sweeper's storage as its trials use it."""
    return make_storage(sweeper.storage, sweeper.get("heartbeat_interval", HEARTBEAT_INTERVAL),
                        sweeper.get("grace_period", GRACE_PERIOD))


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


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    """``python -m moduli.train.sweeps --storage URL --study NAME``: mark the dead trials of a study FAIL
    (what every sweep of the study does when it starts)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog=prog, description=main.__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  moduli sweeps --storage sqlite:///logs/optuna.db --study cgcnn\n"
        "  moduli sweeps --storage postgresql+psycopg://host/db --study cgcnn --grace-period 600")
    parser.add_argument("--storage", required=True, help="e.g. sqlite:///path/optuna.db")
    parser.add_argument("--study", required=True)
    parser.add_argument("--grace-period", type=int, default=GRACE_PERIOD, help="seconds")
    args = parser.parse_args(argv)
    storage = HeartbeatStorage(args.storage, grace_period=args.grace_period)
    study = optuna.load_study(study_name=args.study, storage=storage)
    print(f"study {args.study}: marked FAIL {fail_dead_trials(study) or 'none'}")


if __name__ == "__main__":
    main()
