import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from moduli.core.records import Record
from moduli.graphs.atom_features import AtomFeatureTable
from moduli.graphs.featurizer import CrystalGraphFeaturizer, StructureRejected, structure_key
from moduli.graphs.neighbors import nearest_neighbors
from tests.reference import naive_neighbors


def test_neighbors_match_naive_get_all_neighbors(sample_structures):
    checked = 0
    for structure in sample_structures:
        centers, neighbors, distances = nearest_neighbors(structure, 8.0, 12)
        expected = naive_neighbors(structure, 8.0, 12)
        for i, row in enumerate(expected):
            mask = centers == i
            assert neighbors[mask].tolist() == [j for j, _ in row]
            np.testing.assert_allclose(distances[mask], [d for _, d in row], atol=1e-8)
            checked += 1
    assert checked > 200  # atoms compared over the real structures


def test_fewer_than_max_neighbors_are_not_padded(rocksalt):
    centers, neighbors, distances = nearest_neighbors(rocksalt, 3.0, 12)
    # Within 3 Å each ion of rock salt has exactly its 6 nearest neighbours at a/2 = 2.82 Å.
    assert np.bincount(centers).tolist() == [6] * len(rocksalt)
    np.testing.assert_allclose(distances, 2.82, atol=1e-9)


def test_graph_shapes_and_direction(rocksalt, atom_table):
    graph = CrystalGraphFeaturizer(atom_table).graph(rocksalt)
    assert graph.num_nodes == 8 and graph.edge_index.shape == (2, 8 * 12)
    # Row 1 holds centres in sorted order, 12 edges each; row 0 holds their neighbours.
    assert graph.edge_index[1].tolist() == sorted(list(range(8)) * 12)
    assert graph.z.tolist() == list(rocksalt.atomic_numbers)


def test_cache_returns_identical_graphs_and_is_keyed_by_structure(mp_records, atom_table, tmp_path):
    records = mp_records[:40]
    cold = CrystalGraphFeaturizer(atom_table, cache_dir=tmp_path)
    first, _ = cold.featurize(records, "log10_g_vrh")
    warm = CrystalGraphFeaturizer(atom_table, cache_dir=tmp_path)
    assert len(warm.cache.get_many([structure_key(r.structure) for r in records])) == 40
    second, _ = warm.featurize(records, "log10_g_vrh")
    for a, b in zip(first, second):
        assert a.id == b.id and bool((a.edge_index == b.edge_index).all())
        assert bool((a.edge_dist == b.edge_dist).all()) and float(a.y) == float(b.y)
    moved = records[0].structure.copy()
    moved.translate_sites([0], [0.01, 0, 0])
    assert structure_key(moved) != structure_key(records[0].structure)
    # Another radius or neighbour count is another cache file.
    other = CrystalGraphFeaturizer(atom_table, radius=6.0, cache_dir=tmp_path)
    assert other.cache.path != cold.cache.path


def test_bad_structures_are_rejected_with_reasons(rocksalt, atom_table):
    disordered = rocksalt.copy()
    disordered.replace_species({"Na": {"Na": 0.5, "K": 0.5}})
    overlapping = Structure(Lattice.cubic(5.0), ["Si", "Si"], [[0, 0, 0], [0.05, 0, 0]])
    only_na_cl = AtomFeatureTable({11: [1.0, 0.0], 17: [0.0, 1.0]})
    potassium = Structure(Lattice.cubic(5.2), ["K", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])

    records = [Record("ok", rocksalt, {"log10_g_vrh": 1.0}),
               Record("disordered", disordered, {"log10_g_vrh": 1.0}),
               Record("overlap", overlapping, {"log10_g_vrh": 1.0}),
               Record("no-target", rocksalt, {})]
    graphs, rejections = CrystalGraphFeaturizer(atom_table).featurize(records, "log10_g_vrh")
    assert [g.id for g in graphs] == ["ok"]
    reasons = {r.id: r.reason for r in rejections}
    assert "partial occupancy" in reasons["disordered"]
    assert "closer than 0.5" in reasons["overlap"]
    assert "no value for target" in reasons["no-target"]
    with pytest.raises(StructureRejected, match=r"element\(s\) K \(Z 19\) outside the atom feature table"):
        CrystalGraphFeaturizer(only_na_cl).graph(potassium)


def test_sparse_structures_fall_back_to_the_full_radius(atom_table):
    # A NaCl molecule in a 12 Å box: no atom has 12 neighbours near the mean-density radius.
    molecule = Structure(Lattice.cubic(12.0), ["Na", "Cl"], [[0, 0, 0], [0.2, 0, 0]])
    layered = Structure(Lattice.tetragonal(3.0, 14.0), ["C", "C"], [[0, 0, 0], [0.5, 0.5, 0.08]])
    for structure in (molecule, layered):
        centers, neighbors, distances = nearest_neighbors(structure, 8.0, 12)
        for i, row in enumerate(naive_neighbors(structure, 8.0, 12)):
            assert neighbors[centers == i].tolist() == [j for j, _ in row]
            np.testing.assert_allclose(distances[centers == i], [d for _, d in row], atol=1e-8)
