"""Faults a week-long screen meets, and what predict.py does about each: a rerun resumes only what
is still true (a changed corpus or models stop it, touching nothing), the final files are checked
before they replace anything, SIGTERM stops the run with its chunks kept, one run per dir."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from moduli.core.errors import UserInputError
from moduli.core.lock import run_lock
from moduli.corpus.run import predict
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


def settings(config, corpus, pretrained, out, *extra):
    return config("predict", f"corpus.path={corpus}", f"ckpt.bulk={pretrained[0]}",
                  f"ckpt.shear={pretrained[1]}", f"paths.output_dir={out}", "screen=none",
                  "num_workers=0", "progress=false", "figures=false", "chunk_size=4", *extra)


@pytest.fixture()
def corpus(tmp_path, dielectric_rows):
    rows = [{"material_id": r["material_id"], "structure": r["structure"]} for r in dielectric_rows[:10]]
    path = tmp_path / "corpus.json"
    path.write_text(json.dumps(rows))
    return path, rows


def stamps(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


def test_a_changed_corpus_file_stops_the_rerun_and_touches_nothing(tmp_path, corpus, pretrained, config):
    path, rows = corpus
    out = tmp_path / "out"
    predict(settings(config, path, pretrained, out))
    before = stamps(out)
    with pytest.raises(UserInputError, match="holds a run of other models: start afresh"):
        predict(settings(config, path, pretrained[::-1], out))
    assert stamps(out) == before
    path.write_text(json.dumps(rows[::-1]))  # the same structures, reordered
    with pytest.raises(UserInputError, match=r"holds a run of other corpus file contents \(.*corpus.json "
                                             r"changed since the run began\): start afresh"):
        predict(settings(config, path, pretrained, out))
    assert stamps(out) == before
    # resume=false starts afresh: the reordered corpus, each id once.
    summary = predict(settings(config, path, pretrained, out, "resume=false"))
    table = pd.read_parquet(out / "predictions.parquet")
    assert table["id"].tolist() == [r["material_id"] for r in rows[::-1]] and summary["predicted"] == 10


def test_a_changed_folder_stops_at_the_chunk_that_changed(tmp_path, corpus, pretrained, config):
    from pymatgen.core import Structure

    _, rows = corpus
    folder = tmp_path / "cifs"
    folder.mkdir()
    for r in rows:
        Structure.from_dict(r["structure"]).to(filename=str(folder / f"{r['material_id']}.cif"))
    out = tmp_path / "out"
    cfg = settings(config, folder, pretrained, out, "corpus=files")
    predict(cfg)
    before = stamps(out)
    victim = sorted(folder.iterdir())[5]  # in chunk 1 (inputs 5 to 8)
    victim.write_text(Structure.from_dict(rows[0]["structure"]).to(fmt="cif"))
    with pytest.raises(UserInputError, match=r"the inputs of chunk 1 \(inputs 5 to 8 of the corpus\) differ"):
        predict(cfg)
    assert {k: v for k, v in stamps(out).items() if k != "predict.log"} == before


def test_inconsistent_shards_fail_before_any_final_file_is_replaced(tmp_path, corpus, pretrained, config,
                                                                   monkeypatch):
    from moduli.corpus import finalise

    path, _ = corpus
    out = tmp_path / "out"
    predict(settings(config, path, pretrained, out))
    before = {name: (out / name).read_bytes() for name in ("predictions.parquet", "rejected.csv", "screening.json")}
    merge = finalise.merge

    def doubled(shard_dir, n_chunks):
        rows, rejected = merge(shard_dir, n_chunks)
        return pd.concat([rows, rows.iloc[:1]], ignore_index=True), rejected

    monkeypatch.setattr(finalise, "merge", doubled)
    with pytest.raises(RuntimeError, match=r"inconsistent, no output was written: 10 inputs but 11 rows"):
        predict(settings(config, path, pretrained, out))
    assert {name: (out / name).read_bytes() for name in before} == before


def test_a_second_run_into_the_same_dir_stops_at_once(tmp_path, corpus, pretrained, config, caplog):
    path, _ = corpus
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / "run.lock").write_text(json.dumps({"pid": holder.pid, "host": os.uname().nodename,
                                                  "started": "now"}))
        with pytest.raises(UserInputError, match=rf"another run \(pid {holder.pid} on .*\) is writing into"):
            predict(settings(config, path, pretrained, out))
    finally:
        holder.kill()
        holder.wait()
    with caplog.at_level("WARNING"):  # the holder is dead now: its lock is taken over
        assert predict(settings(config, path, pretrained, out))["predicted"] == 10
    assert any("took over the lock" in r.getMessage() for r in caplog.records)
    assert not (out / "run.lock").exists()


def test_the_lock_is_released_and_refuses_a_live_holder(tmp_path):
    with run_lock(tmp_path) as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        with pytest.raises(UserInputError, match="another run"):
            with run_lock(tmp_path):
                pass
    assert not lock.exists()


def test_sigterm_stops_predict_py_with_its_chunks_kept_and_the_rerun_resumes(tmp_path, small_corpus, pretrained):
    out = tmp_path / "stopped"
    command = [sys.executable, "predict.py", f"corpus.path={small_corpus[0]}", f"ckpt.bulk={pretrained[0]}",
               f"ckpt.shear={pretrained[1]}", f"hydra.run.dir={out}", "progress=false", "figures=false",
               "chunk_size=10", "num_workers=1"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(process, (out / "shards" / "chunk-00001.done.json").exists, "chunk 1's marker")
    sent = time.time()
    process.send_signal(signal.SIGTERM)  # the main process only, as a scheduler's first signal
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err[-3000:]
    assert time.time() - sent < 30
    assert "predict.py: stopped by SIGTERM after " in err and "rerun the same command to resume" in err
    assert not (out / "predictions.parquet").exists() and not (out / "run.lock").exists()
    done = sorted(p.name for p in (out / "shards").glob("*.done.json"))
    assert len(done) >= 2
    rerun = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert all(f"chunk {int(name[6:11])}: already done" in rerun.stderr + rerun.stdout for name in done)
    table = pd.read_parquet(out / "predictions.parquet")
    assert table["id"].is_unique and sorted(table["id"]) == sorted(small_corpus[1])


def test_a_full_disk_is_one_line_and_the_rerun_finishes(tmp_path, corpus, pretrained, config, capsys,
                                                        monkeypatch):
    import errno

    from moduli.core.errors import exit_on_user_error

    path, rows = corpus
    out = tmp_path / "out"
    written = []
    to_parquet = pd.DataFrame.to_parquet

    def fills_up(frame, target, *args, **kwargs):
        if len(written) >= 3:  # the first chunk's shards and a bit more go to disk
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        written.append(target)
        return to_parquet(frame, target, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", fills_up)
    with pytest.raises(SystemExit) as stopped:
        exit_on_user_error("predict.py", lambda: predict(settings(config, path, pretrained, out)))
    assert stopped.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("predict.py: error: no space left on the device writing ")
    assert not (out / "predictions.parquet").exists() and not list(out.glob("shards/*.tmp"))
    monkeypatch.undo()
    predict(settings(config, path, pretrained, out))
    table = pd.read_parquet(out / "predictions.parquet")
    assert sorted(table["id"]) == sorted(r["material_id"] for r in rows)
