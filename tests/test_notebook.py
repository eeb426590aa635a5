"""notebooks/paper_figures.ipynb runs top to bottom on small real outputs (headless kernel)."""
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def predictions(tmp_path_factory):
    """A 300-row slice of the recorded WBM prediction run."""
    path = tmp_path_factory.mktemp("nb") / "predictions.csv"
    pd.read_parquet(REPO / "tests/data/wbm_predictions.parquet").iloc[:300] \
        .to_csv(path, index=False)
    return path


def test_paper_figures_notebook_executes(predictions, training_runs, tmp_path, monkeypatch):
    root, out = tmp_path, tmp_path / "figures"
    for name, value in (("MODULI_REPO", REPO), ("MODULI_NB_PREDICTIONS", predictions),
                        ("MODULI_NB_RUNS", training_runs), ("MODULI_NB_OUT", out)):
        monkeypatch.setenv(name, str(value))
    notebook = nbformat.read(REPO / "notebooks" / "paper_figures.ipynb", as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(root)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 9
    assert (out / "summary.md").is_file()
    assert {p.name for p in out.glob("*.svg")} >= {"corpus_moduli_map.svg", "model_comparison.svg",
                                                   "parity_log10_g_vrh_train_fold0_log10.svg"}
