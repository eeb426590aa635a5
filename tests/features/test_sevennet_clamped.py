"""The clamped-ion stiffness of SevenNet-0 (issue 19, lever 4) against SevenNet's own calculator:
the bulk modulus from a least-squares fit of its energies over 7 volumes (V E''(V) at the given
cell, which need not be at equilibrium), the pressure from its stress, the Voigt shear modulus
from the elastic tensor its stresses give (pymatgen's ElasticTensor); one vector per crystal
whatever cell describes it."""
import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.core.operations import SymmOp

EV_PER_A3_IN_GPA = 160.21766208


@pytest.fixture(scope="module")
def stiffness():
    from moduli.features.sevennet_clamped import SevenNetStiffness

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


@pytest.fixture(scope="module")
def shear():
    from moduli.features.sevennet_clamped import SevenNetShear

    return SevenNetShear()


def stress_elastic_tensor(structure, calculator, strain=5e-4):
    """The oracle: SevenNet's clamped-ion elastic tensor (GPa) from its calculator's stresses.
    dE/dε at the strained cell F = I + ε is V sym(σ F⁻¹) (σ as ASE gives it, the energy's strain
    derivative per volume), so central differences of it over ±``strain`` (each Voigt strain,
    fractional coordinates fixed) give the same d²E/dε² the featuriser takes by autograd, through
    SevenNet's own calculator and ASE instead of our graph inputs."""
    from pymatgen.analysis.elasticity import ElasticTensor
    from pymatgen.io.ase import AseAtomsAdaptor

    voigt = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
    columns = []
    for i, j in voigt:
        unit = np.zeros((3, 3))
        unit[i, j] = unit[j, i] = 1.0 if i == j else 0.5  # engineering shear strain 1
        gradients = []
        for sign in (1, -1):
            deformation = np.eye(3) + sign * strain * unit
            cell = Structure(structure.lattice.matrix @ deformation, structure.species, structure.frac_coords)
            atoms = AseAtomsAdaptor.get_atoms(cell)
            atoms.calc = calculator
            gradient = cell.volume * atoms.get_stress(voigt=False) @ np.linalg.inv(deformation)
            gradients.append((gradient + gradient.T) / 2)
        change = (gradients[0] - gradients[1]) / (2 * strain) / structure.volume * EV_PER_A3_IN_GPA
        columns.append([change[a, b] for a, b in voigt])
    matrix = np.array(columns).T
    return ElasticTensor.from_voigt((matrix + matrix.T) / 2)


@pytest.mark.parametrize("name", sorted(CRYSTALS))
def test_voigt_shear_modulus_agrees_with_the_tensor_of_sevennets_stresses(name, shear, calculator):
    structure = CRYSTALS[name]
    (log_g,) = (float(x) for x in shear.compute_one(structure))
    oracle = stress_elastic_tensor(structure, calculator)
    assert 10 ** log_g == pytest.approx(oracle.g_voigt, rel=1e-3)  # 2e-5 to 1.5e-4 measured
    matrix = shear.elastic_matrix(structure)
    np.testing.assert_allclose(matrix, oracle.voigt, atol=1e-3 * np.abs(oracle.voigt).max())


def test_one_shear_modulus_per_crystal(shear):
    """The same G_V for the tetragonal rutile cell, a 2x1x3 supercell, a rotated and shifted copy
    and the atoms listed in reverse: an invariant of the tensor taken at zero strain."""
    rutile = CRYSTALS["TiO2"]
    rotation = Structure(rutile.lattice, rutile.species, rutile.frac_coords)
    rotation.apply_operation(SymmOp.from_axis_angle_and_translation([1, 2, 3], 37.0))
    rotation.translate_sites(range(len(rotation)), [0.13, 0.29, 0.41])
    reversed_order = Structure.from_sites(list(reversed(rutile.sites)))
    values = [float(shear.compute_one(cell)[0]) for cell in (rutile, rutile * (2, 1, 3), reversed_order, rotation)]
    np.testing.assert_allclose(values, values[0], atol=1e-5)


def test_an_isolated_atom_has_no_shear_stiffness(shear):
    """No neighbour within SevenNet's cutoff: the energy does not depend on the strain, so G_V is
    clipped to 0.1 GPa (a number, not a crash)."""
    atom = Structure(Lattice.cubic(12.0), ["Si"], [[0, 0, 0]])
    assert float(shear.compute_one(atom)[0]) == pytest.approx(-1.0)


def test_the_shear_featuriser_works_under_inference_mode(shear):
    """Prediction runs under torch.inference_mode; the Hessian needs autograd anyway (each call
    computes it: the memo of matrices cleared before)."""
    import torch

    from moduli.features.sevennet_clamped import MATRICES

    MATRICES.clear()
    with torch.inference_mode():
        under = shear.compute_one(CRYSTALS["NaCl"])
    MATRICES.clear()
    np.testing.assert_allclose(under, shear.compute_one(CRYSTALS["NaCl"]), rtol=1e-6)


