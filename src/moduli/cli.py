"""The ``moduli`` command: predict, train, models, report, and the tools around them.

Thin over the API: ``moduli predict`` composes the same Hydra config as ``predict.py``
(``moduli/conf/predict.yaml``) and runs the same pipeline (:func:`moduli.corpus.run.predict`);
``moduli train`` *is* ``train.py`` (the same Hydra application, overrides and ``-m`` sweeps); the
other subcommands call the ``main`` of their module. Imports are deferred to the subcommand that
needs them, so ``--help`` answers at once.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

import hydra
from omegaconf import DictConfig

PROG = "moduli"
CONFIG_MODULE = "moduli.conf"
DEFAULT_OUTPUT = "moduli-predictions.csv"
FEW = 20  # up to this many rows are also printed on the terminal
# The bundled pairs by tier: (bulk, shear).
TIERS = {"default": ("mp-elastic-k", "mp-elastic-g"),
         "fast": ("mp-elastic-k-fast", "mp-elastic-g-fast"),
         "accurate": ("mp-elastic-k-accurate", "mp-elastic-g-accurate")}

log = logging.getLogger("moduli")


@hydra.main(config_path=f"pkg://{CONFIG_MODULE}", config_name="train")
def train_main(cfg: DictConfig) -> float:
    """``train.py`` and ``moduli train``: one training run (or one sweep trial) from the config."""
    from moduli.core.errors import exit_on_user_error
    from moduli.train.run import train

    program = "train.py" if sys.argv[0].endswith("train.py") else f"{PROG} train"
    return exit_on_user_error(program, lambda: train(cfg))


@hydra.main(config_path=f"pkg://{CONFIG_MODULE}", config_name="predict")
def predict_main(cfg: DictConfig) -> None:
    """``predict.py``: a corpus described by Hydra overrides (``corpus=...``)."""
    from moduli.core.errors import exit_on_user_error
    from moduli.corpus.run import discard_refused_run, predict

    exit_on_user_error("predict.py", lambda: predict(cfg),
                       on_refusal=lambda: discard_refused_run(Path(cfg.paths.output_dir),
                                                              Path(cfg.paths.log_dir)))


# ---------------------------------------------------------------------------------------------
# moduli predict


PREDICT_HELP = """\
Predict bulk and shear moduli (GPa), their calibrated std and derived properties (sound
velocities, Poisson ratio, Debye temperature, Pugh ratio) for every structure in the inputs,
with the models bundled in the package (no training, no network).

