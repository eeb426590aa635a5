"""The paper's six descriptors (its Fig. 2 baselines), computed from a pymatgen structure.

mean atomic number, mean atomic mass (amu), mean Pauling electronegativity, space-group
number (moyopy, symprec 0.1 Å), density (g/cm³), volume per atom (Å³). Means are over atoms
(composition-weighted). Elements without a Pauling electronegativity (He, Ne, Ar) are left out of
that mean and the weights of the others renormalised; a structure made only of such elements
gets NaN, which the model pipeline imputes with the training median.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pymatgen.core import Structure

from moduli.core.cell import cell_description

DESCRIPTORS = ("mean_atomic_number", "mean_atomic_mass", "mean_electronegativity",
               "spacegroup_number", "density_g_cm3", "volume_per_atom_a3")


def describe(structure: Structure) -> np.ndarray:
    """The six descriptors of one structure, in :data:`DESCRIPTORS` order."""
    fractions = structure.composition.fractional_composition
    z = sum(el.Z * f for el, f in fractions.items())
    mass = sum(float(el.atomic_mass) * f for el, f in fractions.items())
    with_x = {el: f for el, f in fractions.items() if el.X is not None and math.isfinite(el.X)}
    weight = sum(with_x.values())
    chi = sum(el.X * f for el, f in with_x.items()) / weight if weight > 0 else float("nan")
    cell = cell_description(structure)
    spacegroup = cell["spacegroup_number"] if cell["spacegroup_number"] is not None else float("nan")
    return np.array([z, mass, chi, spacegroup, cell["density_g_cm3"],
                     float(structure.volume) / len(structure)], dtype=float)


def describe_all(structures: Sequence[Structure]) -> np.ndarray:
    return np.stack([describe(s) for s in structures]) if structures else np.zeros((0, len(DESCRIPTORS)))
