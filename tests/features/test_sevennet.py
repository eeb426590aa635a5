"""The SevenNet-feature head kind: its features against SevenNet itself, the cache, elements it
cannot read, training through its config and predicting from structures as in training."""
import json

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure

from moduli.core.records import Record
from moduli.graphs.featurizer import structure_key

from tests.models.head_runs import loaded_head_predicts_as_in_training, train_head


@pytest.fixture(scope="module")
def featurizer(tmp_path_factory):
    from moduli.features.sevennet import SevenNetFeaturizer

    return SevenNetFeaturizer(tmp_path_factory.mktemp("sevennet-cache"))


@pytest.mark.parametrize("definition", [1, 2])
def test_the_vector_pools_the_scalar_channels_of_each_interaction_layer(definition, featurizer,
                                                                         sample_structures):
    """Recomputed here by running SevenNet's own (eager) layers one by one, independently of the
    scripted module the featuriser runs: definition 1 is the mean over atoms per layer, definition 2
    the mean and the population std."""
    from pymatgen.io.ase import AseAtomsAdaptor
    from sevenn.atom_graph_data import AtomGraphData
    from sevenn.train.dataload import unlabeled_atoms_to_graph

    from moduli.features.sevennet import shared_featurizer

    structure = sample_structures[3]
    featurizer = featurizer if definition == 1 else shared_featurizer(None, 2)
    vector = featurizer.compute_one(structure)
    assert vector.shape == (featurizer.n_features,) == (640 * definition,) and np.all(np.isfinite(vector))
    data = AtomGraphData.from_numpy_dict(unlabeled_atoms_to_graph(
        AseAtomsAdaptor.get_atoms(structure), featurizer.cutoff, with_shift=False))
    expected = []
    with torch.no_grad():
        data = featurizer.model._preprocess(data)  # atomic numbers -> one-hot, as its forward does
        for name, module in featurizer.model._modules.items():
            data = module(data)
            if name.endswith("_equivariant_gate"):
                scalars = data["x"][:, :128].double().numpy()
                expected += [scalars.mean(axis=0)] + ([scalars.std(axis=0)] if definition == 2 else [])
    assert len(expected) == 5 * definition and data["x"].shape[0] == len(structure)
    np.testing.assert_allclose(vector, np.concatenate(expected), rtol=1e-5, atol=1e-6)


