"""The invariants of SevenNet-0's clamped-ion elastic matrix (issue 19, G): the Kelvin moduli
against the closed form of a cubic crystal and against pymatgen's tensor rotation, K_V against
pymatgen, and one vector per crystal whatever cell, orientation or atom order describes it."""
import numpy as np
import pytest
from pymatgen.analysis.elasticity import ElasticTensor
from pymatgen.core import Lattice, Structure
from pymatgen.core.operations import SymmOp

from moduli.features.sevennet_clamped import signed_log
from moduli.physics.elastic import kelvin_moduli, voigt_bulk_modulus


def cubic(c11: float, c12: float, c44: float) -> np.ndarray:
    c = np.zeros((6, 6))
    c[:3, :3] = c12
    c[np.arange(3), np.arange(3)] = c11
    c[np.arange(3, 6), np.arange(3, 6)] = c44
    return c


def test_kelvin_moduli_of_a_cubic_crystal_have_their_closed_form():
    """A cubic stiffness (C11, C12, C44) has Kelvin moduli C11 + 2 C12 (once: dilatation),
    C11 - C12 (twice) and 2 C44 (three times): Mandel form, not the Voigt matrix's eigenvalues."""
    c11, c12, c44 = 166.0, 64.0, 80.0  # silicon's, GPa
    expected = sorted([c11 + 2 * c12, c11 - c12, c11 - c12, 2 * c44, 2 * c44, 2 * c44])
    np.testing.assert_allclose(kelvin_moduli(cubic(c11, c12, c44)), expected, rtol=1e-12)


def test_kelvin_moduli_and_voigt_averages_do_not_depend_on_the_orientation():
    """A triclinic-looking stiffness (a random symmetric positive matrix) rotated by pymatgen's
    ElasticTensor.rotate (an independent 4th-rank rotation) keeps its Kelvin moduli and K_V."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 6))
    tensor = ElasticTensor.from_voigt(a @ a.T * 20 + np.diag([200.0] * 3 + [60.0] * 3))
    rotation = SymmOp.from_axis_angle_and_translation([1, 2, 3], 37.0).rotation_matrix
    rotated = tensor.rotate(rotation).voigt
    assert not np.allclose(rotated, tensor.voigt, atol=1.0)
    np.testing.assert_allclose(kelvin_moduli(rotated), kelvin_moduli(tensor.voigt), rtol=1e-9)
    assert voigt_bulk_modulus(tensor.voigt) == pytest.approx(tensor.k_voigt, rel=1e-12)
    assert voigt_bulk_modulus(rotated) == pytest.approx(tensor.k_voigt, rel=1e-9)


def test_signed_log_keeps_an_unstable_mode_finite_and_ordered():
    values = signed_log(np.array([-50.0, -0.5, 0.0, 0.5, 50.0]))
    assert np.all(np.isfinite(values)) and np.all(np.diff(values) > 0)
    assert values[2] == 0.0 and values[4] == pytest.approx(np.log10(51.0))


@pytest.fixture(scope="module")
def kelvin():
    from moduli.features.sevennet_clamped import SevenNetKelvin

    return SevenNetKelvin()


RUTILE = Structure.from_spacegroup("P4_2/mnm", Lattice.tetragonal(4.594, 2.959), ["Ti", "O"],
                                   [[0, 0, 0], [0.3048, 0.3048, 0]])


def test_the_vector_holds_the_invariants_of_the_clamped_ion_matrix(kelvin):
    """log10 G_V and K_V as pymatgen's ElasticTensor gives them, then the Kelvin moduli, all of the
    one clamped-ion matrix (the shear featuriser's, tested against SevenNet's own stresses)."""
    vector = kelvin.compute_one(RUTILE)
    tensor = ElasticTensor.from_voigt(kelvin.elastic_matrix(RUTILE))
    assert 10 ** vector[0] == pytest.approx(tensor.g_voigt, rel=1e-5)
    assert 10 ** vector[1] == pytest.approx(tensor.k_voigt, rel=1e-5)
    np.testing.assert_allclose(vector[2:], signed_log(kelvin_moduli(tensor.voigt)), atol=1e-6)


def test_one_vector_per_crystal(kelvin):
    """The tetragonal rutile cell, a 2x1x1 supercell, a rotated and shifted copy and the atoms in
    reverse order give the same eight numbers."""
    rotation = RUTILE.copy()
    rotation.apply_operation(SymmOp.from_axis_angle_and_translation([1, 2, 3], 37.0))
    rotation.translate_sites(range(len(rotation)), [0.13, 0.29, 0.41])
    reversed_order = Structure.from_sites(list(reversed(RUTILE.sites)))
    vectors = [kelvin.compute_one(cell) for cell in (RUTILE, RUTILE * (2, 1, 1), reversed_order, rotation)]
    for vector in vectors[1:]:
        np.testing.assert_allclose(vector, vectors[0], atol=1e-5)
