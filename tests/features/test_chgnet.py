"""CHGNet features: the vector's parts against CHGNet itself, the disk cache, bad structures,
elements CHGNet has no embedding for."""
import numpy as np
import pytest

from moduli.core.records import Record
from moduli.features.chgnet import N_FEATURES, CHGNetFeaturizer


@pytest.fixture(scope="module")
def featurizer(tmp_path_factory):
    return CHGNetFeaturizer(tmp_path_factory.mktemp("chgnet-cache"), batch_size=8)


def test_the_vector_is_chgnets_crystal_and_pooled_atom_features(featurizer, sample_structures):
    structures = sample_structures[:5]
    vectors = featurizer.compute(structures)
    assert vectors.shape == (5, N_FEATURES) == (5, 321) and np.all(np.isfinite(vectors))
    for structure, vector in zip(structures, vectors):
        direct = featurizer.model.predict_structure(structure, task="e", return_atom_feas=True,
                                                    return_crystal_feas=True)
        atoms = np.asarray(direct["atom_fea"])
        assert atoms.shape == (len(structure), 64)
        # crystal_fea is CHGNet's sum over atoms: the vector holds it per atom (intensive)
        np.testing.assert_allclose(vector[:64], np.asarray(direct["crystal_fea"]) / len(structure),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(vector[64:128], atoms.mean(axis=0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(vector[256:320], atoms.max(axis=0), rtol=1e-5, atol=1e-6)
        assert vector[-1] == pytest.approx(float(direct["e"]), rel=1e-5)  # energy per atom


def test_cached_vectors_are_reused_and_equal(featurizer, sample_structures, monkeypatch):
    records = [Record(f"r{i}", s) for i, s in enumerate(sample_structures[5:15])]
    first, rejections = featurizer.featurize(records)
    assert not rejections and list(first) == [r.id for r in records]
    monkeypatch.setattr(featurizer, "compute", lambda structures: pytest.fail("not from the cache"))
    again, _ = featurizer.featurize(records)
    for record in records:
        np.testing.assert_array_equal(again[record.id], first[record.id])


def test_structures_chgnet_cannot_read_are_rejected_and_the_rest_go_on(featurizer, sample_structures):
    from pymatgen.core import Lattice, Structure

    good, other = sample_structures[20], sample_structures[21]
    disordered = good.copy()
    disordered.replace_species({good[0].specie: {good[0].specie: 0.5, "K": 0.5}})
    isolated = Structure(Lattice.cubic(20.0), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    records = [Record("good", good), Record("bad-disordered", disordered),
               Record("bad-isolated", isolated), Record("other", other)]
    vectors, rejections = featurizer.featurize(records)  # one batch: the isolated atoms fail it
    assert list(vectors) == ["good", "other"]
    np.testing.assert_allclose(vectors["other"], featurizer.compute([other])[0], rtol=1e-5, atol=1e-6)
    reasons = {r.id: r.reason for r in rejections}
    assert {r.stage for r in rejections} == {"featurize"} and sorted(reasons) == ["bad-disordered", "bad-isolated"]
    assert "isolated atom" in reasons["bad-isolated"] and reasons["bad-disordered"].startswith("CHGNet features failed")


def test_elements_chgnet_cannot_embed_are_rejected_by_name_before_the_network(featurizer, rocksalt,
                                                                            monkeypatch):
    from pymatgen.core import Lattice, Structure

    curium = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.0), ["Cm", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    assert featurizer.max_z == 94
    calls = []
    original = featurizer.model.predict_structure
    monkeypatch.setattr(featurizer.model, "predict_structure",
                        lambda structures, **kw: calls.append(len(structures)) or original(structures, **kw))
    vectors, rejections = featurizer.featurize([Record("Cm", curium), Record("NaCl", rocksalt)])
    assert list(vectors) == ["NaCl"] and calls == [1]  # CHGNet never saw the curium structure
    assert [(r.id, r.stage) for r in rejections] == [("Cm", "featurize")]
    assert rejections[0].reason == ("element(s) Cm (Z 96) outside CHGNet's elements (Z 1-94), which the "
                                    "CHGNet-feature head members read")
