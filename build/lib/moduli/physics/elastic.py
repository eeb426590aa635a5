"""Sound velocities, Poisson ratio, Debye temperature and Pugh ratio from B, G and density.

Formulas (isotropic averages, Anderson 1963; the paper's eqs. 1-5 with Planck's h and the
cell's real atom count N, which is also pymatgen's ``ElasticTensor.debye_temperature``):

    v_l = sqrt((B + 4G/3) / rho)          v_t = sqrt(G / rho)
    v_m = [ (1/3) (1/v_l^3 + 2/v_t^3) ]^(-1/3)
    nu  = (x^2 - 2) / (2 x^2 - 2),  x = v_l / v_t     (= (3B - 2G) / (2 (3B + G)))
    theta_D = (h / k_B) v_m (3 N / (4 pi V))^(1/3)
    Pugh ratio = B / G  (> 1.75: ductile, < 1.75: brittle)

Inputs in the units people read: GPa, g/cm^3, Å^3; outputs in m/s and K. All functions take
numpy arrays (or scalars) and broadcast; non-positive moduli give NaN, not an exception.
"""
from __future__ import annotations

import numpy as np
from scipy.constants import h as PLANCK, k as BOLTZMANN

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


def derived_properties(bulk_gpa, shear_gpa, density_g_cm3, n_atoms, volume_a3) -> dict[str, np.ndarray]:
    """All derived columns at once, named as in the prediction table."""
    v_l = longitudinal_velocity(bulk_gpa, shear_gpa, density_g_cm3)
    v_t = transverse_velocity(shear_gpa, density_g_cm3)
    v_m = mean_velocity(v_l, v_t)
    return {"v_longitudinal_m_s": v_l, "v_transverse_m_s": v_t, "v_mean_m_s": v_m,
            "poisson_ratio": poisson_ratio(v_l, v_t),
            "debye_temperature_k": debye_temperature(v_m, n_atoms, volume_a3),
            "pugh_ratio": pugh_ratio(bulk_gpa, shear_gpa)}
