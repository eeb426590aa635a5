"""Optuna sweeps through Hydra: trials in storage, one W&B run each, continuation, sharing, joblib."""
import subprocess
import sys
from pathlib import Path

import optuna
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


def test_joblib_launcher_runs_trials_in_parallel_into_one_study(tmp_path):
    result = sweep(tmp_path, "hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=2",
                   "hydra/launcher=local_parallel")
    assert "Joblib.Parallel" in result.stdout + result.stderr
    _, study = load(tmp_path)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
