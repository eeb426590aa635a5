"""Training survives kill -9: a rerun in the same run dir resumes and ends where an
uninterrupted run ends; a finished run is reported, not retrained; another config is refused."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from tests.crafted import RunsCode
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[1]
METRICS = [f"{split}/{m}" for split in ("train", "val", "test") for m in ("mae", "r2")]


def command(out, *extra):
    return [sys.executable, "train.py", "data.limit=300", "data.batch_size=32", "trainer.max_epochs=10",
            "trainer.enable_progress_bar=false", f"hydra.run.dir={out}", *extra]


def run(out, *extra):
    """The finished process; its output (log lines and errors, stdout and stderr) in ``.stdout``."""
    return subprocess.run(command(out, *extra), cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)


def last_epoch(path: Path) -> int:
    try:
        return torch.load(path, weights_only=True, map_location="cpu")["epoch"]
    except Exception:  # noqa: BLE001 - not written yet
        return -1


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    result = run(out, "logger=none")
    assert result.returncode == 0, result.stdout[-3000:]
    return out


def test_a_killed_run_resumes_and_ends_as_an_uninterrupted_one(tmp_path, uninterrupted):
    out = tmp_path / "killed"
    process = subprocess.Popen(command(out, "logger=csv"), cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    wait_for(process, lambda: last_epoch(out / "checkpoints" / "last.ckpt") >= 2, "a checkpoint of epoch 3")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "metrics.json").exists(), "the run finished before it could be killed"
    killed_at = last_epoch(out / "checkpoints" / "last.ckpt")
    assert 2 <= killed_at < 9

    result = run(out, "logger=csv")
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"resuming from {out / 'checkpoints' / 'last.ckpt'} (epoch {killed_at + 1} done)" in result.stdout
    assert f"epoch {killed_at + 1}/10:" not in result.stdout  # no epoch done twice
    assert f"epoch {killed_at + 2}/10:" in result.stdout and "epoch 10/10:" in result.stdout
    resumed = json.loads((out / "metrics.json").read_text())
    expected = json.loads((uninterrupted / "metrics.json").read_text())
    for key in METRICS:
        assert resumed[key] == pytest.approx(expected[key], rel=1e-6, abs=1e-9), key
    assert resumed["best_checkpoint"] == expected["best_checkpoint"]
    for split in ("train", "val", "test"):
        pd.testing.assert_frame_equal(pd.read_csv(out / "predictions" / f"{split}.csv"),
                                      pd.read_csv(uninterrupted / "predictions" / f"{split}.csv"),
                                      rtol=1e-6)
    # Per-epoch lines reach train.log when stdout is no terminal.
    log = (out / "train.log").read_text()
    assert "epoch 10/10: train/loss" in log and "val/mae" in log


def test_sigterm_stops_training_with_last_ckpt_kept_and_the_rerun_ends_as_uninterrupted(tmp_path, uninterrupted):
    out = tmp_path / "stopped"
    process = subprocess.Popen(command(out, "logger=csv"), cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    wait_for(process, lambda: last_epoch(out / "checkpoints" / "last.ckpt") >= 1, "a checkpoint of epoch 2")
    sent = time.time()
    process.send_signal(signal.SIGTERM)  # the main process only, as a scheduler's first signal
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 143, output[-3000:]
    assert time.time() - sent < 60
    assert "train.py: stopped by SIGTERM during training: " in output and "last.ckpt" in output
    assert "rerun the same command to resume" in output
    assert not (out / "metrics.json").exists()
    result = run(out, "logger=csv")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "resuming from" in result.stdout
    resumed = json.loads((out / "metrics.json").read_text())
    expected = json.loads((uninterrupted / "metrics.json").read_text())
    for key in METRICS:
        assert resumed[key] == pytest.approx(expected[key], rel=1e-6, abs=1e-9), key


@pytest.mark.slow  # multi-process; `make test-all`
def test_a_resumed_run_continues_its_wandb_run(tmp_path):
    """(Killed runs are tested with the CSV logger: W&B's service of a process killed a moment
    ago can still hold the run id.) Here the run is left unfinished by removing its metrics."""
    out = tmp_path / "wandb-run"
    args = ("logger=wandb", "data.limit=120", "trainer.max_epochs=2")
    assert run(out, *args).returncode == 0
    (out / "metrics.json").unlink()
    result = run(out, *args)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "resuming from" in result.stdout and (out / "metrics.json").is_file()
    runs = list((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 2 and len({p.name.rsplit("-", 1)[-1] for p in runs}) == 1


@pytest.mark.slow  # 36 s: two trainings; the plain resume and SIGTERM tests stay in the fast suite
def test_a_truncated_last_checkpoint_falls_back_to_the_newest_full_one(tmp_path):
    out = tmp_path / "truncated"
    args = ("logger=none", "data.limit=120", "trainer.max_epochs=3")
    assert run(out, *args).returncode == 0
    expected = json.loads((out / "metrics.json").read_text())
    (out / "metrics.json").unlink()
    last = out / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])  # cut off mid-write
    result = run(out, *args)
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"{last} is unreadable (unreadable checkpoint" in result.stdout
    assert "resuming from " in result.stdout and "best-" in result.stdout
    resumed = json.loads((out / "metrics.json").read_text())
    for key in METRICS:
        assert resumed[key] == pytest.approx(expected[key], rel=1e-6, abs=1e-9), key
    # With no full checkpoint left to fall back to: one line, exit 2.
    (out / "metrics.json").unlink()
    for path in (out / "checkpoints").glob("best-*.ckpt"):
        path.unlink()
    last.write_bytes(b"PK\x03\x04 cut")
    result = run(out, *args)
    assert result.returncode == 2, result.stdout[-3000:]
    assert "cannot resume: unreadable checkpoint" in result.stdout and "to start afresh" in result.stdout


def test_a_finished_run_is_reported_not_retrained(uninterrupted):
    before = (uninterrupted / "metrics.json").read_text()
    result = run(uninterrupted, "logger=none")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "holds a finished run of this config, not retrained" in result.stdout
    assert (uninterrupted / "metrics.json").read_text() == before
    assert "epoch 1/10" not in result.stdout


def test_another_config_in_the_same_run_dir_is_refused(uninterrupted):
    result = run(uninterrupted, "logger=none", "model.optimizer.lr=0.01")
    assert result.returncode != 0
    assert "holds a run of another config (differs in model.optimizer.lr)" in result.stdout


def test_a_last_checkpoint_that_would_run_code_is_refused(tmp_path, config):
    from omegaconf import OmegaConf

    from moduli.train.run import train

    out, marker = tmp_path / "run", tmp_path / "pwned"
    cfg = config("train", "data.limit=120", "trainer.max_epochs=2", "logger=none",
                 "trainer.enable_progress_bar=false", f"paths.output_dir={out}")
    (out / "checkpoints").mkdir(parents=True)
    (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    torch.save({"epoch": 0, "state_dict": {}, "loops": RunsCode(marker)}, out / "checkpoints" / "last.ckpt")
    with pytest.raises(ValueError, match="refused to load .*last.ckpt: unpickling it would call posix.system"):
        train(cfg)
    assert not marker.exists()