def test_featurisers_that_read_one_structures_matrix_compute_it_once(shear, monkeypatch):
    """The shear featuriser and the invariants' featuriser share the strain Hessian of a
    structure (a bundle mixing both kinds pays it once, and both read the same numbers); the memo
    keeps the last ``size`` matrices."""
    from moduli.features import sevennet_clamped as module
    from moduli.features.sevennet_clamped import SevenNetKelvin

    calls = []
    hessian = module.SevenNetShear.strain_hessian

    def counted(self, structure):
        calls.append(structure.composition.reduced_formula)
        return hessian(self, structure)

    monkeypatch.setattr(module.SevenNetShear, "strain_hessian", counted)
    monkeypatch.setattr(module, "MATRICES", module.MatrixMemo(size=2))
    (log_g,) = shear.compute_one(CRYSTALS["NaCl"])
    invariants = SevenNetKelvin().compute_one(CRYSTALS["NaCl"])
    assert calls == ["NaCl"] and invariants[0] == log_g
    shear.compute_one(CRYSTALS["Si"])
    shear.compute_one(CRYSTALS["TiO2"])  # NaCl's is the oldest of three: dropped
    shear.compute_one(CRYSTALS["NaCl"])
    assert calls == ["NaCl", "Si", "TiO2", "NaCl"]


def _batch_of(featurizers, structures):
    """The crystals as one batch for the featurisers' ``compute_batch``."""
    from torch_geometric.data import Batch

    from moduli.features.sevennet import batch_graph

    return Batch.from_data_list([batch_graph(s, featurizers) for s in structures])


def _rotated_rutile():
    rotated = CRYSTALS["TiO2"].copy()
    rotated.apply_operation(SymmOp.from_axis_angle_and_translation([1, 2, 3], 37.0))
    return rotated


def test_hessians_in_one_batch_equal_those_of_one_structure_at_a_time(shear):
    """Five structures (three crystals, a rotated one, an isolated atom) in one batch, under
    inference mode as prediction runs: each block of the batch's Hessian is the structure's own."""
    import torch

    structures = [*CRYSTALS.values(), _rotated_rutile(), Structure(Lattice.cubic(12.0), ["Si"], [[0, 0, 0]])]
    with torch.inference_mode():
        batched = shear.batched_hessians(_batch_of([shear], structures), torch.arange(len(structures)))
    for structure, matrix in zip(structures, batched):
        alone = shear.strain_hessian(structure)
        np.testing.assert_allclose(matrix, alone, atol=1e-5 * max(np.abs(alone).max(), 1.0))
    assert np.abs(batched[-1]).max() == 0.0  # no neighbour: no strain energy


def test_a_batch_is_split_into_passes_of_bounded_edges(shear, monkeypatch):
    """With room for ~100 edges a pass, five structures take several passes (each structure whole,
    one bigger than the bound alone) and give the matrices of one pass."""
    import torch

    from moduli.features.sevennet_clamped import SevenNetShear

    structures = [*CRYSTALS.values(), CRYSTALS["Si"] * (2, 1, 1), CRYSTALS["NaCl"]]
    batch = _batch_of([shear], structures)
    with torch.inference_mode():
        whole = shear.batched_hessians(batch, torch.arange(len(structures)))
    passes = []
    one_pass = SevenNetShear.hessians_in_one_pass

    def counted(self, batch, graphs):
        passes.append(graphs.tolist())
        return one_pass(self, batch, graphs)

    monkeypatch.setattr(SevenNetShear, "hessians_in_one_pass", counted)
    monkeypatch.setattr(shear, "pass_edges", 100)
    with torch.inference_mode():
        split = shear.batched_hessians(batch, torch.tensor([4, 0, 1, 2, 3]))
    assert sorted(g for part in passes for g in part) == [0, 1, 2, 3, 4] and len(passes) > 2
    np.testing.assert_allclose(split, whole[[4, 0, 1, 2, 3]], atol=1e-5 * np.abs(whole).max())


