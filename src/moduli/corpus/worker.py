"""Per-structure work done in DataLoader workers: parse, screen, build graphs, describe the cell,
and the foundation-model features the predicting module does not compute in batches.

Everything that can fail on a bad input happens here and becomes a rejection (stage, reason)
carried with the batch, so a broken file costs one line in ``rejected.csv``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import Dataset
from torch_geometric.data import Batch

from moduli.core.schema import Stage
from moduli.core.structures import read_payload, unreadable_reason
from moduli.graphs.featurizer import CrystalGraphFeaturizer
from moduli.models.kinds import ModelKind
from moduli.models.kinds.base import InputOptions
from moduli.models.table import featurize_reason, structure_row
from moduli.corpus.readers import CorpusEntry
from moduli.corpus.screening import ScreenRules


class ChunkDataset(Dataset):
    """One chunk of screened corpus entries, each turned into a graph or a rejection."""

    def __init__(self, entries: list[tuple[int, CorpusEntry]], featurizer: CrystalGraphFeaturizer,
                 rules: ScreenRules, symprec: float = 0.1, kinds: Sequence[ModelKind] = (),
                 options: InputOptions = InputOptions()):
        self.entries, self.featurizer, self.rules, self.symprec = entries, featurizer, rules, symprec
        self.kinds = list(kinds)  # the model kinds whose inputs each graph carries
        self.options = options  # feature cache, and which features the predicting module computes

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> dict[str, Any]:
        seq, entry = self.entries[index]
        item: dict[str, Any] = {"seq": seq, "id": entry.id, "graph": None, "rejection": None}
        try:
            structure = read_payload(entry.payload)
        except Exception as err:  # noqa: BLE001 - any unreadable input is a rejection
            item["rejection"] = (Stage.PARSE, unreadable_reason(err))
            return item
        failed = self.rules.check_structure(structure)
        if failed:
            item["rejection"] = failed
            return item
        try:
            item["graph"], cell = structure_row(structure, self.featurizer, self.symprec, self.kinds,
                                                       self.options)
            item["row"] = {"id": entry.id, **cell}
        except Exception as err:  # noqa: BLE001 - any structure that cannot be predicted
            item["graph"], item["rejection"] = None, (Stage.FEATURIZE, featurize_reason(err))
        if item["graph"] is not None and entry.metadata.get("band_gap_ev") is not None:
            item["row"]["band_gap_ev"] = entry.metadata["band_gap_ev"]
        return item


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Graphs into one PyG batch; seq numbers, ids, table rows and rejections ride along."""
    good = [it for it in items if it["graph"] is not None]
    return {"graphs": Batch.from_data_list([it["graph"] for it in good]) if good else None,
            "seq": torch.tensor([it["seq"] for it in good], dtype=torch.long),
            "rows": [it["row"] for it in good],
            "rejected": [{"seq": it["seq"], "id": it["id"], "stage": it["rejection"][0],
                          "reason": it["rejection"][1]} for it in items if it["graph"] is None]}
