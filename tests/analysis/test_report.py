"""moduli-report on small real outputs: every figure renders (headless, PNG + SVG) and the numbers
in summary.md equal counts computed here independently of moduli.analysis.

Independent means: crystal systems from the space-group numbers with the ranges written out
here, elements by a regex over the formula (no pymatgen), atom counts with Counter, MAE / R²
with numpy from the runs' prediction CSVs, and for training data the primitive cell and crystal
system from spglib (pymatgen's SpacegroupAnalyzer) rather than moyopy.
"""
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from moduli.analysis.report import main
from moduli.analysis.statistics import structure_table

REPO = Path(__file__).resolve().parents[2]
PREDICTIONS = REPO / "tests" / "data" / "wbm_predictions.parquet"
SYSTEM_RANGES = {"triclinic": (1, 2), "monoclinic": (3, 15), "orthorhombic": (16, 74), "tetragonal": (75, 142),
                 "trigonal": (143, 167), "hexagonal": (168, 194), "cubic": (195, 230)}


def section_table(summary: str, heading: str) -> list[dict[str, str]]:
    """The rows of the first markdown table under the ``## heading...`` section."""
    start = summary.index(f"## {heading}")
    end = summary.find("\n## ", start + 1)
    lines = [line for line in summary[start:end if end > 0 else None].splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]


def number(text: str) -> float:
    return float(text.replace(",", ""))


def assert_figures_render(files: list[Path]):
    assert files
    for path in files:
        if path.suffix == ".png":
            image = mpimg.imread(path)
            assert image.shape[0] > 300 and image.shape[1] > 300
            assert image[..., :3].std() > 0.01  # not a blank canvas
        else:
            root = ET.parse(path).getroot()
            assert root.tag.endswith("svg")


@pytest.fixture(scope="module")
def corpus_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    small = out / "wbm_subset" / "predictions.csv"
    small.parent.mkdir()
    table = pd.read_parquet(PREDICTIONS).iloc[:400]
    table.to_csv(small, index=False)
    main(["--out", str(out / "figures"), "--predictions", str(small)])
    return out / "figures", table


def test_corpus_figures_render_and_counts_match(corpus_report):
    figures, table = corpus_report
    summary = (figures / "summary.md").read_text()
    expected_names = {f"wbm_subset_{n}.{ext}" for n in ("crystal_systems", "atoms_per_cell", "element_frequency",
                                                         "periodic_table", "moduli_map", "moduli_by_system",
                                                         "derived") for ext in ("png", "svg")}
    assert expected_names <= {p.name for p in figures.iterdir()}
    assert_figures_render(sorted(figures.glob("*.png")) + sorted(figures.glob("*.svg")))

    by_system = Counter(next(name for name, (lo, hi) in SYSTEM_RANGES.items() if lo <= sg <= hi)
                        for sg in table["spacegroup_number"])
    rows = {r["crystal_system"]: r for r in section_table(summary, "wbm_subset: crystal systems")}
    assert set(SYSTEM_RANGES) <= set(rows)
    for name in SYSTEM_RANGES:
        assert number(rows[name]["count"]) == by_system[name]
        assert number(rows[name]["percent"]) == pytest.approx(100 * by_system[name] / len(table), abs=0.05)

    atoms = Counter(table["n_atoms"])
    rows = section_table(summary, "wbm_subset: atoms in the primitive cell")
    assert {int(number(r["n_atoms"])): int(number(r["count"])) for r in rows} == dict(atoms)

    elements = Counter(e for formula in table["formula"] for e in set(re.findall(r"[A-Z][a-z]?", formula)))
    rows = section_table(summary, "wbm_subset: element frequency")
    assert {r["element"]: int(number(r["count"])) for r in rows} == dict(elements)
    counts = [int(number(r["count"])) for r in rows]
    assert counts == sorted(counts, reverse=True)  # most to least common

    rows = {r["crystal_system"]: r for r in section_table(summary, "wbm_subset: moduli by crystal system")}
    pugh = table["bulk_modulus_gpa"] / table["shear_modulus_gpa"]
    assert number(rows["all"]["n"]) == len(table)
    assert number(rows["all"]["percent_ductile"]) == pytest.approx(100 * (pugh > 1.75).mean(), rel=1e-3)
    cubic = table[table["spacegroup_number"] >= 195]
    assert number(rows["cubic"]["median_B_gpa"]) == pytest.approx(np.median(cubic["bulk_modulus_gpa"]), rel=1e-3)

    rows = {r["property"]: r for r in section_table(summary, "wbm_subset: derived properties")}
    assert number(rows["debye_temperature_k"]["median"]) == pytest.approx(
        np.median(table["debye_temperature_k"]), rel=1e-3)
    assert number(rows["poisson_ratio"]["p95"]) == pytest.approx(np.quantile(table["poisson_ratio"], 0.95), rel=1e-3)


@pytest.mark.parametrize("scale", ["log10", "gpa"])
def test_run_figures_render_and_metrics_match(training_runs, tmp_path, scale):
    main(["--out", str(tmp_path), "--runs", str(training_runs), "--scale", scale])
    summary = (tmp_path / "summary.md").read_text()
    assert_figures_render(sorted(tmp_path.glob("*.png")) + sorted(tmp_path.glob("*.svg")))
    for fold in (0, 1):
        stem = f"parity_log10_g_vrh_train_fold{fold}_{scale}"
        assert (tmp_path / f"{stem}.png").is_file() and (tmp_path / f"{stem}.svg").is_file()
        rows = {r["split"]: r for r in section_table(summary, f"parity: log10_g_vrh, train, fold {fold}")}
        for split in ("train", "val", "test"):
            frame = pd.read_csv(training_runs / f"cgcnn_{fold}" / "predictions" / f"{split}.csv")
            truth, pred = frame["target"].to_numpy(), frame["prediction"].to_numpy()
            if scale == "gpa":
                truth, pred = 10 ** truth, 10 ** pred
            r2 = 1 - np.sum((truth - pred) ** 2) / np.sum((truth - truth.mean()) ** 2)
            assert number(rows[split]["n"]) == len(frame)
            assert number(rows[split]["mae"]) == pytest.approx(np.mean(np.abs(truth - pred)), rel=1e-3)
            assert number(rows[split]["r2"]) == pytest.approx(r2, rel=1e-3, abs=1e-4)

    rows = {r["model"]: r for r in section_table(summary, "model comparison")}
    assert set(rows) == {"CGCNN", "decision tree", "dummy (mean)"}
    for model, label in (("dt", "decision tree"), ("cgcnn", "CGCNN")):
        maes = [pd.read_csv(training_runs / f"{model}_{k}" / "predictions" / "test.csv") for k in (0, 1)]
        maes = [np.mean(np.abs(f["target"] - f["prediction"])) for f in maes]
        assert number(rows[label]["test_mae_mean"]) == pytest.approx(np.mean(maes), rel=1e-3)
        assert number(rows[label]["test_mae_std"]) == pytest.approx(np.std(maes, ddof=1), rel=1e-3)
        assert number(rows[label]["folds"]) == 2


def test_training_data_table_agrees_with_spglib(mp_records):
    records = mp_records[::150][:30]
    table = structure_table(records)
    for record, row in zip(records, table.itertuples()):
        analyzer = SpacegroupAnalyzer(record.structure, symprec=0.1)
        assert row.crystal_system == analyzer.get_crystal_system()
        assert row.n_atoms == len(analyzer.find_primitive())
        assert row.bulk_modulus_gpa == pytest.approx(10 ** record.targets["log10_k_vrh"])


def test_nothing_to_report_is_an_error(tmp_path):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path)])
