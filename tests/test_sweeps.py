"""Optuna sweeps through Hydra: trials in storage, one W&B run each, continuation, sharing, joblib."""
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def sweep(log_dir, *extra, wait=True):
    command = [sys.executable, "train.py", "-m", "hparams_search=cgcnn_optuna", "data.limit=60",
               "data.fold=0", "trainer.max_epochs=1", "trainer.enable_progress_bar=false",
               f"paths.log_dir={log_dir}", *extra]
    if not wait:
        return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def load(log_dir):
    folder = Path(log_dir) / "sweeps" / "cgcnn_log10_g_vrh_fold0"
    study = optuna.load_study(study_name="cgcnn_log10_g_vrh_fold0", storage=f"sqlite:///{folder}/optuna.db")
    return folder, study


def test_sweep_records_trials_wandb_runs_and_continues(tmp_path):
    sweep(tmp_path, "hydra.sweeper.n_trials=3")
    folder, study = load(tmp_path)
    assert len(study.trials) == 3
    assert len(list(folder.glob("trial_*/wandb/offline-run-*"))) == 3  # one W&B run per trial
    best = yaml.safe_load((folder / "best.yaml").read_text())
    assert best["trials"] == 3 and best["best_value"] == study.best_value
    assert set(best["best_params"]) == {"model.net.n_conv", "model.net.n_h", "model.net.atom_fea_len",
                                        "model.net.h_fea_len", "model.optimizer.lr", "data.batch_size"}
    assert (folder / "trials.csv").is_file() and (folder / "history.html").is_file()
    sweep(tmp_path, "hydra.sweeper.n_trials=3")  # the same command again continues the study
    _, study = load(tmp_path)
    assert len(study.trials) == 6
    assert len({t.number for t in study.trials}) == 6
    assert yaml.safe_load((folder / "best.yaml").read_text())["trials"] == 6


@pytest.mark.slow  # multi-process; `make test-all`
def test_two_processes_share_one_study_and_failures_do_not_stop_it(tmp_path):
    processes = [sweep(tmp_path, "hydra.sweeper.n_trials=2", wait=False) for _ in range(2)]
    for process in processes:
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output[-3000:]
    _, study = load(tmp_path)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 4
    assert len({t.number for t in study.trials}) == 4
    # Trials that raise (no such learning rate) are recorded as FAIL and the sweep goes on.
    sweep(tmp_path, "hydra.sweeper.n_trials=2", "model.optimizer.lr=-1")
    _, study = load(tmp_path)
    assert sorted(t.state.name for t in study.trials) == ["COMPLETE"] * 4 + ["FAIL"] * 2


@pytest.mark.slow  # multi-process; `make test-all`
def test_joblib_launcher_runs_trials_in_parallel_into_one_study(tmp_path):
    result = sweep(tmp_path, "hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=2",
                   "hydra/launcher=local_parallel")
    assert "Joblib.Parallel" in result.stdout + result.stderr
    _, study = load(tmp_path)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]


STUDY_DB = Path("sweeps") / "cgcnn_log10_g_vrh_fold0" / "optuna.db"