INPUT is a structure file, a folder (searched recursively) or a glob: CIF (also .cif.gz /
.cif.bz2), POSCAR / CONTCAR / *.vasp, pymatgen JSON and JSON Lines, extended XYZ and any file
ASE reads. A file of several structures gives one row per frame (id FILE#k). Every input is
either a row of OUTPUT or a line of OUTPUT's rejected CSV, with the reason.
"""

PREDICT_EXAMPLES = """\
examples:
  moduli predict NaCl.cif                          # a table on the terminal and moduli-predictions.csv
  moduli predict cifs/ 'runs/*/CONTCAR' -o screen.parquet --models fast
  moduli predict traj.extxyz --bulk mp-elastic-k-accurate --shear my_shear.ckpt --devices 2

Rerun the same command to resume a stopped run (the work is kept in OUTPUT's .run folder);
--overwrite starts afresh. The full pipeline (corpora, chunks, several GPUs) is in the manual.
"""


def _predict_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"{PROG} predict", description=PREDICT_HELP,
                                     epilog=PREDICT_EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="structure files, folders or globs")
    parser.add_argument("-o", "--output", default=DEFAULT_OUTPUT,
                        help=f"the table: .csv or .parquet (default: {DEFAULT_OUTPUT} here); "
                        "rejections go beside it as <stem>.rejected.csv")
    parser.add_argument("--models", choices=sorted(TIERS), default="default",
                        help="the bundled pair: default (accurate and fast), fast (CGCNN only, for "
                        "millions), accurate (slow, ~1 structure/s on a CPU); see `moduli models`")
    parser.add_argument("--bulk", action="append", metavar="MODEL",
                        help="bulk-modulus model: a bundled name or a checkpoint (repeat for an ensemble)")
    parser.add_argument("--shear", action="append", metavar="MODEL",
                        help="shear-modulus model: a bundled name or a checkpoint (repeat for an ensemble)")
    parser.add_argument("--screen", choices=["none", "auto", "paper"], default="none",
                        help="none (default): predict every input; paper: the paper's screen (band gap "
                        "0.1-3 eV, which a structure file does not give, and no radioactive element); "
                        "auto: the paper's screen where the input gives band gaps")
    parser.add_argument("--devices", type=int, default=1, help="GPUs (or CPU processes) to use (default 1)")
    parser.add_argument("--accelerator", choices=["auto", "cpu", "gpu"], default="auto",
                        help="auto (default): a GPU when there is one")
    parser.add_argument("--batch-size", type=int, default=None, help="structures per batch (default 256)")
    parser.add_argument("--num-workers", type=int, default=None,
                        help="processes reading and featurising structures (default 2)")
    parser.add_argument("--figures", action="store_true",
                        help="also draw the corpus figures (moduli maps, distributions) into the run folder")
    parser.add_argument("--overwrite", action="store_true",
                        help="discard the work of an earlier run with this OUTPUT and start afresh")
    parser.add_argument("--no-cache", action="store_true",
                        help="compute the foundation-model features afresh and keep none (default: read "
                             "and fill the feature cache, $MODULI_CACHE_DIR or ~/.cache/moduli, so a "
                             "second run of the same structures skips SevenNet-0)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="any other setting of predict.yaml as a Hydra override (e.g. chunk_size=1000)")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    return parser


def run_dir_of(output: Path) -> Path:
    """Where a table's run keeps its work (shards, log, screening.json, figures)."""
    return output.with_name(f"{output.stem}.run")


def _models(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    bulk, shear = TIERS[args.models]
    return args.bulk or [bulk], args.shear or [shear]


def _predict_config(args: argparse.Namespace, output: Path, run_dir: Path) -> DictConfig:
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf, open_dict

    from moduli.core.errors import UserInputError

    devices = [f"trainer.accelerator={args.accelerator}", f"trainer.devices={args.devices}"]
    if args.devices > 1:
        devices.append("trainer.strategy=ddp")
    try:
        with initialize_config_module(CONFIG_MODULE):
            cfg = compose("predict", overrides=["corpus=files", f"screen={args.screen}", *devices,
                                                *args.overrides])
    except Exception as err:  # noqa: BLE001 - Hydra's override errors are the user's
        raise UserInputError(f"--set: {' '.join(str(err).split())}") from err
    bulk, shear = _models(args)
    with open_dict(cfg):
        OmegaConf.update(cfg, "corpus.path", [str(p) for p in args.inputs])
        OmegaConf.update(cfg, "ckpt", {"bulk": bulk, "shear": shear})
        OmegaConf.update(cfg, "table", str(output))
        OmegaConf.update(cfg, "paths.output_dir", str(run_dir))
        OmegaConf.update(cfg, "figures", bool(args.figures))
        OmegaConf.update(cfg, "resume", not args.overwrite)
        if args.no_cache:
            OmegaConf.update(cfg, "cache", False)
        OmegaConf.update(cfg, "progress", sys.stderr.isatty() and not args.quiet)
        for key in ("batch_size", "num_workers"):
            if getattr(args, key) is not None:
                OmegaConf.update(cfg, key, getattr(args, key))
    return cfg


def _check_predict(args: argparse.Namespace, cfg: DictConfig) -> None:
    """What can be checked from the command line, before anything is written or loaded."""
    from moduli.corpus.finalise import check_table_path
    from moduli.corpus.readers import input_paths
    from moduli.corpus.run import model_names, screen_rules

    if args.devices < 1:
        raise _usage_error("--devices must be at least 1")
    check_table_path(cfg.table)
    input_paths(list(cfg.corpus.path))
    screen_rules(cfg)
    model_names(cfg)


def _usage_error(message: str) -> Exception:
    from moduli.core.errors import UserInputError

    return UserInputError(message)


def _log_to(console_level: int, file: Path | None = None) -> None:
    """Lines ``moduli: ...`` on stderr; the full log, with the libraries' warnings (pymatgen's
    about a CIF it rejects, ...), in ``file``."""
    logging.captureWarnings(True)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(console_level)
    console.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
    console.addFilter(lambda record: record.name != "py.warnings")
    root.addHandler(console)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(file)
        handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
        root.addHandler(handler)


def predict_command(argv: list[str]) -> int:
    args = _predict_parser().parse_args(argv)
    from moduli.core.errors import exit_on_user_error
    from moduli.corpus.run import discard_refused_run, predict

    output = Path(args.output)
    run_dir = run_dir_of(output)
    _log_to(logging.WARNING if args.quiet else logging.INFO)

    def checked() -> DictConfig:
        cfg = _predict_config(args, output, run_dir)
        _check_predict(args, cfg)
        return cfg

    cfg = exit_on_user_error(f"{PROG} predict", checked)
    _log_to(logging.WARNING if args.quiet else logging.INFO, run_dir / "predict.log")
    log.info("inputs: %s; output: %s (work in %s)", " ".join(args.inputs), output, run_dir)
    summary = exit_on_user_error(f"{PROG} predict", lambda: predict(cfg),
                                 on_refusal=lambda: discard_refused_run(run_dir))
    from moduli.corpus.finalise import rejected_path

    rejected = sum(summary["rejected_by_stage"].values())
    log.info("%d of %d inputs predicted -> %s; %d rejected -> %s", summary["predicted"],
             summary["counts"][0][1], output, rejected, rejected_path(output))
    if summary["predicted"] <= FEW and not args.quiet:
        print(terminal_table(cfg.paths.output_dir))
    return 0


SHOWN = [("id", "id"), ("formula", "formula"), ("bulk_modulus_gpa", "B (GPa)"),
         ("bulk_modulus_gpa_std", "±"), ("shear_modulus_gpa", "G (GPa)"), ("shear_modulus_gpa_std", "±"),
         ("poisson_ratio", "ν"), ("debye_temperature_k", "θ_D (K)"), ("in_domain", "in domain")]


def terminal_table(run_dir: str | Path) -> str:
    """The run's main columns as aligned text for the terminal."""
    import pandas as pd

    table = pd.read_parquet(Path(run_dir) / "predictions.parquet")
    columns = [(c, label) for c, label in SHOWN if c in table]
    shown = table[[c for c, _ in columns]].copy()
    for column in shown.columns:
        if shown[column].dtype.kind == "f":
            digits = 3 if column == "poisson_ratio" else 1 if "gpa" in column else 0
            shown[column] = shown[column].map(lambda v, d=digits: "" if pd.isna(v) else f"{v:.{d}f}")
    shown.columns = [label for _, label in columns]
    return shown.to_string(index=False)


# ---------------------------------------------------------------------------------------------
# moduli train


TRAIN_HELP = """\
usage: moduli train [OVERRIDE ...]         one run
       moduli train -m [OVERRIDE ...]      a sweep (Hydra multirun; Optuna with hparams_search=...)

Train a model from the package's Hydra configs (the same application as train.py). Each run
writes metrics.json (MAE and R2 for train / val / test, log10 GPa), predictions, parity plots,
checkpoints and rejected.csv into its run dir (logs/train/runs/<time>, or hydra.run.dir=DIR).

Overrides: group=option picks a config file (data=matbench_log_kvrh, model=sevennet_mlp,
logger=csv); key=value sets a value (seed=1, data.target=log10_k_vrh); dots reach nested keys
(trainer.max_epochs=50); lists in brackets (data.extra_train=[brgoch_new]); with -m, commas
sweep (model.net.n_conv=2,3,4). Unknown keys are errors.

Config groups: {groups}

examples:
  moduli train data.limit=300 trainer.max_epochs=2            # a quick real run on mp_elastic
  moduli train experiment=paper_gvrh data.fold=0              # the paper's setting, Matbench fold 0
  moduli train -m hparams_search=cgcnn_optuna                 # an Optuna sweep

`moduli train --hydra-help` shows Hydra's own help; `moduli train --cfg job` prints the config.
"""


PREDICT_ONLY_GROUPS = ("hydra", "corpus", "screen")  # not shown in train's help


def config_groups() -> str:
    """``group (option, option...)`` for every config group of train.yaml, from the package."""
    from importlib.resources import files

    root = files(CONFIG_MODULE)
    groups = []
    for group in sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
                         and p.name not in PREDICT_ONLY_GROUPS), key=lambda p: p.name):
        options = sorted(p.name.removesuffix(".yaml") for p in group.iterdir()
                         if p.name.endswith(".yaml") and not p.name.startswith("_"))
        groups.append(f"{group.name} ({', '.join(options)})")
    return "; ".join(groups)


def train_command(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(TRAIN_HELP.format(groups=config_groups()))
        return 0
    argv = ["--help" if a == "--hydra-help" else a for a in argv]
    sys.argv = [f"{PROG} train", *argv]
    train_main()
    return 0


# ---------------------------------------------------------------------------------------------
# moduli models


def models_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} models", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The models bundled in the package: what each predicts, its cross-validated "
        "and validation error (log10 GPa, and as a typical %% error) and the tier it belongs to.",
        epilog="examples:\n  moduli models\n  moduli models --json          # the model cards\n"
        "  moduli predict NaCl.cif --models accurate")
    parser.add_argument("--json", action="store_true", help="print the full model cards as JSON")
    args = parser.parse_args(argv)
    import json

    from moduli.models.registry import available_models, model_card

    cards = {name: model_card(name) for name in available_models()}
    if args.json:
        print(json.dumps(cards, indent=2))
        return 0
    print(models_table(cards))
    return 0


