"""Transfer learning: start a CGCNN from the embedding and convolutions of a pretrained network.

``model.init_from`` names an original CGCNN checkpoint (an asset name such as
``cgcnn_formation_energy``, or a path). Its atom embedding and its first ``n_conv`` convolution
layers are copied into the new network; the head (``conv_to_fc``, ``fcs``, ``fc_out``) starts fresh,
since the source predicted another quantity. Every copied tensor must have the shape it replaces.

The networks trained on elastic moduli (bulk, shear, Poisson ratio) are refused: they saw the
elastic labels of structures that are in our test folds, so any score after starting from them
would be inflated.
"""
from __future__ import annotations

from pathlib import Path

import torch

from moduli.core.assets import ASSETS, fetch
from moduli.core.errors import UserInputError
from moduli.models.api import read_checkpoint
from moduli.models.networks.cgcnn import BODY_PREFIXES, CGCNN
from moduli.models.convert import is_original_checkpoint, original_net_sizes

# Names (asset names and file names) of networks that learned elastic labels.
ELASTIC_SOURCES = ("bulk_moduli", "shear_moduli", "bulk-moduli", "shear-moduli", "poisson")


def pretrained_path(source: str, data_dir: str | Path | None = None) -> Path:
    """The file of an asset name or a path; refuses the elastic networks."""
    if any(name in Path(str(source)).name.lower() for name in ELASTIC_SOURCES):
        raise UserInputError(f"model.init_from={source}: this network was trained on elastic moduli "
                             "of structures in our test folds; start from a network without "
                             "elastic labels (cgcnn_formation_energy, cgcnn_final_energy, "
                             "cgcnn_band_gap, cgcnn_efermi)")
    if source in ASSETS:
        return fetch(source, data_dir)
    if not Path(source).is_file():
        transfer = sorted(n for n in ASSETS if n.startswith("cgcnn_") and n != "cgcnn_atom_init"
                          and not any(e in n for e in ELASTIC_SOURCES))
        raise UserInputError(f"model.init_from={source} is neither a file nor a known network "
                             f"({', '.join(transfer)})")
    return Path(source)


def transferable_state(net: CGCNN) -> list[str]:
    """The parameter and buffer names copied from a source: embedding and convolutions, with
    their BatchNorm statistics (not the batch counters, which old checkpoints do not hold)."""
    return [k for k in net.state_dict() if k.startswith(BODY_PREFIXES)
            and not k.endswith("num_batches_tracked")]


def init_from_pretrained(net: CGCNN, source: str, data_dir: str | Path | None = None) -> list[str]:
    """Copy the embedding and convolutions of ``source`` into ``net``; returns the names copied.

    Raises :class:`UserInputError` when the source has fewer convolutions than ``net`` or a
    tensor of another shape (e.g. another ``atom_fea_len``), naming the first mismatch.
    """
    path = pretrained_path(source, data_dir)
    checkpoint = read_checkpoint(path)
    if not is_original_checkpoint(checkpoint):
        raise UserInputError(f"model.init_from={source}: {path} is not an original CGCNN checkpoint")
    state = checkpoint["state_dict"]
    sizes = original_net_sizes(state)
    if sizes["n_conv"] < len(net.convs):
        raise UserInputError(f"model.init_from={source} has {sizes['n_conv']} convolutions, the "
                             f"model {len(net.convs)}: set model.net.n_conv <= {sizes['n_conv']}")
    own = net.state_dict()
    names = transferable_state(net)
    for name in names:
        if name not in state:
            raise UserInputError(f"model.init_from={source}: no tensor {name} in {path}")
        if tuple(state[name].shape) != tuple(own[name].shape):
            raise UserInputError(
                f"model.init_from={source}: {name} has shape {tuple(state[name].shape)} there and "
                f"{tuple(own[name].shape)} here (source network: atom_fea_len "
                f"{sizes['atom_fea_len']}, n_conv {sizes['n_conv']})")
    with torch.no_grad():
        for name in names:
            own[name].copy_(state[name])
    return names
