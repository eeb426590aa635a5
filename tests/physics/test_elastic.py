"""Derived properties against pymatgen's ElasticTensor on isotropic tensors (the oracle)."""
import numpy as np
import pytest
from pymatgen.analysis.elasticity import ElasticTensor

from moduli.physics import elastic


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
    derived = elastic.derived_properties(bulk, shear, primitive.density, len(primitive), primitive.volume)
    assert derived["v_longitudinal_m_s"] == pytest.approx(tensor.long_v(structure), rel=1e-9)
    assert derived["v_transverse_m_s"] == pytest.approx(tensor.trans_v(structure), rel=1e-9)
    assert derived["poisson_ratio"] == pytest.approx(tensor.homogeneous_poisson, rel=1e-9)
    # pymatgen's Debye temperature uses the cell it is given; ours the primitive cell. N/V is
    # the same, so the values agree.
    assert derived["debye_temperature_k"] == pytest.approx(tensor.debye_temperature(structure), rel=1e-9)
    assert derived["v_longitudinal_m_s"] > derived["v_mean_m_s"] > 0
    assert derived["pugh_ratio"] == pytest.approx(bulk / shear)


def test_poisson_ratio_equals_moduli_form():
    bulk, shear = np.array([100.0, 50.0, 300.0]), np.array([40.0, 45.0, 10.0])
    v_l = elastic.longitudinal_velocity(bulk, shear, 5.0)
    v_t = elastic.transverse_velocity(shear, 5.0)
    np.testing.assert_allclose(elastic.poisson_ratio(v_l, v_t),
                               (3 * bulk - 2 * shear) / (2 * (3 * bulk + shear)), rtol=1e-12)


def test_non_positive_moduli_give_nan_not_errors():
    out = elastic.derived_properties(np.array([100.0, -1.0]), np.array([0.0, 30.0]), 3.0, 2, 40.0)
    for name, values in out.items():
        assert np.isnan(values[0]), name  # G = 0: everything is undefined
        # B < 0: only v_t (which needs G and rho alone) is defined
        assert np.isnan(values[1]) == (name != "v_transverse_m_s"), name
