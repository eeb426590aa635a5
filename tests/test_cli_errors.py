"""User errors end train.py / predict.py with one clear line on stderr and exit status 2."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def cli(*args, full_error=False):
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    if full_error:
        env["HYDRA_FULL_ERROR"] = "1"
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, dielectric_rows):
    path = tmp_path_factory.mktemp("corpus") / "corpus.json"
    path.write_text(json.dumps([{"material_id": r["material_id"], "structure": r["structure"]}
                                for r in dielectric_rows[:3]]))
    return path


@pytest.fixture(scope="module")
def dielectric_rows(data_dir):
    from moduli.core.structures import read_json, table_rows

    return table_rows(read_json(data_dir / "matminer_dielectric_constant_bandgap.json.gz"))


def predict_args(tmp_path, *extra):
    pretrained = Path(os.environ["MODULI_DATA_DIR"]) / "cgcnn_reference" / "pretrained"
    return ["predict.py", "screen=none", "progress=false", "figures=false", "num_workers=0",
            f"ckpt.bulk={pretrained / 'bulk-moduli.pth.tar'}",
            f"ckpt.shear={pretrained / 'shear-moduli.pth.tar'}", f"hydra.run.dir={tmp_path / 'out'}", *extra]


def assert_user_error(result, *words):
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert lines[-1].startswith(("predict.py: error: ", "train.py: error: ", "moduli train: error: ")), lines[-1]
    for word in words:
        assert word in lines[-1], lines[-1]


def test_a_missing_corpus_file(tmp_path):
    assert_user_error(cli(*predict_args(tmp_path, f"corpus.path={tmp_path / 'nope.json'}")),
                      "corpus file", "nope.json", "does not exist")


def test_a_missing_or_unreadable_checkpoint(tmp_path, corpus):
    assert_user_error(cli(*predict_args(tmp_path, f"corpus.path={corpus}", f"ckpt.bulk={tmp_path / 'k.ckpt'}")),
                      "k.ckpt", "neither a checkpoint file nor a bundled model", "mp-elastic-k")
    text = tmp_path / "text.ckpt"
    text.write_text("not a checkpoint\n")
    assert_user_error(cli(*predict_args(tmp_path, f"corpus.path={corpus}", f"ckpt.shear={text}")),
                      f"refused to load {text}: not a checkpoint of tensors and plain containers")


def test_an_unknown_column(tmp_path, corpus):
    assert_user_error(cli(*predict_args(tmp_path, f"corpus.path={corpus}", "corpus.structure_column=cif")),
                      "no column 'cif'", "'material_id', 'structure'", "corpus.structure_column")


def test_a_folder_given_as_a_json_corpus(tmp_path, corpus):
    assert_user_error(cli(*predict_args(tmp_path, f"corpus.path={tmp_path}")),
                      "is a folder", "corpus=files")


def test_a_run_dir_of_another_config_and_the_full_traceback_on_request(tmp_path):
    (tmp_path / "config.yaml").write_text("seed: 1\n")
    args = ["train.py", "logger=none", f"hydra.run.dir={tmp_path}"]
    assert_user_error(cli(*args), "holds a run of another config", "another hydra.run.dir")
    full = cli(*args, full_error=True)
    assert full.returncode != 0 and "Traceback" in full.stderr and "UserInputError" in full.stderr
