"""Transfer learning from the original CGCNN networks (model.init_from, freeze_convs)."""
import pytest
import torch

from moduli.core.errors import UserInputError
from moduli.models.api import read_checkpoint
from moduli.models.networks.cgcnn import CGCNN
from moduli.models.transfer import init_from_pretrained, transferable_state


@pytest.fixture(scope="module")
def formation(data_dir):
    path = data_dir / "cgcnn_reference" / "pretrained" / "formation-energy-per-atom.pth.tar"
    return read_checkpoint(path)["state_dict"]


def new_net(atom_table, **sizes):
    torch.manual_seed(0)
    return CGCNN(torch.from_numpy(atom_table.table), **{"n_conv": 4, "h_fea_len": 32, **sizes})


def test_embedding_and_convolutions_equal_the_source_after_loading(atom_table, formation, data_dir):
    net = new_net(atom_table, n_conv=3)
    head_before = net.fc_out.weight.clone()
    copied = init_from_pretrained(net, "cgcnn_formation_energy", data_dir)
    state = net.state_dict()
    assert "embedding.weight" in copied and "convs.2.fc_full.weight" in copied
    assert not any(name.startswith("convs.3.") for name in copied)  # the model has 3 of the 4
    for name in copied:
        assert torch.equal(state[name], formation[name]), name
    assert torch.equal(net.convs[0].bn1.running_mean, formation["convs.0.bn1.running_mean"])
    assert torch.equal(net.fc_out.weight, head_before)  # the head starts fresh
    assert sorted(copied) == sorted(transferable_state(net))


def test_a_path_works_like_the_asset_name(atom_table, formation, data_dir, tmp_path):
    net = new_net(atom_table)
    init_from_pretrained(net, str(data_dir / "cgcnn_reference" / "pretrained" / "band-gap.pth.tar"))
    band_gap = read_checkpoint(data_dir / "cgcnn_reference" / "pretrained" / "band-gap.pth.tar")
    assert torch.equal(net.convs[3].fc_full.weight, band_gap["state_dict"]["convs.3.fc_full.weight"])
    assert not torch.equal(net.convs[3].fc_full.weight, formation["convs.3.fc_full.weight"])


def test_mismatched_shapes_and_too_many_convolutions_are_refused(atom_table, data_dir):
    with pytest.raises(UserInputError, match=r"embedding.weight has shape \(64, 92\) there and \(32, 92\) here"):
        init_from_pretrained(new_net(atom_table, atom_fea_len=32), "cgcnn_formation_energy", data_dir)
    with pytest.raises(UserInputError, match="has 4 convolutions, the model 5"):
        init_from_pretrained(new_net(atom_table, n_conv=5), "cgcnn_formation_energy", data_dir)


@pytest.mark.parametrize("source", ["cgcnn_bulk_moduli", "cgcnn_shear_moduli", "pretrained/bulk-moduli.pth.tar",
                                    "elsewhere/poisson-ratio.pth.tar"])
def test_networks_that_saw_elastic_labels_are_refused(atom_table, data_dir, source):
    with pytest.raises(UserInputError, match="trained on elastic moduli of structures in our test folds"):
        init_from_pretrained(new_net(atom_table), source, data_dir)


def test_an_unknown_source_names_the_networks_there_are(atom_table, data_dir):
    with pytest.raises(UserInputError, match="neither a file nor a known network .*cgcnn_formation_energy"):
        init_from_pretrained(new_net(atom_table), "formation_energy", data_dir)