def test_cached_vectors_are_reused_and_bad_structures_rejected(featurizer, sample_structures, monkeypatch):
    einsteinium = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.0), ["Es", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    records = [Record(f"r{i}", s) for i, s in enumerate(sample_structures[:4])] + [Record("EsO", einsteinium)]
    first, rejections = featurizer.featurize(records)
    assert list(first) == ["r0", "r1", "r2", "r3"]
    assert [(r.id, r.stage) for r in rejections] == [("EsO", "featurize")]
    assert rejections[0].reason.startswith("element(s) Es (Z 99) outside SevenNet-0's 89 elements")
    monkeypatch.setattr(featurizer, "compute_one", lambda structure: pytest.fail("not from the cache"))
    again, _ = featurizer.featurize(records[:4])
    for record in records[:4]:
        np.testing.assert_array_equal(again[record.id], first[record.id])


def test_a_killed_featurisation_keeps_the_vectors_it_computed(featurizer, sample_structures, monkeypatch, tmp_path):
    """Vectors reach the cache in groups while featurising (slow featurisers take ~1 s per
    structure), so a run killed half-way is resumed, not repeated."""
    from moduli.graphs.cache import ArrayCache
    from moduli.graphs.featurizer import structure_key
    from moduli.features import sevennet as sevennet_head

    monkeypatch.setattr(featurizer, "cache", ArrayCache(tmp_path / "cache.sqlite", "features", {"features": np.float32}))
    monkeypatch.setattr(sevennet_head, "CACHE_EVERY", 2)
    records = [Record(f"r{i}", s) for i, s in enumerate(sample_structures[:5])]
    compute, calls = featurizer.compute_one, []

    def killed_at_the_fifth(structure):
        calls.append(structure)
        if len(calls) == 5:
            raise KeyboardInterrupt  # what a kill looks like to Python: not caught as a bad structure
        return compute(structure)

    monkeypatch.setattr(featurizer, "compute_one", killed_at_the_fifth)
    with pytest.raises(KeyboardInterrupt):
        featurizer.featurize(records)
    kept = featurizer.cache.get_many([structure_key(r.structure) for r in records])
    assert sorted(kept) == sorted(structure_key(r.structure) for r in records[:4])


@pytest.fixture(scope="module")
def head_run(tmp_path_factory, config):
    return train_head(config, tmp_path_factory.mktemp("sevennet-head"), "sevennet_mlp")


def test_the_head_trains_through_its_config_and_predicts_structures_as_in_training(head_run, mp_records):
    model = loaded_head_predicts_as_in_training(head_run, mp_records, "sevennet_mlp")
    assert model.features["name"] == "sevennet" and model.features["n_features"] == 640


def test_a_head_refuses_other_sevennet_features(head_run, tmp_path):
    import moduli
    from moduli.core.errors import FeaturesMismatch

    best = head_run / json.loads((head_run / "metrics.json").read_text())["best_checkpoint"]
    checkpoint = torch.load(best, weights_only=True)
    checkpoint["hyper_parameters"]["features"]["model"] = "7net-l3i5"
    torch.save(checkpoint, tmp_path / "other.ckpt")
    with pytest.raises(FeaturesMismatch, match="7net-l3i5"):
        moduli.load_model(tmp_path / "other.ckpt")


@pytest.mark.parametrize("definition", [1, 2])
def test_vectors_computed_in_batches_equal_those_computed_one_by_one(definition, sample_structures, atom_table):
    """compute_batch on a batch of real structures of different sizes, some of them already known
    (no edges), gives compute_one's vectors to 1e-5 for the others."""
    from torch_geometric.data import Batch

    from moduli.features.sevennet import shared_featurizer
    from moduli.graphs.featurizer import CrystalGraphFeaturizer

    featurizer = shared_featurizer(None, definition)
    graphs_of = CrystalGraphFeaturizer(atom_table)
    structures = sample_structures[:12]
    known = {1, 4, 5}
    graphs = []
    for i, structure in enumerate(structures):
        graph = graphs_of.graph(structure)
        featurizer.add_batch_inputs(graph, None if i in known else structure)
        graphs.append(graph)
    pending = torch.tensor([i for i in range(len(structures)) if i not in known])
    vectors = featurizer.compute_batch(Batch.from_data_list(graphs), pending).numpy()
    expected = np.stack([featurizer.compute_one(structures[int(i)]) for i in pending])
    assert vectors.shape == expected.shape == (len(pending), featurizer.n_features)
    np.testing.assert_allclose(vectors, expected, atol=1e-5, rtol=1e-5)


def test_training_features_in_batches_equal_those_one_by_one_and_reject_alike(sample_structures, tmp_path):
    """featurize(device=...) (what ``moduli features --device`` runs) fills the cache with the
    vectors of one-by-one featurisation to 1e-5 and rejects the same structures."""
    from moduli.features.sevennet import SevenNetFeaturizer, shared_featurizer

    base = shared_featurizer(None, 1)
    records = [Record(f"r{i}", s) for i, s in enumerate(sample_structures[:8])]
    records.append(Record("einsteinium", Structure(Lattice.cubic(4.0), ["Es", "O"], [[0, 0, 0], [.5, .5, .5]])))
    one, refused_one = base.featurize(records)
    batched = shared_featurizer(str(tmp_path), 1)
    assert isinstance(batched, SevenNetFeaturizer) and batched.cache is not None
    many, refused_many = batched.featurize(records, device="cpu")
    assert sorted(one) == sorted(many) == [f"r{i}" for i in range(8)]
    assert [r.id for r in refused_one] == [r.id for r in refused_many] == ["einsteinium"]
    for key in one:
        np.testing.assert_allclose(many[key], one[key], atol=1e-5, rtol=1e-5)
    assert len(batched.cache.get_many([structure_key(r.structure) for r in records[:8]])) == 8
