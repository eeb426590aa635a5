"""The fine-tuned SevenNet-0 network (issue 19, lever 5): its pooled vector is the frozen
features' vector, it gives one answer per crystal with weights away from the pretrained ones,
and training moves the body as well as the head."""
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from tests.test_invariance import descriptions, silicon


@pytest.fixture(scope="module")
def parts():
    from moduli.features.sevennet_graph import pretrained_body

    return pretrained_body()


def graphs(structures, cutoff):
    from moduli.features.sevennet_graph import sevennet_graph

    return Batch.from_data_list([sevennet_graph(np.array(s.atomic_numbers), s.cart_coords, s.lattice.matrix, cutoff)
                                 for s in structures])


def network(parts, seed=0, n_outputs=2):
    import copy

    from moduli.models.networks.sevennet_body import FinetunedSevenNet

    body, _ = parts
    torch.manual_seed(seed)
    return FinetunedSevenNet(copy.deepcopy(body), n_outputs=n_outputs)


def test_the_pooled_vector_of_a_batch_is_the_frozen_features_vector(parts, sample_structures):
    from moduli.features.sevennet import shared_featurizer

    structures = sample_structures[:4]
    net = network(parts).eval()
    with torch.no_grad():
        pooled = net.pooled(graphs(structures, parts[1])).numpy()
    featurizer = shared_featurizer(None, 1)
    for row, structure in zip(pooled, structures):
        np.testing.assert_allclose(row, featurizer.compute_one(structure), rtol=1e-5, atol=1e-5)


def test_a_fine_tuned_network_gives_one_answer_per_crystal(parts, mp_records):
    net = network(parts).eval()
    with torch.no_grad():  # away from the pretrained weights, as after fine-tuning
        generator = torch.Generator().manual_seed(1)
        for p in net.body.parameters():
            p.add_(0.05 * p.abs().mean() * torch.randn(p.shape, generator=generator))
    for structure in (silicon(), next(r.structure for r in mp_records if r.id == "mp-10074")):
        cells = descriptions(structure)
        with torch.no_grad():
            out = net(graphs(list(cells.values()), parts[1])).numpy()
        assert np.all(np.isfinite(out))
        np.testing.assert_allclose(out, np.repeat(out[:1], len(cells), axis=0), atol=1e-4,
                                   err_msg=f"{structure.composition.reduced_formula}: {dict(zip(cells, out))}")


def test_training_moves_body_and_head_and_lowers_the_loss(parts, sample_structures):
    net = network(parts)
    batch = graphs(sample_structures[:8], parts[1])
    with torch.no_grad():
        net.fit_inputs(net.eval().pooled(batch))
    target = torch.from_numpy(np.random.default_rng(0).normal(size=(8, 2)).astype(np.float32))
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    optimizer = torch.optim.AdamW([{"params": net.body_parameters(), "lr": 1e-4},
                                   {"params": net.head_parameters(), "lr": 1e-3}])
    net.train()
    losses = []
    for _ in range(6):
        loss = (net(batch) - target).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    moved = {name for name, p in net.named_parameters() if not torch.equal(p, before[name])}
    assert any(name.startswith("body.") for name in moved) and any(name.startswith("mlp.") for name in moved)


def test_the_kind_trains_through_train_py_and_predicts_as_in_training(config, mp_records, tmp_path):
    """model=sevennet_finetuned: SevenNet's graphs added to the crystal graphs, the body at
    lr x pretrained_lr_scale, and the checkpoint predicts structures as the run wrote them."""
    from moduli.models.kinds import kind_named

    from tests.models.head_runs import loaded_head_predicts_as_in_training, train_head

    run = train_head(config, tmp_path / "run", "sevennet_finetuned", limit=40, epochs=2)
    model = loaded_head_predicts_as_in_training(run, mp_records, "sevennet_finetuned")
    assert model.features == kind_named("sevennet_finetuned").input_spec()
    groups = model.kind.parameter_groups(model.net, lr=1e-3, pretrained_lr_scale=0.3)
    assert [g["lr"] for g in groups] == pytest.approx([3e-4, 1e-3])
    assert sum(p.numel() for p in groups[0]["params"]) > 800_000  # SevenNet-0's body trains


def test_structures_with_elements_sevennet_lacks_are_rejected_with_the_reason(atom_table, rocksalt):
    from pymatgen.core import Lattice, Structure

    from moduli.core.records import Record
    from moduli.graphs.featurizer import CrystalGraphFeaturizer
    from moduli.models.kinds import kind_named

    einsteinium = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.0), ["Es", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    records = {"NaCl": Record("NaCl", rocksalt), "EsO": Record("EsO", einsteinium)}
    graphs, _ = CrystalGraphFeaturizer(atom_table).featurize(list(records.values()))
    kept, rejections = kind_named("sevennet_finetuned").add_inputs(graphs, records)
    assert [g.id for g in kept] == ["NaCl"] and kept[0].sn_edge_index.shape[0] == 2
    assert kept[0].sn_edge_vec.shape == (kept[0].sn_edge_index.shape[1], 3)
    assert [(r.id, r.stage) for r in rejections] == [("EsO", "featurize")]
    assert "Es (Z 99) outside SevenNet-0's 89 elements" in rejections[0].reason