def test_batched_vectors_share_the_memo_and_match_compute_one(shear, monkeypatch):
    """The shear and invariants featurisers completing one batch pay one batched Hessian pass,
    for the structures no featuriser has computed yet, and give compute_one's numbers."""
    import torch

    from moduli.features import sevennet_clamped as module
    from moduli.features.sevennet_clamped import SevenNetKelvin

    kelvin = SevenNetKelvin()
    calls = []
    batched = module.SevenNetShear.batched_hessians

    def counted(self, batch, graphs):
        calls.append(graphs.tolist())
        return batched(self, batch, graphs)

    monkeypatch.setattr(module.SevenNetShear, "batched_hessians", counted)
    monkeypatch.setattr(module, "MATRICES", module.MatrixMemo())
    structures = list(CRYSTALS.values())
    module.MATRICES.get(structures[1], shear.strain_hessian)  # NaCl's matrix is known already
    batch = _batch_of([shear, kelvin], structures)
    with torch.inference_mode():
        shears = shear.compute_batch(batch, torch.arange(3))
        invariants = kelvin.compute_batch(batch, torch.arange(3))
    assert calls == [[0, 2]]
    for k, structure in enumerate(structures):
        np.testing.assert_allclose(shears[k].numpy(), shear.compute_one(structure), rtol=1e-6)
        np.testing.assert_allclose(invariants[k].numpy(), kelvin.compute_one(structure), rtol=1e-6)
    assert float(invariants[0, 0]) == float(shears[0, 0])


def test_batched_stiffness_matches_compute_one(stiffness):
    """The three energies of five structures (three crystals, a rotated one, an isolated atom) in
    batched passes, under inference mode as prediction runs: compute_one's log10 K and pressure
    (GPa) to 1e-4, the float32 noise of these finite differences (one crystal's cells differ by as much in
    compute_one itself: test_one_vector_per_crystal)."""
    import torch

    isolated = Structure(Lattice.cubic(12.0), ["Si"], [[0, 0, 0]])
    structures = [*CRYSTALS.values(), _rotated_rutile(), isolated]
    with torch.inference_mode():
        batched = stiffness.compute_batch(_batch_of([stiffness], structures), torch.arange(len(structures)))
    assert batched.dtype == torch.float32 and batched.shape == (5, 2)
    for structure, vector in zip(structures, batched.numpy()):
        np.testing.assert_allclose(vector, stiffness.compute_one(structure), rtol=1e-4, atol=1e-4)
    assert batched[-1, 0] == pytest.approx(-1.0) and batched[-1, 1] == 0.0  # no neighbour: K clipped, no pressure


def test_batched_stiffness_keeps_the_edges_each_strained_cell_has():
    """The batch carries the smallest cell's edges; an edge that a larger cell stretches past the
    cutoff is dropped there, as that cell's own neighbour list drops it. A crystal whose nearest
    neighbours sit just inside the cutoff at its volume and just outside at 103 % shows it."""
    import torch

    from moduli.features.sevennet_clamped import SevenNetStiffness

    stiffness = SevenNetStiffness()
    edge = stiffness.cutoff * 0.995  # the 3 % larger cell's lengths are 1 % longer
    sparse = Structure(Lattice.cubic(edge), ["Cu"], [[0, 0, 0]])
    graph = _batch_of([stiffness], [sparse])
    lengths = graph[f"{stiffness.key}_edge_vec"].norm(dim=1)
    assert len(lengths) and lengths.max() < stiffness.cutoff
    with torch.inference_mode():
        batched = stiffness.compute_batch(graph, torch.arange(1)).numpy()[0]
    np.testing.assert_allclose(batched, stiffness.compute_one(sparse), rtol=1e-4, atol=1e-4)


def test_the_feature_step_computes_the_matrices_in_batches(tmp_path):
    """Training's feature step (``featurize`` with a device) goes through the batched code and
    gives the vectors of compute_one; a structure SevenNet cannot read is rejected with a reason."""
    from moduli.core.records import Record
    from moduli.features.sevennet_clamped import MATRICES, SevenNetKelvin

    MATRICES.clear()
    kelvin = SevenNetKelvin(tmp_path)
    records = [Record(name, structure, {}) for name, structure in CRYSTALS.items()]
    records.append(Record("Og", Structure(Lattice.cubic(5.0), ["Og"], [[0, 0, 0]]), {}))
    vectors, rejections = kelvin.featurize(records, device="cpu")
    assert sorted(vectors) == sorted(CRYSTALS) and [r.id for r in rejections] == ["Og"]
    MATRICES.clear()
    for name, structure in CRYSTALS.items():
        np.testing.assert_allclose(vectors[name], kelvin.compute_one(structure), rtol=1e-6, atol=1e-6)


def test_the_memo_computes_each_missing_structure_once():
    """Keys already held come from the memo; a key listed twice is computed once, and both
    positions get its matrix."""
    from moduli.features.sevennet_clamped import MatrixMemo

    memo = MatrixMemo(size=10)
    memo.get_many(["a"], lambda missing: [np.full((6, 6), 1.0)])
    asked = []

    def compute(positions):
        asked.append(positions)
        return [np.full((6, 6), float(p)) for p in positions]

    matrices = memo.get_many(["b", "a", "b", "c"], compute)
    assert asked == [[0, 3]]
    assert [m[0, 0] for m in matrices] == [0.0, 1.0, 0.0, 3.0]
