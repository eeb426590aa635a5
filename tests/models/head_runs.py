"""What the tests of feature-head kinds share: a tiny real training run of a kind, and the check
that the trained head, loaded from its checkpoint, predicts structures as its run wrote them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd


def train_head(config, out: Path, model: str, *overrides: str, limit: int = 120, epochs: int = 3) -> Path:
    """Train ``model=<model>`` on fold 0 of the first ``limit`` mp_elastic records into ``out``."""
    from moduli.train.run import train

    train(config("train", f"model={model}", "data.fold=0", f"data.limit={limit}",
                 f"trainer.max_epochs={epochs}", "logger=none", "trainer.enable_progress_bar=false",
                 f"paths.output_dir={out}", *overrides))
    return out


def loaded_head_predicts_as_in_training(run: Path, records, kind: str):
    """Load the run's best checkpoint, check its kind and that it predicts the test structures
    (features computed on the fly) as the run wrote them (from cached features); returns it."""
    import moduli

    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["kind"] == kind and np.isfinite(metrics["test/mae"])
    model = moduli.load_model(run / metrics["best_checkpoint"])
    written = pd.read_csv(run / "predictions" / "test.csv", dtype={"id": str})
    by_id = {r.id: r for r in records}
    predicted = model.predict([by_id[i].structure for i in written["id"]])
    np.testing.assert_allclose(predicted, written["prediction"], atol=2e-6)
    return model
