"""``moduli-report``: the paper's figure set from real outputs, as PNG + SVG plus ``summary.md``.

    moduli-report --out reports/paper \\
        --predictions logs/predict/runs/mp/predictions.parquet \\
        --dataset mp_elastic --runs experiments/2026-11-24_mp_elastic_5fold/runs

- ``--predictions`` (a prediction run's table, parquet or CSV; repeatable): corpus statistics
  (crystal systems, atoms per primitive cell, element frequency, periodic-table heatmap), the
  G-vs-B moduli maps and the distributions of the derived properties.
- ``--dataset`` (a training source by name, e.g. ``mp_elastic``; repeatable): the same statistics
  and maps of its DFT moduli.
- ``--runs`` (training run dirs, folders holding them, or runs a record keeps as evidence):
  parity plots of every CGCNN run (train / val / test; val / test from evidence) and the model
  comparison bars over all runs.

``summary.md`` holds, per figure, the numbers drawn in it (counts, percentages, MAE / R²), so a
figure can be checked without reading pixels. Files are written by temp file + rename.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from moduli.analysis import comparison, dataset_figures, moduli_maps, statistics
from moduli.analysis import runs as runs_module
from moduli.analysis.folds import gather
from moduli.analysis.parity import SCALES, parity_panels
from moduli.core.atomic import atomic_write
from moduli.core.schema import TARGETS



def markdown_table(frame: pd.DataFrame, digits: int = 4) -> str:
    """A pipe table; floats to ``digits`` significant figures, ints with thousands separators."""
    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.{digits}g}"
        if isinstance(value, int):
            return f"{value:,}" if abs(value) >= 10000 else str(value)
        return str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + " --- |" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.astype(object).itertuples(index=False)]
    return "\n".join(lines)


class Report:
    """Collects figures and the markdown behind them; ``write`` puts ``summary.md`` beside them."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.sections: list[str] = []
        self.files: list[Path] = []

    def add(self, heading: str, files: list[Path], body: str) -> None:
        self.files += files
        names = ", ".join(f"`{f.name}`" for f in files)
        figure = f"Figure: {names}\n\n" if files else ""
        self.sections.append(f"## {heading}\n\n{figure}{body}\n")

    def write(self, title: str = "Figures and the numbers behind them") -> Path:
        text = f"# {title}\n\n" + "\n".join(self.sections)
        return atomic_write(self.out / "summary.md", lambda tmp: Path(tmp).write_text(text))


def read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def add_structure_table(report: Report, table: pd.DataFrame, label: str, what: str) -> None:
    """Corpus statistics, and the moduli figures where the table has moduli."""
    stem = report.out / label
    counts = statistics.crystal_system_counts(table)
    report.add(f"{label}: crystal systems", dataset_figures.plot_crystal_systems(
        counts, f"{stem}_crystal_systems", f"{what}: crystal systems (n = {len(table):,})"),
        markdown_table(counts))
    atoms = statistics.atoms_per_cell_counts(table)
    report.add(f"{label}: atoms in the primitive cell", dataset_figures.plot_atoms_per_cell(
        atoms, f"{stem}_atoms_per_cell", what), markdown_table(atoms))
    elements = statistics.element_counts(table)
    files = dataset_figures.plot_element_frequency(elements, f"{stem}_element_frequency",
                                                   f"{what}: structures containing each element")
    files += dataset_figures.plot_periodic_table(elements, f"{stem}_periodic_table",
                                                 f"{what}: structures containing each element")
    report.add(f"{label}: element frequency ({len(elements)} elements)", files, markdown_table(elements))
    if {"bulk_modulus_gpa", "shear_modulus_gpa"} <= set(table.columns):
        files = moduli_maps.plot_moduli_map(table, f"{stem}_moduli_map", f"{what}: G vs B")
        files += moduli_maps.plot_moduli_by_system(table, f"{stem}_moduli_by_system", what)
        report.add(f"{label}: moduli by crystal system (GPa; ductile: B/G > 1.75)", files,
                   markdown_table(moduli_maps.moduli_by_system(table)))
    if "in_domain" in table.columns:
        report.add(f"{label}: training domain (nothing dropped for it; see domain_note)", [],
                   markdown_table(statistics.domain_counts(table)))
    derived = moduli_maps.derived_statistics(table)
    if len(derived):
        report.add(f"{label}: derived properties", moduli_maps.plot_derived_distributions(
            table, f"{stem}_derived", f"{what}: derived properties"), markdown_table(derived))


