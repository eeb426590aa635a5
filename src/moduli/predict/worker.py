"""Per-structure work done in DataLoader workers: parse, screen, featurise, describe the cell.

Everything that can fail on a bad input happens here and becomes a rejection (stage, reason)
carried with the batch, so a broken file costs one line in ``rejected.csv``.
"""
from __future__ import annotations

import logging
from typing import Any

import moyopy
import torch
from torch.utils.data import Dataset
from torch_geometric.data import Batch

from moduli.graphs.featurizer import CrystalGraphFeaturizer, StructureRejected
from moduli.predict.corpus import CorpusEntry, parse_payload
from moduli.predict.screening import ScreenRules

logging.getLogger("moyo").setLevel(logging.ERROR)  # it logs (and warns) per structure
AMU_PER_A3_IN_G_CM3 = 1.66053906660  # 1 amu / Å^3 in g / cm^3
CRYSTAL_SYSTEMS = ((2, "triclinic"), (15, "monoclinic"), (74, "orthorhombic"), (142, "tetragonal"),
                   (167, "trigonal"), (194, "hexagonal"), (230, "cubic"))


def crystal_system(spacegroup_number: int) -> str:
    return next(name for last, name in CRYSTAL_SYSTEMS if spacegroup_number <= last)


def cell_description(structure, symprec: float = 0.1) -> dict[str, Any]:
    """Formula, primitive-cell atom count / volume / mass, density, space group, crystal system.

    Symmetry and the primitive cell come from moyopy (the Rust successor of spglib, about 7x
    faster here; ``symprec`` in Å, 0.1 as the Materials Project uses). If the search fails, the
    given cell is described and the crystal system is 'unknown'.
    """
    n_cell = len(structure)
    try:
        dataset = moyopy.MoyoDataset(moyopy.Cell(structure.lattice.matrix.tolist(),
                                                 structure.frac_coords.tolist(),
                                                 list(structure.atomic_numbers)), symprec=symprec)
        n_atoms, number = len(dataset.prim_std_cell.numbers), int(dataset.number)
        system = crystal_system(number)
    except Exception:  # noqa: BLE001 - no symmetry found: describe the cell as given
        n_atoms, number, system = n_cell, None, "unknown"
    composition = structure.composition
    weight, volume, scale = float(composition.weight), float(structure.volume), n_atoms / n_cell
    return {"formula": composition.reduced_formula, "n_atoms": n_atoms,
            "density_g_cm3": weight * AMU_PER_A3_IN_G_CM3 / volume,
            "volume_a3": volume * scale, "mass_amu": weight * scale,
            "crystal_system": system, "spacegroup_number": number}


class ChunkDataset(Dataset):
    """One chunk of screened corpus entries, each turned into a graph or a rejection."""

    def __init__(self, entries: list[tuple[int, CorpusEntry]], featurizer: CrystalGraphFeaturizer,
                 rules: ScreenRules, symprec: float = 0.1):
        self.entries, self.featurizer, self.rules, self.symprec = entries, featurizer, rules, symprec

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> dict[str, Any]:
        seq, entry = self.entries[index]
        item: dict[str, Any] = {"seq": seq, "id": entry.id, "graph": None, "rejection": None}
        try:
            structure = parse_payload(entry.payload)
        except Exception as err:  # noqa: BLE001 - any unreadable input is a rejection
            item["rejection"] = ("parse", f"unreadable structure: {type(err).__name__}: {err}")
            return item
        failed = self.rules.check_structure(structure)
        if failed:
            item["rejection"] = failed
            return item
        try:
            item["graph"] = self.featurizer.graph(structure)
            item["row"] = {"id": entry.id, **cell_description(structure, self.symprec)}
        except StructureRejected as err:
            item["graph"], item["rejection"] = None, ("featurize", str(err))
        except Exception as err:  # noqa: BLE001
            item["graph"], item["rejection"] = None, ("featurize", f"{type(err).__name__}: {err}")
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
