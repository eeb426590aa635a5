"""The one spec of derived columns: each is one entry (column, label, unit, formula, function and
the inputs it reads), from which the prediction table's columns (``predict.py``'s Parquet,
``moduli predict``'s table, ``moduli.predict``'s DataFrame) and the figures are made.

A new derived property is one function in :mod:`moduli.physics.elastic` and one entry here.
Inputs are the table's moduli and cell columns (``bulk_modulus_gpa``, ``shear_modulus_gpa``,
``density_g_cm3``, ``n_atoms``, ``volume_a3``, ``mass_amu``, of the primitive cell) or columns of
earlier entries.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from moduli.core.schema import LEADING_COLUMNS, OPTIONAL_COLUMNS, STD_SUFFIX, TRAILING_COLUMNS
from moduli.physics import elastic

B, G = "bulk_modulus_gpa", "shear_modulus_gpa"


@dataclass(frozen=True)
class Derived:
    column: str       # the table's column, its unit in the name
    label: str        # for figures
    units: str        # for figures and docs ("" for a ratio)
    formula: str      # in words, for docs
    compute: Callable[..., np.ndarray]
    inputs: tuple[str, ...]


DERIVED: tuple[Derived, ...] = (
    Derived("v_longitudinal_m_s", "longitudinal velocity v_l", "m/s", "sqrt((B + 4G/3) / rho)",
            elastic.longitudinal_velocity, (B, G, "density_g_cm3")),
    Derived("v_transverse_m_s", "transverse velocity v_t", "m/s", "sqrt(G / rho)",
            elastic.transverse_velocity, (G, "density_g_cm3")),
    Derived("v_mean_m_s", "mean velocity v_m", "m/s", "[(1/3)(1/v_l^3 + 2/v_t^3)]^(-1/3)",
            elastic.mean_velocity, ("v_longitudinal_m_s", "v_transverse_m_s")),
    Derived("poisson_ratio", "Poisson ratio ν", "", "(x^2 - 2) / (2x^2 - 2), x = v_l / v_t",
            elastic.poisson_ratio, ("v_longitudinal_m_s", "v_transverse_m_s")),
    Derived("debye_temperature_k", "Debye temperature θ_D", "K", "(h / k_B) v_m (3N / (4 pi V))^(1/3)",
            elastic.debye_temperature, ("v_mean_m_s", "n_atoms", "volume_a3")),
    Derived("pugh_ratio", "Pugh ratio B/G", "", "B / G (> 1.75: ductile)", elastic.pugh_ratio, (B, G)),
    Derived("young_modulus_gpa", "Young's modulus E", "GPa", "9BG / (3B + G)", elastic.young_modulus, (B, G)),
    Derived("hardness_chen_gpa", "Vickers hardness (Chen)", "GPa",
            "2 (k^2 G)^0.585 - 3, k = G/B (Chen et al. 2011); NaN where <= 0", elastic.hardness_chen, (B, G)),
    Derived("hardness_tian_gpa", "Vickers hardness (Tian)", "GPa",
            "0.92 k^1.137 G^0.708, k = G/B (Tian et al. 2012)", elastic.hardness_tian, (B, G)),
    Derived("kappa_min_cahill_w_mk", "κ_min (Cahill)", "W/(m K)",
            "(1/2)(pi/6)^(1/3) k_B n^(2/3) (v_l + 2 v_t), ~ (k_B / 2.48) ... (Cahill, Watson & Pohl 1992)", elastic.kappa_min_cahill,
            ("v_longitudinal_m_s", "v_transverse_m_s", "n_atoms", "volume_a3")),
    Derived("kappa_min_clarke_w_mk", "κ_min (Clarke)", "W/(m K)",
            "0.87 k_B M_a^(-2/3) E^(1/2) rho^(1/6) (Clarke 2003)", elastic.kappa_min_clarke,
            ("young_modulus_gpa", "mass_amu", "n_atoms", "density_g_cm3")),
)
DERIVED_COLUMNS = [d.column for d in DERIVED]
# The prediction table: always these columns, in this order; the optional ones when known.
PREDICTION_COLUMNS = LEADING_COLUMNS + DERIVED_COLUMNS + TRAILING_COLUMNS


def derived_properties(bulk_gpa, shear_gpa, density_g_cm3, n_atoms, volume_a3, mass_amu) -> dict[str, np.ndarray]:
    """Every derived column, in :data:`DERIVED` order, from B, G (GPa) and the primitive cell."""
    values = {B: bulk_gpa, G: shear_gpa, "density_g_cm3": density_g_cm3, "n_atoms": n_atoms,
              "volume_a3": volume_a3, "mass_amu": mass_amu}
    for entry in DERIVED:
        values[entry.column] = entry.compute(*(values[name] for name in entry.inputs))
    return {column: values[column] for column in DERIVED_COLUMNS}


def table_columns(present) -> list[str]:
    """The prediction table's columns in order: :data:`PREDICTION_COLUMNS`, each std column right
    after its value, then the other optional columns among ``present``."""
    present = set(present)
    order: list[str] = []
    for column in PREDICTION_COLUMNS:
        order.append(column)
        if column + STD_SUFFIX in present and column + STD_SUFFIX in OPTIONAL_COLUMNS:
            order.append(column + STD_SUFFIX)
    return order + [c for c in OPTIONAL_COLUMNS if c in present and c not in order]
