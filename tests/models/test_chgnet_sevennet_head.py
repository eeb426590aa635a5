"""One head on two foundation models (model=chgnet_sevennet_mlp): its input is each featuriser's
own vector, side by side; a structure either cannot read is rejected with that one's reason; the
checkpoint records both specs and refuses a change in either; it trains and predicts as in training."""
import json

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure

from moduli.core.records import Record

from tests.models.head_runs import loaded_head_predicts_as_in_training, train_head


@pytest.fixture(scope="module")
def kind():
    from moduli.models.kinds import kind_named

    return kind_named("chgnet_sevennet_mlp")


def test_inputs_are_both_featurisers_vectors_and_either_can_reject(kind, sample_structures, tmp_path):
    from moduli.features import chgnet as universal
    from moduli.graphs.atom_features import AtomFeatureTable
    from moduli.graphs.featurizer import CrystalGraphFeaturizer
    from moduli.features import sevennet as sevennet_head

    polonium = Structure.from_spacegroup("Pm-3m", Lattice.cubic(3.35), ["Po"], [[0, 0, 0]])  # Z 84: CHGNet yes, SevenNet-0 no
    records = {f"r{i}": Record(f"r{i}", s) for i, s in enumerate(sample_structures[:3])}
    records["Po"] = Record("Po", polonium)
    graphs, _ = CrystalGraphFeaturizer(AtomFeatureTable.cgcnn()).featurize(list(records.values()))
    kept, rejections = kind.add_inputs(graphs, records, tmp_path)
    assert [g.id for g in kept] == ["r0", "r1", "r2"]
    assert [(r.id, r.stage) for r in rejections] == [("Po", "featurize")]
    assert "Po (Z 84) outside SevenNet-0's" in rejections[0].reason
    chgnet, sevennet = universal.shared_featurizer(), sevennet_head.shared_featurizer()
    for graph in kept:
        structure = records[graph.id].structure
        np.testing.assert_allclose(graph.u[0], chgnet.compute_one(structure), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(graph.u_sevennet[0], sevennet.compute_one(structure), rtol=1e-5, atol=1e-5)
    assert kind.input_spec() == {"parts": [chgnet.spec, sevennet.spec]}


@pytest.fixture(scope="module")
def head_run(tmp_path_factory, config):
    return train_head(config, tmp_path_factory.mktemp("chgnet-sevennet-head"), "chgnet_sevennet_mlp",
                      limit=80, epochs=2)


def test_the_head_trains_and_predicts_structures_as_in_training(head_run, mp_records):
    loaded_head_predicts_as_in_training(head_run, mp_records, "chgnet_sevennet_mlp")


@pytest.mark.parametrize("change", ["chgnet weights", "sevennet model", "one part only"])
def test_a_change_in_either_featuriser_is_refused(change, head_run, tmp_path):
    import moduli
    from moduli.core.errors import FeaturesMismatch

    best = head_run / json.loads((head_run / "metrics.json").read_text())["best_checkpoint"]
    checkpoint = torch.load(best, weights_only=True)
    parts = checkpoint["hyper_parameters"]["features"]["parts"]
    if change == "chgnet weights":
        parts[0]["weights"] = "0.2.0"
    elif change == "sevennet model":
        parts[1]["model"] = "7net-l3i5"
    else:
        checkpoint["hyper_parameters"]["features"] = parts[1]
    torch.save(checkpoint, tmp_path / "other.ckpt")
    with pytest.raises(FeaturesMismatch, match="0.2.0|7net-l3i5|other inputs"):
        moduli.load_model(tmp_path / "other.ckpt")
