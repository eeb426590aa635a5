"""A GPU run's weights (``finetune.py --save``: ``<setting>_bundle_<target>.pt``) as a moduli
checkpoint of kind ``sevennet_finetuned`` that ``moduli.load_model`` reads, and a check that it
predicts on this CPU what the GPU predicted for the same validation structures.

    .venv/bin/python experiments/2026-11-30_finetune/to_checkpoint.py WEIGHTS.pt OUT.ckpt [RUN_DIR]

With RUN_DIR (a run dir of ``run_dirs.py``, e.g. runs/log10_k_vrh/sevennet_ft_b_bundle), its
``predictions/val.csv`` is predicted again from the structures and the largest difference printed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from moduli.core.atomic import atomic_write
from moduli.data.sources import load_brgoch_new, load_mp_elastic
from moduli.graphs.atom_features import AtomFeatureTable
from moduli.graphs.featurizer import CrystalGraphFeaturizer
from moduli.models.kinds import kind_named
from moduli.models.module import CrystalModule


def convert(weights: Path, out: Path) -> None:
    # our own file from the GPU run (its target names are numpy strings): trusted, full unpickling
    saved = torch.load(weights, map_location="cpu", weights_only=False)
    names = [str(n) for n in saved["target_names"]]
    output = names.index(str(saved["target"]))
    options = saved["args"]
    table = AtomFeatureTable.cgcnn()
    net = {"kind": "sevennet_finetuned", "hidden": options["hidden"], "n_layers": 2,
           "dropout": options["dropout"], "n_outputs": len(names), "output": output}
    module = CrystalModule(net=net, featurization=CrystalGraphFeaturizer(table).params.as_dict(),
                           target={"name": names[output], "units": "log10(GPa)"},
                           normalizer={"mean": saved["target_mean"][output], "std": saved["target_std"][output]},
                           atom_table_shape=list(table.table.shape), atom_table=torch.from_numpy(table.table),
                           optimizer={"name": "adamw", "lr": options["lr_head"],
                                      "weight_decay": options["weight_decay"],
                                      "pretrained_lr_scale": options["lr_body"] / options["lr_head"]},
                           loss="l1", features=kind_named("sevennet_finetuned").input_spec())
    module.model.net.load_state_dict(saved["state_dict"])
    checkpoint = {"hyper_parameters": dict(module.hparams), "state_dict": module.state_dict(),
                  "finetune": {"epoch": saved["epoch"], "source": weights.name}}
    atomic_write(out, lambda tmp: torch.save(checkpoint, tmp))
    print(f"{weights} ({saved['target']}, epoch {saved['epoch']}) -> {out}")


def check(out: Path, run_dir: Path) -> None:
    import moduli

    model = moduli.load_model(out)
    written = pd.read_csv(run_dir / "predictions" / "val.csv", dtype={"id": str})
    by_id = {r.id: r.structure for r in load_mp_elastic()[0] + load_brgoch_new()[0]}
    predicted = model.predict([by_id[i] for i in written["id"]])
    difference = np.abs(predicted - written["prediction"].to_numpy())
    print(f"{len(written)} validation structures: CPU vs GPU prediction, max |difference| "
          f"{difference.max():.2e}, mean {difference.mean():.2e} log10 GPa; val MAE here "
          f"{np.abs(predicted - written['target']).mean():.4f}, on the GPU {np.abs(written['prediction'] - written['target']).mean():.4f}")


if __name__ == "__main__":
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
    if len(sys.argv) > 3:
        check(Path(sys.argv[2]), Path(sys.argv[3]))
