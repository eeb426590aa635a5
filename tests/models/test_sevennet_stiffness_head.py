"""The clamped-ion stiffness of SevenNet-0 (issue 19, lever 4) against SevenNet's own calculator:
the bulk modulus from a least-squares fit of its energies over 7 volumes (V E''(V) at the given
cell, which need not be at equilibrium), the pressure from its stress; one vector per crystal
whatever cell describes it."""
import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

EV_PER_A3_IN_GPA = 160.21766208


@pytest.fixture(scope="module")
def stiffness():
    from moduli.models.kinds.sevennet_stiffness_head import SevenNetStiffness

    return SevenNetStiffness()


@pytest.fixture(scope="module")
def calculator():
    from sevenn.calculator import SevenNetCalculator

    return SevenNetCalculator("7net-0", device="cpu")


CRYSTALS = {
    "Si": Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.431), ["Si"], [[0, 0, 0]]),
    "NaCl": Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
    "TiO2": Structure.from_spacegroup("P4_2/mnm", Lattice.tetragonal(4.594, 2.959), ["Ti", "O"],
                                      [[0, 0, 0], [0.3048, 0.3048, 0]]),
}


@pytest.mark.parametrize("name", sorted(CRYSTALS))
def test_bulk_modulus_and_pressure_agree_with_sevennets_calculator(name, stiffness, calculator):
    from pymatgen.io.ase import AseAtomsAdaptor

    structure = CRYSTALS[name]
    log_k, pressure = (float(x) for x in stiffness.compute_one(structure))
    volumes, energies = [], []
    for scale in np.linspace(0.97, 1.03, 7):  # clamped ions: the cell scaled, fractions fixed
        atoms = AseAtomsAdaptor.get_atoms(structure)
        atoms.set_cell(atoms.cell * scale ** (1 / 3), scale_atoms=True)
        atoms.calc = calculator
        volumes.append(atoms.get_volume())
        energies.append(atoms.get_potential_energy())
    fit = np.polynomial.Polynomial.fit(volumes, energies, 3)
    bulk = structure.volume * fit.deriv(2)(structure.volume) * EV_PER_A3_IN_GPA
    assert 10 ** log_k == pytest.approx(bulk, rel=0.02)
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = calculator
    stress_pressure = float(-np.trace(atoms.get_stress(voigt=False)) / 3 * EV_PER_A3_IN_GPA)
    assert pressure == pytest.approx(stress_pressure, abs=0.02 * abs(stress_pressure) + 0.3)


def test_one_vector_per_crystal(stiffness):
    si = CRYSTALS["Si"]
    vectors = [stiffness.compute_one(cell) for cell in
               (si, si.get_primitive_structure(), si * (2, 2, 2))]
    np.testing.assert_allclose(vectors[1], vectors[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(vectors[2], vectors[0], rtol=1e-4, atol=1e-4)
