"""One crystal, one answer: every model kind, and the bundled models, give the same prediction for
a crystal whatever cell, origin, orientation or atom order describes it.

Each registered kind (``moduli.models.kinds.KINDS``) is built untrained with a fixed seed: its
weights are random, so any feature that depends on the cell (e.g. a sum over atoms) moves the
prediction. A kind added to the registry is tested here without a new test. The bundled models
are tested trained: the default and fast ones each alone, the accurate pair together.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

RTOL = 1e-4  # relative, on the modulus in GPa
REAL_IDS = ["mp-10074", "mp-1007691", "mp-1038972"]  # GeSe2 (tetragonal), HfPt (orthorhombic), MgCd (trigonal)


def silicon() -> Structure:
    return Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.431), ["Si"], [[0, 0, 0]])


def rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def descriptions(structure: Structure) -> dict[str, Structure]:
    """The same crystal as primitive and conventional cell, 2x2x2 and 3x3x3 supercells, rotated,
    translated and with its sites permuted."""
    primitive = structure.get_primitive_structure()
    conventional = SpacegroupAnalyzer(primitive, symprec=0.01).get_conventional_standard_structure()
    rotated = Structure(Lattice(primitive.lattice.matrix @ rotation(0).T), primitive.species,
                        primitive.frac_coords)
    translated = primitive.copy()
    translated.translate_sites(range(len(translated)), [0.137, 0.291, 0.443], to_unit_cell=True)
    order = np.random.default_rng(1).permutation(len(conventional))
    permuted = Structure.from_sites([conventional[int(i)] for i in order])
    return {"primitive": primitive, "conventional": conventional, "2x2x2": primitive * 2,
            "3x3x3": primitive * 3, "rotated": rotated, "translated": translated, "permuted": permuted}


@pytest.fixture(scope="module")
def crystals(mp_records):
    by_id = {r.id: r.structure for r in mp_records}
    return {"Si": silicon(), **{i: by_id[i] for i in REAL_IDS}}


# Kinds that read SevenNet-0's clamped-ion strain Hessian (a minute per kind here): untrained with
# the slow tests; in the fast suite their featurisers' invariance is tested on rutile's cells
# (tests/models/test_sevennet_*_head.py) and the accurate bundles' test covers both (shipped)
# trained, on these cells.
HESSIAN_KINDS = {"sevennet_elastic_mlp", "sevennet_kelvin_mlp"}


def kind_names():
    from moduli.models.kinds import KINDS

    return [pytest.param(name, marks=pytest.mark.slow) if name in HESSIAN_KINDS else name
            for name in sorted(KINDS)]


def untrained_model(name: str, atom_table):
    """A model of kind ``name`` with its default sizes and random weights (seed 0), as
    prediction loads one."""
    from moduli.core.normalizer import Normalizer
    from moduli.graphs.featurizer import CrystalGraphFeaturizer
    from moduli.models.api import CrystalModel
    from moduli.models.kinds import kind_named

    kind = kind_named(name)
    featurization = CrystalGraphFeaturizer(atom_table).params
    torch.manual_seed(0)
    net = kind.build_network({}, torch.from_numpy(atom_table.table), featurization.as_dict())
    return CrystalModel(net, Normalizer(1.5, 0.4), featurization, {"name": "log10_k_vrh", "units": "log10(GPa)"},
                        atom_table, kind, kind.input_spec())


def assert_one_answer(predict, structure: Structure, what: str) -> None:
    cells = descriptions(structure)
    assert_same_values(dict(zip(cells, 10.0 ** np.asarray(predict(list(cells.values())), dtype=float))), what)


def assert_same_values(values: dict[str, float], what: str) -> None:
    """Every description's value (GPa) within RTOL of the primitive cell's."""
    assert np.all(np.isfinite(list(values.values()))), f"{what}: {values}"
    reference = values["primitive"]
    off = {k: v / reference - 1 for k, v in values.items() if abs(v / reference - 1) > RTOL}
    assert not off, f"{what}: relative change against the primitive cell {off}"


@pytest.mark.parametrize("kind", kind_names())
def test_every_model_kind_gives_one_answer_per_crystal(kind, crystals, atom_table):
    model = untrained_model(kind, atom_table)
    for name, structure in crystals.items():
        assert_one_answer(model.predict, structure, f"{kind} on {name}")


@pytest.mark.parametrize("name", ["mp-elastic-k", "mp-elastic-g", "mp-elastic-k-fast", "mp-elastic-g-fast"])
def test_every_bundled_model_gives_one_answer_per_crystal(name, crystals):
    import moduli

    model = moduli.load_model(name)
    for crystal, structure in crystals.items():
        assert_one_answer(model.predict, structure, f"{name} on {crystal}")


@pytest.mark.slow  # 75 s; in the fast suite the accurate kinds' featurisers are tested on rutile's cells
def test_the_accurate_bundles_give_one_answer_per_crystal(crystals):
    """mp-elastic-k-accurate and mp-elastic-g-accurate together, as predict.py and moduli.predict
    run them: their trained heads read SevenNet-0's exact strain Hessian (~0.5 s per cell), computed
    once per cell for both. A trained head reads that one number strongly, so this catches a
    cell-dependent shear feature that random weights would hide (a finite-difference version moved
    log10 G_V by 0.005 with the orientation of MgCd)."""
    import moduli

    for crystal, structure in crystals.items():
        cells = descriptions(structure)
        table = moduli.predict(list(cells.values()), bulk="mp-elastic-k-accurate", shear="mp-elastic-g-accurate")
        assert table["rejected"].isna().all(), f"{crystal}: {table['rejected'].tolist()}"
        for column in ("bulk_modulus_gpa", "shear_modulus_gpa"):
            assert_same_values(dict(zip(cells, table[column].to_numpy(float))), f"accurate bundles on {crystal}, {column}")


def test_moduli_predict_gives_silicon_one_answer_as_2_8_64_and_512_atoms():
    import moduli

    primitive = silicon().get_primitive_structure()
    cells = [primitive, silicon(), silicon() * 2, silicon() * 4]
    assert [len(c) for c in cells] == [2, 8, 64, 512]
    table = moduli.predict(cells)
    assert table["rejected"].isna().all()
    from moduli.physics.derived import DERIVED_COLUMNS

    for column in ("bulk_modulus_gpa", "shear_modulus_gpa", *DERIVED_COLUMNS):  # every derived column
        values = table[column].to_numpy(float)
        assert np.isfinite(values).all(), column
        np.testing.assert_allclose(values, values[0], rtol=RTOL, err_msg=column)
    assert table["in_domain"].tolist() == [True] * 4


@pytest.mark.parametrize("kind", ["sevennet_mlp", "sevennet_meanstd_mlp",
                                  # three strained-cell energies per structure (16 s; in the fast suite:
                                  # tests/features/test_sevennet_clamped.py), the strain Hessians (0.5 s
                                  # per structure on one thread)
                                  pytest.param("sevennet_stiffness_mlp", marks=pytest.mark.slow),
                                  pytest.param("sevennet_elastic_mlp", marks=pytest.mark.slow),
                                  pytest.param("sevennet_kelvin_mlp", marks=pytest.mark.slow)])
def test_features_computed_in_batches_on_the_device_give_one_answer_per_crystal(kind, crystals, atom_table,
                                                                                 tmp_path):
    """The batched path (graphs made with the features left to the device, completed in one pass
    over every description of a crystal at once) gives each crystal one answer, the same as the
    one-structure path to 1e-5 in log10."""
    from torch_geometric.data import Batch

    from moduli.models.kinds.base import InputOptions
    from moduli.models.table import complete_inputs, structure_row

    model = untrained_model(kind, atom_table)
    options = InputOptions(str(tmp_path), on_device=True)
    for name, structure in crystals.items():
        cells = descriptions(structure)
        graphs = [structure_row(s, model.featurizer, kinds=[model.kind], options=options)[0] for s in cells.values()]
        batch = Batch.from_data_list(graphs)
        assert complete_inputs([model.kind], batch, options) == []
        batched = model.predict_batch(batch)
        assert_same_values(dict(zip(cells, 10.0 ** batched)), f"{kind} on {name}, batched")
        np.testing.assert_allclose(batched, model.predict(list(cells.values())), atol=1e-5)
