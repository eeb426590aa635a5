"""How much the bundled models' B and G move when the same crystal is written as another cell.

Real MP structures of ../shared/data/matminer_dielectric_constant_bandgap.json.gz (the first N
rows), each as its primitive cell, conventional cell, 2x2x2 and 3x3x3 supercells of the primitive
cell, through moduli.predict with the bundled models; prints the largest relative change against
the primitive cell per description and modulus, and silicon as 2, 8, 64 and 512 atoms.

    .venv/bin/python experiments/2026-11-30_invariance/cell_check.py [N] > experiments/2026-11-30_invariance/cell_check.md
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from pymatgen.core import Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

import moduli
from moduli.core.structures import read_json, table_rows

DATA = Path(os.environ.get("MODULI_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))
COLUMNS = ("bulk_modulus_gpa", "shear_modulus_gpa")


def descriptions(structure: Structure) -> dict[str, Structure]:
    primitive = structure.get_primitive_structure()
    return {"primitive": primitive,
            "conventional": SpacegroupAnalyzer(primitive, symprec=0.01).get_conventional_standard_structure(),
            "2x2x2": primitive * 2, "3x3x3": primitive * 3}


def main(n: int) -> None:
    rows = table_rows(read_json(DATA / "matminer_dielectric_constant_bandgap.json.gz"))[:n]
    started = time.perf_counter()
    worst = {name: {c: 0.0 for c in COLUMNS} for name in ("conventional", "2x2x2", "3x3x3")}
    sizes = []
    for row in rows:
        cells = descriptions(Structure.from_dict(row["structure"]))
        sizes.append(len(cells["3x3x3"]))
        table = moduli.predict(list(cells.values()), ids=list(cells))
        assert table["rejected"].isna().all(), table["rejected"].tolist()
        for column in COLUMNS:
            values = table[column].to_numpy()
            for k, name in enumerate(cells):
                if name != "primitive":
                    worst[name][column] = max(worst[name][column], abs(values[k] / values[0] - 1))
    print(f"# Same crystal, other cell: bundled models, {len(rows)} real MP structures (dielectric set)\n")
    print(f"Largest |relative change| against the primitive cell (3x3x3 cells up to {max(sizes)} atoms; "
          f"{time.perf_counter() - started:.0f} s):\n")
    print("| description | B | G |\n| --- | --- | --- |")
    for name, values in worst.items():
        print(f"| {name} | {values['bulk_modulus_gpa']:.2e} | {values['shear_modulus_gpa']:.2e} |")
    silicon = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.431), ["Si"], [[0, 0, 0]])
    cells = [silicon.get_primitive_structure(), silicon, silicon * 2, silicon * 4]
    table = moduli.predict(cells)
    print("\nSilicon (diamond):\n\n| atoms | B (GPa) | G (GPa) | in_domain |\n| --- | --- | --- | --- |")
    for cell, row in zip(cells, table.itertuples()):
        print(f"| {len(cell)} | {row.bulk_modulus_gpa:.4f} | {row.shear_modulus_gpa:.4f} | {row.in_domain} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
