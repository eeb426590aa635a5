"""Derived properties against pymatgen's ElasticTensor on isotropic tensors (the oracle)."""
import numpy as np
import pytest
from pymatgen.analysis.elasticity import ElasticTensor

from moduli.physics import elastic
from moduli.physics.derived import DERIVED, derived_properties


def isotropic_tensor(bulk, shear):
    c11, c12, c44 = bulk + 4 * shear / 3, bulk - 2 * shear / 3, shear
    voigt = np.zeros((6, 6))
    voigt[:3, :3] = c12
    np.fill_diagonal(voigt[:3, :3], c11)
    voigt[3:, 3:] = np.diag([c44] * 3)
    return ElasticTensor.from_voigt(voigt)


@pytest.mark.parametrize("index", [0, 17, 123, 777, 2048, 4000])
def test_matches_pymatgen_elastic_tensor(index, mp_records):
    record = mp_records[index]
    structure = record.structure
    bulk, shear = 10 ** record.targets["log10_k_vrh"], 10 ** record.targets["log10_g_vrh"]
    tensor = isotropic_tensor(bulk, shear)
    assert tensor.k_vrh == pytest.approx(bulk) and tensor.g_vrh == pytest.approx(shear)
    primitive = structure.get_primitive_structure()
    derived = derived_properties(bulk, shear, primitive.density, len(primitive), primitive.volume,
                                 float(primitive.composition.weight))
    assert derived["v_longitudinal_m_s"] == pytest.approx(tensor.long_v(structure), rel=1e-9)
    assert derived["v_transverse_m_s"] == pytest.approx(tensor.trans_v(structure), rel=1e-9)
    assert derived["poisson_ratio"] == pytest.approx(tensor.homogeneous_poisson, rel=1e-9)
    # pymatgen's Debye temperature uses the cell it is given; ours the primitive cell. N/V is
    # the same, so the values agree.
    assert derived["debye_temperature_k"] == pytest.approx(tensor.debye_temperature(structure), rel=1e-9)
    assert derived["v_longitudinal_m_s"] > derived["v_mean_m_s"] > 0
    assert derived["pugh_ratio"] == pytest.approx(bulk / shear)
    assert derived["young_modulus_gpa"] == pytest.approx(tensor.y_mod / 1e9, rel=1e-9)
    assert derived["kappa_min_cahill_w_mk"] == pytest.approx(tensor.cahill_thermalcond(structure), rel=1e-9)
    assert derived["kappa_min_clarke_w_mk"] == pytest.approx(tensor.clarke_thermalcond(structure), rel=1e-6)


def test_poisson_ratio_equals_moduli_form():
    bulk, shear = np.array([100.0, 50.0, 300.0]), np.array([40.0, 45.0, 10.0])
    v_l = elastic.longitudinal_velocity(bulk, shear, 5.0)
    v_t = elastic.transverse_velocity(shear, 5.0)
    np.testing.assert_allclose(elastic.poisson_ratio(v_l, v_t),
                               (3 * bulk - 2 * shear) / (2 * (3 * bulk + shear)), rtol=1e-12)


def test_non_positive_moduli_give_nan_not_errors():
    out = derived_properties(np.array([100.0, -1.0]), np.array([0.0, 30.0]), 3.0, 2, 40.0, 50.0)
    for name, values in out.items():
        assert np.isnan(values[0]), name  # G = 0: everything is undefined
        # B < 0: only v_t (which needs G and rho alone) is defined
        assert np.isnan(values[1]) == (name != "v_transverse_m_s"), name


def test_hardness_models_as_published():
    """Chen et al. (2011) and Tian et al. (2012) evaluated by hand for diamond-like moduli
    (B 442, G 535 GPa: k = 1.2104) and a soft, ductile metal (B 180, G 30 GPa: k = 1/6)."""
    bulk, shear = np.array([442.0, 180.0]), np.array([535.0, 30.0])
    k = shear / bulk
    chen = elastic.hardness_chen(bulk, shear)
    assert chen[0] == pytest.approx(2 * (k[0] ** 2 * 535.0) ** 0.585 - 3, rel=1e-12)
    assert 90 < chen[0] < 100  # diamond: about 96 GPa by either model
    assert np.isnan(chen[1])  # 2 (k^2 G)^0.585 - 3 = -1.2 GPa: outside the fit, reported NaN
    tian = elastic.hardness_tian(bulk, shear)
    assert tian == pytest.approx(0.92 * k ** 1.137 * shear ** 0.708, rel=1e-12)
    assert 90 < tian[0] < 100 and 0 < tian[1] < 2


def test_every_derived_column_reads_only_known_inputs():
    known = {"bulk_modulus_gpa", "shear_modulus_gpa", "density_g_cm3", "n_atoms", "volume_a3", "mass_amu"}
    for entry in DERIVED:
        assert set(entry.inputs) <= known, entry.column
        known.add(entry.column)
        assert entry.label and entry.formula
