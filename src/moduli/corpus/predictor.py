"""Bulk and shear ensembles in one LightningModule for ``trainer.predict``."""
from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from torch_geometric.data import Batch

from moduli.core.schema import Stage
from moduli.models.ensemble import EnsembleModel, check_moduli, modulus_columns, row_values, unique_kinds
from moduli.models.kinds.base import InputOptions
from moduli.models.table import FEATURES_FAILED, complete_inputs


class EnsemblePredictor(pl.LightningModule):
    """Predicts B and G with an ensemble each; rows get values, stds and derived columns.

    The values come from :func:`moduli.models.ensemble.modulus_columns`, the same function
    :func:`moduli.predict` uses. Before them, each batch is completed here, on the module's device
    (:func:`moduli.models.table.complete_inputs`): the features left to batches are computed and
    fresh features go into the cache. The networks are registered as submodules so that Lightning
    moves them to the device of each rank.
    """

    def __init__(self, ensembles: dict[str, EnsembleModel], options: InputOptions = InputOptions()):
        super().__init__()
        self.options = options  # the feature cache, and whether features are computed here
        self.kinds = unique_kinds(ensembles.values())
        self.featurization = check_moduli(ensembles)
        self.ensembles = ensembles
        self.nets = torch.nn.ModuleDict({prop: torch.nn.ModuleList(m.net for m in e.members)
                                         for prop, e in ensembles.items()})
        self.nets.eval()

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        rows = [dict(r) for r in batch["rows"]]
        seqs, graphs, rejected = batch["seq"].tolist(), batch["graphs"], list(batch["rejected"])
        if graphs is not None:
            failed = complete_inputs(self.kinds, graphs, self.options)
            if failed:
                rejected += [{"seq": seqs[k], "id": rows[k]["id"], "stage": Stage.FEATURIZE,
                              "reason": FEATURES_FAILED} for k in failed]
                keep = [k for k in range(len(rows)) if k not in set(failed)]
                rows, seqs = [rows[k] for k in keep], [seqs[k] for k in keep]
                graphs = Batch.from_data_list(graphs.index_select(keep)) if keep else None
        if graphs is not None:
            columns = modulus_columns(self.ensembles, graphs, rows)
            for i, (row, seq) in enumerate(zip(rows, seqs)):
                row["seq"] = seq
                row.update(row_values(columns, i))
        return {"rows": rows, "rejected": rejected}