def models_table(cards: dict[str, dict]) -> str:
    """One line per bundled model: tier, what it predicts, members, CV and validation MAE."""
    tier_of = {name: tier for tier, pair in TIERS.items() for name in pair}
    from moduli.core.schema import TARGETS

    lines = [f"{'model':<24} {'tier':<9} {'predicts':<16} {'members':>7} {'CV MAE':>16} {'val MAE':>16}"]
    for name, card in cards.items():
        cv = card.get("cross_validation", {}).get("test_mae_mean")
        val = card.get("validation", {}).get("ensemble_mae")
        target = card["target"]["name"]
        predicts = TARGETS[target].label if target in TARGETS else target
        lines.append(f"{name:<24} {tier_of.get(name, '-'):<9} {predicts:<16} "
                     f"{len(card['members']):>7} {_mae(cv):>16} {_mae(val):>16}")
    lines += ["", "MAE in log10(GPa) with the typical error it means (10^MAE - 1): 0.04 is about 10 %.",
              "CV: 5-fold Matbench protocol on mp_elastic; val: the bundle's own validation split.",
              "Speed on 2 CPU cores (benchmarks/predict.py): default ~70-100 structures/s, fast",
              "~500-700/s, accurate ~1.3/s. `moduli models --json` prints the full cards."]
    return "\n".join(lines)