def add_runs(report: Report, roots: list[str], scale: str, parity_folds: list[int] | None = None) -> None:
    """Parity plots of the CGCNN runs (of ``parity_folds``; None: all) and the model comparison
    over all runs under ``roots``."""
    runs = gather(roots)
    cgcnn = runs[runs["model"] == "cgcnn"]
    if parity_folds is not None:
        cgcnn = cgcnn[cgcnn["fold"].isin(parity_folds)]
    for run in cgcnn.itertuples():
        splits = {}
        for split in comparison.SPLITS:
            frame = runs_module.predictions(run.run, split)
            if frame is not None:  # a record's evidence keeps val and test only
                splits[split] = (frame["target"].to_numpy(), frame["prediction"].to_numpy())
        name = f"parity_{run.target}_{run.setting}_fold{run.fold}_{scale}"
        files, stats = parity_panels(splits, report.out / name, TARGETS[run.target].label if run.target in TARGETS else run.target, scale)
        rows = pd.DataFrame([{"split": s, **v} for s, v in stats.items()])
        report.add(f"parity: {run.target}, {run.setting}, fold {run.fold} ({SCALES[scale]})", files,
                   f"Run: `{run.run}`\n\n" + markdown_table(rows))
    table = comparison.comparison_table(runs)
    report.add("model comparison (mean ± std over folds, log10 GPa)",
               comparison.plot_model_comparison(table, report.out / "model_comparison"),
               markdown_table(table))


def log_to_wandb(files: list[Path], key: str, **init) -> None:
    """Log the PNGs among ``files`` as W&B images under ``key/<file stem>`` in a run of their own.

    ``init`` goes to ``wandb.init`` (project, name, mode, dir, ...); offline runs are synced later
    with ``wandb sync``.
    """
    import wandb

    run = wandb.init(**init)
    try:
        run.log({f"{key}/{f.stem}": wandb.Image(str(f), caption=f.stem) for f in files if f.suffix == ".png"})
    finally:
        run.finish()


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=prog, description="The paper's figure set (PNG + SVG) and summary.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  moduli report --out figures --predictions moduli-predictions.run/predictions.parquet\n"
        "  moduli report --out figures --dataset mp_elastic            # the training data's statistics\n"
        "  moduli report --out figures --runs logs/train/multiruns/   # parity plots and fold tables")
    parser.add_argument("--out", required=True, help="folder for the figures and summary.md")
    parser.add_argument("--predictions", action="append", default=[],
                        help="a prediction table (predictions.parquet or .csv); label = its folder name")
    parser.add_argument("--dataset", action="append", default=[],
                        help="a training data source by name (mp_elastic, ...) for its statistics")
    parser.add_argument("--data-dir", help="where the data files are (default: MODULI_DATA_DIR)")
    parser.add_argument("--runs", action="append", default=[], help="training run dirs or folders of them")
    parser.add_argument("--scale", choices=sorted(SCALES), default="log10", help="parity plot axes")
    parser.add_argument("--parity-fold", type=int, action="append", dest="parity_folds",
                        help="parity plots only for the CGCNN runs of this fold (repeatable; default: all)")
    args = parser.parse_args(argv)
    if not (args.predictions or args.dataset or args.runs):
        parser.error("give at least one of --predictions, --dataset, --runs")
    report = Report(args.out)
    for path in args.predictions:
        label = Path(path).resolve().parent.name
        add_structure_table(report, read_table(path), label, f"{label} (predicted)")
    for name in args.dataset:
        add_structure_table(report, statistics.structure_table(load_dataset(name, args.data_dir)), name,
                            f"{name} (DFT)")
    if args.runs:
        add_runs(report, args.runs, args.scale, args.parity_folds)
    path = report.write()
    print(f"wrote {len(report.files)} figure files and {path}")


def load_dataset(name: str, data_dir: str | None):
    """The records of a named training source (its rejections are not part of the statistics)."""
    from moduli.data.sources import load_named

    records, _ = load_named(name, data_dir)
    return records


if __name__ == "__main__":
    main()
