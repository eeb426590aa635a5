"""Elastic formulas: sound velocities, Poisson ratio, Debye temperature, Pugh ratio, Young's
modulus, hardness and minimum thermal conductivity from B, G and the cell.

Formulas (isotropic averages, Anderson 1963; the paper's eqs. 1-5 with Planck's h and the
cell's real atom count N, which is also pymatgen's ``ElasticTensor.debye_temperature``):

    v_l = sqrt((B + 4G/3) / rho)          v_t = sqrt(G / rho)
    v_m = [ (1/3) (1/v_l^3 + 2/v_t^3) ]^(-1/3)
    nu  = (x^2 - 2) / (2 x^2 - 2),  x = v_l / v_t     (= (3B - 2G) / (2 (3B + G)))
    theta_D = (h / k_B) v_m (3 N / (4 pi V))^(1/3)
    Pugh ratio = B / G  (> 1.75: ductile, < 1.75: brittle)

Inputs in the units people read (GPa, g/cm^3, Å^3, amu), SI inside; outputs in GPa, m/s, K and
W/(m K). All functions take numpy arrays (or scalars) and broadcast; non-positive moduli give
NaN, not an exception. Which of them fill the prediction table, in what order and from what
inputs, is :mod:`moduli.physics.derived`.
"""
from __future__ import annotations

import numpy as np
from scipy.constants import atomic_mass as ATOMIC_MASS, h as PLANCK, k as BOLTZMANN

GPA = 1e9  # Pa
G_PER_CM3 = 1e3  # kg/m^3
ANGSTROM3 = 1e-30  # m^3


def _positive(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, np.nan)


def longitudinal_velocity(bulk_gpa, shear_gpa, density_g_cm3) -> np.ndarray:
    """v_l in m/s."""
    modulus = (_positive(bulk_gpa) + 4.0 * _positive(shear_gpa) / 3.0) * GPA
    return np.sqrt(modulus / (_positive(density_g_cm3) * G_PER_CM3))


def transverse_velocity(shear_gpa, density_g_cm3) -> np.ndarray:
    """v_t in m/s."""
    return np.sqrt(_positive(shear_gpa) * GPA / (_positive(density_g_cm3) * G_PER_CM3))


def mean_velocity(v_longitudinal, v_transverse) -> np.ndarray:
    """The Debye average v_m = [(1/3)(1/v_l^3 + 2/v_t^3)]^(-1/3), m/s."""
    v_l, v_t = np.asarray(v_longitudinal, float), np.asarray(v_transverse, float)
    return ((1.0 / v_l ** 3 + 2.0 / v_t ** 3) / 3.0) ** (-1.0 / 3.0)


def poisson_ratio(v_longitudinal, v_transverse) -> np.ndarray:
    """nu = (x^2 - 2) / (2x^2 - 2) with x = v_l / v_t."""
    x2 = (np.asarray(v_longitudinal, float) / np.asarray(v_transverse, float)) ** 2
    return (x2 - 2.0) / (2.0 * x2 - 2.0)


def debye_temperature(v_mean, n_atoms, volume_a3) -> np.ndarray:
    """theta_D in K for a cell of ``n_atoms`` atoms and volume ``volume_a3`` (Å^3)."""
    number_density = np.asarray(n_atoms, float) / (_positive(volume_a3) * ANGSTROM3)
    return PLANCK / BOLTZMANN * np.asarray(v_mean, float) * (3.0 * number_density / (4.0 * np.pi)) ** (1 / 3)


def pugh_ratio(bulk_gpa, shear_gpa) -> np.ndarray:
    """B / G."""
    return _positive(bulk_gpa) / _positive(shear_gpa)


def young_modulus(bulk_gpa, shear_gpa) -> np.ndarray:
    """E = 9BG / (3B + G), GPa (isotropic)."""
    bulk, shear = _positive(bulk_gpa), _positive(shear_gpa)
    return 9.0 * bulk * shear / (3.0 * bulk + shear)