def _mae(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f} ({10 ** value - 1:.0%})"


# ---------------------------------------------------------------------------------------------
# the dispatcher


def _tool(name: str, module: str) -> Callable[[list[str]], int]:
    """A subcommand that is the ``main(argv, prog)`` of ``module``."""
    def run(argv: list[str]) -> int:
        from importlib import import_module

        import_module(module).main(argv, prog=f"{PROG} {name}")
        return 0
    return run


COMMANDS: dict[str, tuple[str, Callable[[list[str]], int]]] = {
    "predict": ("B, G and derived properties for structure files, folders, globs", predict_command),
    "train": ("train a model from Hydra overrides; -m for sweeps (= train.py)", train_command),
    "models": ("the bundled models: what each predicts, accuracy, speed", models_command),
    "report": ("the paper's figures and summary.md from predictions, data and runs",
               _tool("report", "moduli.analysis.report")),
    "features": ("precompute foundation-model features of a training source into the cache",
                 _tool("features", "moduli.train.features")),
    "bundle": ("build a bundled ensemble from finished training runs",
               _tool("bundle", "moduli.train.bundling")),
    "folds": ("per-fold and mean ± std test metrics of training runs",
              _tool("folds", "moduli.analysis.folds")),
    "sweeps": ("mark the dead trials of an Optuna study FAIL", _tool("sweeps", "moduli.train.sweeps")),
}

MAIN_HELP = """\
usage: moduli COMMAND [ARGS ...]      (moduli COMMAND --help for each)

Elastic moduli of inorganic crystals from graph neural networks, with trained models inside.

commands:
{commands}

examples:
  moduli predict NaCl.cif                  # B, G, std and derived properties
  moduli predict cifs/ -o moduli.parquet --models fast
  moduli train data.target=log10_k_vrh     # train on real Materials Project data
"""


def main(argv: list[str] | None = None) -> int:
    """The ``moduli`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(MAIN_HELP.format(commands="\n".join(f"  {n:<10} {d}" for n, (d, _) in COMMANDS.items())))
        return 0 if argv else 2
    if argv[0] == "--version":
        from moduli import __version__

        print(f"{PROG} {__version__}")
        return 0
    if argv[0] not in COMMANDS:
        print(f"{PROG}: error: unknown command {argv[0]!r}; choose from {', '.join(COMMANDS)}",
              file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[0]][1](argv[1:])
    except BrokenPipeError:  # `moduli models | head`: the reader left; nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
