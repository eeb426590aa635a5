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
    from moduli.models.finetuned_sevennet import pretrained_body

    return pretrained_body()


def graphs(structures, cutoff):
    from moduli.models.finetuned_sevennet import sevennet_graph

    return Batch.from_data_list([sevennet_graph(np.array(s.atomic_numbers), s.cart_coords, s.lattice.matrix, cutoff)
                                 for s in structures])


def network(parts, seed=0, n_outputs=2):
    import copy

    from moduli.models.finetuned_sevennet import FinetunedSevenNet

    body, _ = parts
    torch.manual_seed(seed)
    return FinetunedSevenNet(copy.deepcopy(body), n_outputs=n_outputs)


def test_the_pooled_vector_of_a_batch_is_the_frozen_features_vector(parts, sample_structures):
    from moduli.models.kinds.sevennet_head import shared_featurizer

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