def hardness_chen(bulk_gpa, shear_gpa) -> np.ndarray:
    """Vickers hardness of Chen et al., Intermetallics 19, 1275 (2011): H = 2 (k^2 G)^0.585 - 3,
    k = G/B, GPa. The fit gives values <= 0 for soft, ductile crystals (small k), where it does
    not apply: those are NaN, not a hardness."""
    bulk, shear = _positive(bulk_gpa), _positive(shear_gpa)
    hardness = 2.0 * ((shear / bulk) ** 2 * shear) ** 0.585 - 3.0
    return np.where(hardness > 0, hardness, np.nan)


def hardness_tian(bulk_gpa, shear_gpa) -> np.ndarray:
    """Vickers hardness of Tian et al., Int. J. Refract. Met. Hard Mater. 33, 93 (2012):
    H = 0.92 k^1.137 G^0.708, k = G/B, GPa."""
    bulk, shear = _positive(bulk_gpa), _positive(shear_gpa)
    return 0.92 * (shear / bulk) ** 1.137 * shear ** 0.708


def kappa_min_cahill(v_longitudinal, v_transverse, n_atoms, volume_a3) -> np.ndarray:
    """Minimum thermal conductivity of Cahill, Watson & Pohl, PRB 46, 6131 (1992), high-temperature
    limit: (1/2) (pi/6)^(1/3) k_B n^(2/3) (v_l + 2 v_t) (the coefficient is often written
    1/2.48), n atoms per volume; W/(m K)."""
    number_density = np.asarray(n_atoms, float) / (_positive(volume_a3) * ANGSTROM3)
    return (0.5 * (np.pi / 6.0) ** (1.0 / 3.0) * BOLTZMANN * number_density ** (2.0 / 3.0)
            * (np.asarray(v_longitudinal, float) + 2.0 * np.asarray(v_transverse, float)))


def kappa_min_clarke(young_gpa, mass_amu, n_atoms, density_g_cm3) -> np.ndarray:
    """Minimum thermal conductivity of Clarke, Surf. Coat. Technol. 163, 67 (2003):
    0.87 k_B M_a^(-2/3) E^(1/2) rho^(1/6), M_a the mean mass per atom; W/(m K)."""
    mean_mass = np.asarray(mass_amu, float) / np.asarray(n_atoms, float) * ATOMIC_MASS
    return (0.87 * BOLTZMANN * mean_mass ** (-2.0 / 3.0) * np.sqrt(_positive(young_gpa) * GPA)
            * (_positive(density_g_cm3) * G_PER_CM3) ** (1.0 / 6.0))


# Invariants of a 6x6 Voigt stiffness matrix (GPa), read by the heads on SevenNet-0's clamped-ion
# elastic constants.
MANDEL = np.array([1.0, 1.0, 1.0, np.sqrt(2.0), np.sqrt(2.0), np.sqrt(2.0)])


def voigt_bulk_modulus(c: np.ndarray) -> float:
    """K_V = [(C11 + C22 + C33) + 2 (C12 + C13 + C23)] / 9 of a 6x6 Voigt matrix (pymatgen's
    ``ElasticTensor.k_voigt``)."""
    return float((np.trace(c[:3, :3]) + 2 * (c[0, 1] + c[0, 2] + c[1, 2])) / 9)


def kelvin_moduli(c: np.ndarray) -> np.ndarray:
    """The eigenvalues (GPa, ascending) of a 6x6 Voigt stiffness matrix in Mandel form, M = D C D
    with D = diag(1, 1, 1, √2, √2, √2): the energy is ½ eᵀ M e in Mandel strains e, which rotate
    by an orthogonal 6x6 matrix, so these are rotation invariants of the tensor."""
    mandel = MANDEL[:, None] * c * MANDEL[None, :]
    return np.linalg.eigvalsh((mandel + mandel.T) / 2)


def voigt_shear_modulus(c: np.ndarray) -> float:
    """G_V = [(C11 + C22 + C33) - (C12 + C13 + C23) + 3 (C44 + C55 + C66)] / 15 of a 6x6 Voigt
    matrix: an invariant of the elastic tensor (pymatgen's ``ElasticTensor.g_voigt``)."""
    return float((np.trace(c[:3, :3]) - (c[0, 1] + c[0, 2] + c[1, 2]) + 3 * np.trace(c[3:, 3:])) / 15)