# The plain-URL storage differs from the config one only in how the URL is given: it runs with
# the slow tests (`make test-all`), the config form in every `make test`.
@pytest.mark.parametrize("storage", ["config", pytest.param("url", marks=pytest.mark.slow)])
def test_a_trial_left_running_by_a_killed_sweep_is_marked_failed_and_the_study_goes_on(tmp_path, storage):
    """With the shipped storage config and with a plain URL (``hydra.sweeper.storage=sqlite:///...``,
    the override Hydra's docs show), both of which beat."""
    import os
    import signal
    import time

    db = tmp_path / STUDY_DB
    heartbeat = ["hydra.sweeper.heartbeat_interval=1", "hydra.sweeper.grace_period=3"]
    if storage == "url":
        heartbeat.append(f"hydra.sweeper.storage=sqlite:///{db}")
    process = subprocess.Popen(
        [sys.executable, "train.py", "-m", "hparams_search=cgcnn_optuna", "data.limit=400", "data.fold=0",
         "trainer.max_epochs=50", "trainer.enable_progress_bar=false", "logger=none",
         f"paths.log_dir={tmp_path}", "hydra.sweeper.n_trials=2", *heartbeat],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if db.is_file() and list(db.parent.glob("trial_*/checkpoints/last.ckpt")):
            break  # a trial is training
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    _, study = load(tmp_path)
    assert [t.state.name for t in study.trials] == ["RUNNING"]
    time.sleep(4)  # past the grace period of the dead trial's last heartbeat
    sweep(tmp_path, "hydra.sweeper.n_trials=2", "logger=none", *heartbeat)
    _, study = load(tmp_path)
    assert [t.state.name for t in study.trials] == ["FAIL", "COMPLETE", "COMPLETE"]
    assert yaml.safe_load((db.parent / "best.yaml").read_text())["complete"] == 2


def test_a_trial_whose_process_dies_while_a_sweep_runs_is_marked_failed_by_that_sweep(tmp_path):
    """The live process watches the study it runs trials of: another process's trial, killed
    with SIGKILL after this one started, is marked FAIL once its beats are older than the grace
    period; the live trial keeps running."""
    import time

    from moduli.train.sweeps import HeartbeatStorage

    url = f"sqlite:///{tmp_path}/shared.db"
    study = optuna.create_study(study_name="shared", storage=HeartbeatStorage(url, heartbeat_interval=1,
                                                                              grace_period=2))
    live = study.ask()
    dying = ("import os, signal, optuna; from moduli.train.sweeps import HeartbeatStorage; "
             f"s = optuna.load_study(study_name='shared', storage=HeartbeatStorage({url!r}, "
             "heartbeat_interval=1, grace_period=2)); s.ask(); os.kill(os.getpid(), signal.SIGKILL)")
    result = subprocess.run([sys.executable, "-c", dying], cwd=REPO, capture_output=True, timeout=120)
    assert result.returncode == -9, result.stderr[-2000:]
    assert [t.state.name for t in study.get_trials()] == ["RUNNING", "RUNNING"]
    deadline = time.time() + 30
    while time.time() < deadline and study.get_trials()[1].state.name == "RUNNING":
        time.sleep(0.5)
    assert [t.state.name for t in study.get_trials()] == ["RUNNING", "FAIL"]
    study.tell(live, 1.0)
    assert [t.state.name for t in study.get_trials()] == ["COMPLETE", "FAIL"]


def test_running_trials_of_runs_made_before_heartbeats_are_failed_after_the_grace_period(tmp_path):
    import time

    from moduli.train.sweeps import HeartbeatStorage, fail_dead_trials

    url = f"sqlite:///{tmp_path}/old.db"
    old = optuna.create_study(study_name="old", storage=url)  # no heartbeats, as before
    old.ask()
    old.tell(old.ask(), 1.0)
    study = optuna.load_study(study_name="old", storage=HeartbeatStorage(url, heartbeat_interval=1,
                                                                         grace_period=60))
    assert fail_dead_trials(study) == []  # started less than the grace period ago
    live = study.ask()  # a trial of this live process: it beats
    time.sleep(2.5)
    study = optuna.load_study(study_name="old", storage=HeartbeatStorage(url, heartbeat_interval=1,
                                                                         grace_period=2))
    assert fail_dead_trials(study) == [0]
    assert [t.state.name for t in study.trials] == ["FAIL", "COMPLETE", "RUNNING"] and live.number == 2


def test_two_sweep_processes_share_one_study_in_postgresql(tmp_path):
    """Needs a PostgreSQL server: .ci/run starts one (.ci/postgres.sh) and sets the URL."""
    import os
    import uuid

    url = os.environ.get("MODULI_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            raise AssertionError("CI must provide MODULI_TEST_POSTGRES_URL (see .ci/postgres.sh)")
        pytest.skip("no PostgreSQL: source .ci/postgres.sh DIR to start one")
    name = f"shared_{uuid.uuid4().hex[:8]}"
    # A new, empty database: both processes race to create Optuna's tables, as machines do
    # when they start on a fresh server.
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = url.rsplit("/", 1)[0] + f"/{name}"
    processes = [sweep(tmp_path / f"p{k}", "hydra.sweeper.n_trials=2", "logger=none",
                       f"hydra.sweeper.storage.url={url}", f"hydra.sweeper.study_name={name}",
                       wait=False) for k in range(2)]
    for process in processes:
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output[-3000:]
    study = optuna.load_study(study_name=name, storage=url)
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 4
    for k in range(2):  # each process summarised the whole shared study
        assert yaml.safe_load((tmp_path / f"p{k}" / "sweeps" / name / "best.yaml").read_text())["trials"] >= 2
