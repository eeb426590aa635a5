"""The installed ``moduli`` command, run as a user would: in a subprocess, from a folder outside the
checkout, on every structure format it reads and on bad inputs.

Checked: the count rule (inputs = rows + rejections, each id once), one answer per crystal
whatever file format describes it, exit codes (0 done, 1 nothing predicted, 2 a mistake in what
was asked) and that a refused run leaves nothing behind.
"""
from __future__ import annotations

import bz2
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure

MODULI = Path(sys.executable).parent / "moduli"
REPO = Path(__file__).resolve().parents[1]


def moduli(cwd: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run([str(MODULI), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def real(mp_records):
    """Three real MP structures of 2 to 8 atoms."""
    small = [r for r in mp_records if 2 <= len(r.structure) <= 8]
    return small[3], small[40], small[90]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, real):
    """A folder with every format once (same crystals in several), and the bad inputs.

    Returns (folder, {id: crystal index or None}, {bad id: words of its reason}).
    """
    from ase.io import write
    from pymatgen.io.ase import AseAtomsAdaptor

    root = tmp_path_factory.mktemp("user") / "structures"
    (root / "sub").mkdir(parents=True)
    a, b, c = (r.structure for r in real)
    atoms = [AseAtomsAdaptor.get_atoms(s) for s in (a, b, c)]
    cif = a.to(fmt="cif")
    (root / "a.cif").write_text(cif)
    (root / "sub" / "A_upper.CIF").write_text(cif)
    (root / "a_gz.cif.gz").write_bytes(gzip.compress(cif.encode()))
    (root / "a_bz2.cif.bz2").write_bytes(bz2.compress(cif.encode()))
    (root / "blocks.cif").write_text("data_global\n_publ_section_title 'two crystals'\n\n" + cif + "\n"
                                     + c.to(fmt="cif").replace("data_", "data_second_", 1))
    (root / "sub" / "POSCAR").write_text(b.to(fmt="poscar"))
    (root / "CONTCAR_b").write_text(b.to(fmt="poscar"))
    (root / "b.vasp").write_text(b.to(fmt="poscar"))
    (root / "c.json").write_text(json.dumps(c.as_dict()))
    (root / "pair.json.gz").write_bytes(gzip.compress(json.dumps([a.as_dict(), c.as_dict()]).encode()))
    (root / "lines.jsonl").write_text("\n".join(json.dumps({"material_id": f"row-{k}", "structure": s.as_dict()})
                                                for k, s in enumerate((b, c))) + "\n")
    write(root / "frames.extxyz", atoms, format="extxyz")
    write(root / "single.xyz", atoms[2], format="extxyz")
    write(root / "two.traj", atoms[:2], format="traj")
    expected = {"a": 0, "sub/A_upper": 0, "a_gz": 0, "a_bz2": 0, "blocks#0": 0, "blocks#1": 2, "sub/POSCAR": 1, "CONTCAR_b": 1,
                "b": 1, "c": 2, "pair#0": 0, "pair#1": 2, "row-0": 1, "row-1": 2, "frames#0": 0,
                "frames#1": 1, "frames#2": 2, "single": 2, "two#0": 0, "two#1": 1}
    # Bad inputs: each a rejection with its reason, none skipped.
    from ase.build import molecule

    write(root / "water.xyz", molecule("H2O"), format="extxyz")
    disordered = Structure(Lattice.cubic(4.2), [{"Mg": 0.5, "Ca": 0.5}, "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    (root / "partial.cif").write_text(disordered.to(fmt="cif"))
    (root / "broken.cif").write_text("data_broken\n_cell_length_a 3\n")
    (root / "notes.md").write_text("# my notes\n")
    (root / "data.foo").write_text("1 2 3\n")
    (root / "cut.extxyz").write_text("5\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3\nNa 0 0 0\n")
    bad = {"water": "molecule without a periodic 3D lattice", "partial": "disorder",
           "broken": "unreadable CIF", "notes.md": "not a structure file (.md)",
           "data.foo": "not a structure file (.foo)", "cut": "ends inside a frame"}
    return root, expected, bad


@pytest.fixture(scope="module")
def folder_run(inputs):
    root, _, _ = inputs
    work = root.parent
    result = moduli(work, "predict", "structures", "-o", "out/table.parquet", "--num-workers", "0")
    return work, result


def test_a_folder_of_every_format_gives_each_input_once(folder_run, inputs):
    work, result = folder_run
    _, expected, bad = inputs
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_parquet(work / "out" / "table.parquet")
    rejected = pd.read_csv(work / "out" / "table.rejected.csv")
    assert sorted(table["id"]) == sorted(expected)
    assert sorted(rejected["id"]) == sorted(bad)
    for row in rejected.itertuples():
        assert bad[row.id] in row.reason, (row.id, row.reason)
    assert len(table) + len(rejected) == len(expected) + len(bad)
    assert f"{len(expected)} of {len(expected) + len(bad)} inputs predicted" in result.stderr
    # Each std column right after its value.
    columns = list(table.columns)
    for value in ("bulk_modulus_gpa", "shear_modulus_gpa"):
        assert columns[columns.index(value) + 1] == f"{value}_std"


def test_one_crystal_one_answer_in_every_format(folder_run, inputs, real):
    import moduli as api

    work, _ = folder_run
    _, expected, _ = inputs
    table = pd.read_parquet(work / "out" / "table.parquet").set_index("id")
    reference = api.predict([r.structure for r in real]).set_index(pd.Index([0, 1, 2]))
    for entry, crystal in expected.items():
        for column in ("bulk_modulus_gpa", "shear_modulus_gpa", "bulk_modulus_gpa_std"):
            assert table.loc[entry, column] == pytest.approx(reference.loc[crystal, column], rel=1e-5), entry


def test_the_run_is_quiet_and_names_its_files(folder_run):
    _, result = folder_run
    err = result.stderr
    for noise in ("💡 Tip", "GPU available", "wandb:", "UserWarning", "Traceback"):
        assert noise not in err, noise
    assert "out/table.rejected.csv" in err and "out/table.parquet" in err
    assert "screen: none" in err


def test_a_few_structures_print_a_table_and_the_rerun_resumes(inputs, tmp_path):
    root, _, _ = inputs
    result = moduli(tmp_path, "predict", str(root / "a.cif"), str(root / "sub" / "POSCAR"),
                    "--models", "fast", "--num-workers", "0")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "B (GPa)" in result.stdout and "G (GPa)" in result.stdout
    table = pd.read_csv(tmp_path / "moduli-predictions.csv")
    assert len(table) == 2 and table["id"].str.endswith(("structures/a", "structures/sub/POSCAR")).all()
    again = moduli(tmp_path, "predict", str(root / "a.cif"), str(root / "sub" / "POSCAR"),
                   "--models", "fast", "--num-workers", "0")
    assert again.returncode == 0 and "chunk 0: already done" in again.stderr
    assert pd.read_csv(tmp_path / "moduli-predictions.csv").equals(table)


@pytest.fixture()
def own_logging():
    """The command sets up logging as a program does; give the test session its own back."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    logging.captureWarnings(False)
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_missing_input_is_one_line_exit_2_and_leaves_nothing(tmp_path):
    result = moduli(tmp_path, "predict", "missing.cif", timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == "moduli predict: error: input missing.cif does not exist"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, words", [
    (["predict", "nothing*/*.cif"], "a glob that matches no file"),
    (["predict", "{root}", "-o", "table.xlsx"], "the extension chooses the format, .csv or .parquet"),
    (["predict", "{root}", "--bulk", "no-such-model"], "neither a checkpoint file nor a bundled model"),
    (["predict", "{root}", "--set", "no_such_key=1"], "--set: Could not override 'no_such_key'"),
    (["predict", "{root}", "--screen", "strict"], "invalid choice: 'strict'"),
    (["predict"], "the following arguments are required: INPUT"),
    (["nosuchcommand"], "unknown command 'nosuchcommand'"),
])
def test_a_mistake_is_one_line_exit_2_and_leaves_nothing(inputs, tmp_path, monkeypatch, capsys, own_logging,
                                                       args, words):
    """The same command in this process (the subprocess path is the test above): faster, and
    the same code from the argument parser to the exit."""
    from moduli.cli import main

    root, _, _ = inputs
    monkeypatch.chdir(tmp_path)
    try:
        code = main([a.format(root=root) for a in args])
    except SystemExit as exit:
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2, err[-2000:]
    assert "Traceback" not in err and words in err.strip().splitlines()[-1]
    assert list(tmp_path.iterdir()) == []


def test_nothing_predicted_exits_1_with_the_rejections(inputs, tmp_path):
    root, _, _ = inputs
    result = moduli(tmp_path, "predict", str(root / "a.cif"), "--screen", "paper", "--num-workers", "0",
                    "-o", "gaps.csv")
    assert result.returncode == 1, result.stderr[-2000:]
    assert "0 predictions from 1 inputs; rejected by stage: band_gap 1" in result.stderr
    rejected = pd.read_csv(tmp_path / "gaps.rejected.csv")
    assert rejected["reason"].tolist() == ["no band gap given (the band-gap window needs one)"]


def test_help_describes_each_command_with_examples(tmp_path):
    for command in ([], ["predict"], ["train"], ["models"], ["report"], ["features"], ["bundle"]):
        result = moduli(tmp_path, *command, "--help", timeout=120)
        assert result.returncode == 0, (command, result.stderr[-2000:])
        assert "example" in result.stdout.lower(), command
    train = moduli(tmp_path, "train", "--help").stdout
    assert "model (" in train and "cgcnn" in train and "group=option" in train
    assert list(tmp_path.iterdir()) == []


def test_models_lists_the_bundled_pairs(tmp_path):
    result = moduli(tmp_path, "models", timeout=120)
    assert result.returncode == 0, result.stderr
    for name in ("mp-elastic-k", "mp-elastic-g-fast", "mp-elastic-k-accurate"):
        assert name in result.stdout
    assert "bulk modulus B" in result.stdout and "shear modulus G" in result.stdout and "%" in result.stdout


def test_report_exits_0(folder_run, tmp_path):
    work, _ = folder_run
    result = moduli(tmp_path, "report", "--out", "figures", "--predictions",
                    str(work / "out" / "table.run" / "predictions.parquet"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "figures" / "summary.md").is_file()


def test_python_api_takes_structures_atoms_and_names_what_it_accepts(real):
    import inspect

    from ase.build import molecule
    from pymatgen.io.ase import AseAtomsAdaptor

    import moduli as api

    structure = real[0].structure
    one = api.predict(structure, bulk="mp-elastic-k-fast", shear="mp-elastic-g-fast")
    assert len(one) == 1 and one["rejected"].isna().all()
    mixed = api.predict([AseAtomsAdaptor.get_atoms(structure), molecule("H2O")],
                        bulk="mp-elastic-k-fast", shear="mp-elastic-g-fast")
    assert mixed.loc[0, "bulk_modulus_gpa"] == pytest.approx(one.loc[0, "bulk_modulus_gpa"], rel=1e-6)
    assert "molecule without a periodic 3D lattice" in mixed.loc[1, "rejected"]
    for wrong in ("NaCl.cif", [structure, 3]):
        with pytest.raises(TypeError, match="a pymatgen Structure, an ASE Atoms or a list of either"):
            api.predict(wrong)
    assert {"bulk", "shear", "ids"} <= set(inspect.signature(api.predict).parameters)
    assert api.predict.__doc__.startswith("Bulk and shear moduli")


def build_wheel(tmp_path: Path) -> Path:
    """The wheel of the checkout's source, built from a copy without the checkout's build outputs
    (a stale ``build/lib`` would put modules that no longer exist into the wheel)."""
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "experiments", "logs", "__pycache__"))
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "-q", "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return next((tmp_path / "dist").glob("moduli-*.whl"))


def test_the_wheel_carries_the_configs_and_the_bundled_models(tmp_path):
    import zipfile

    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(REPO / "src").as_posix() for p in (REPO / "src").rglob("*.py")
               if "egg-info" not in p.as_posix()}
    assert {n for n in names if n.endswith(".py")} == modules  # every module, and none that is gone
    configs = {p.relative_to(REPO / "src").as_posix() for p in (REPO / "src" / "moduli" / "conf").rglob("*.yaml")}
    assert configs <= names, sorted(configs - names)[:5]
    bundled = {p.relative_to(REPO / "src").as_posix() for p in (REPO / "src" / "moduli" / "models" / "bundled").rglob("*")
               if p.is_file()}
    assert bundled <= names, sorted(bundled - names)[:5]
    assert "hydra_plugins/moduli_sweeper/__init__.py" in names
    assert any(n.endswith("entry_points.txt") for n in names)
    entry_points = next(zipfile.ZipFile(wheel).read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert "moduli = moduli.cli:main" in entry_points


@pytest.mark.slow
def test_the_wheel_installed_in_a_fresh_venv_predicts_offline_from_tmp(tmp_path, inputs):
    """The wheel alone (no checkout) in a new venv; its dependencies come from this venv's site
    packages through a .pth file, so nothing is downloaded."""
    import site
    import venv

    wheel = build_wheel(tmp_path)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
                   check=True, timeout=600)
    root, _, _ = inputs
    work = tmp_path / "elsewhere"
    work.mkdir()
    result = subprocess.run([str(env_dir / "bin" / "moduli"), "predict", str(root / "a.cif"), "--models",
                             "fast", "--num-workers", "0"], cwd=work, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "site-packages/moduli" in subprocess.run(
        [str(python), "-c", "import moduli; print(moduli.__file__)"], capture_output=True, text=True,
        cwd=work).stdout
    assert len(pd.read_csv(work / "moduli-predictions.csv")) == 1
