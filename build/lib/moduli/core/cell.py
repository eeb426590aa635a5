"""Is a parsed structure a crystal at all (:func:`cell_problem`), and its description: formula,
space group, crystal system and primitive cell (moyopy)."""
from __future__ import annotations

import logging
from typing import Any

import moyopy
import numpy as np

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


MIN_CELL_VOLUME = 1e-3  # Å^3 per cell; below it the lattice vectors are (nearly) dependent.


def cell_problem(structure) -> str | None:
    """What makes a parsed structure no crystal at all, in words, or None."""
    if len(structure) == 0:
        return "no sites"
    matrix = np.asarray(structure.lattice.matrix, dtype=float)
    if not np.all(np.isfinite(matrix)):
        return "non-finite lattice vectors"
    volume = abs(float(np.linalg.det(matrix)))
    if volume < MIN_CELL_VOLUME:
        return f"singular lattice (cell volume {volume:.3g} Å³)"
    if not np.all(np.isfinite(structure.frac_coords)):
        return "non-finite atomic coordinates"
    return None
