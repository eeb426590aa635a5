"""Load the original CGCNN ``.pth.tar`` checkpoints (txie-93/cgcnn) into :class:`CGCNN`.

The original network's parameter names are the same as ours; its sizes are read off the
weight shapes, its normaliser from the checkpoint. Its featurisation is CGCNN's default
(8 Å, 12 neighbours, 0.2 Å Gaussians, atom_init.json).
"""
from __future__ import annotations

import re

import torch

from moduli.core.normalizer import Normalizer
from moduli.graphs.atom_features import AtomFeatureTable
from moduli.graphs.featurizer import Featurization
from moduli.models.networks.cgcnn import CGCNN

ORIGINAL_FEATURIZATION = {"radius": 8.0, "max_neighbors": 12, "gaussian_step": 0.2}


def is_original_checkpoint(checkpoint: dict) -> bool:
    return "state_dict" in checkpoint and "normalizer" in checkpoint and "pytorch-lightning_version" not in checkpoint


def original_net_sizes(state_dict: dict[str, torch.Tensor]) -> dict[str, int]:
    """atom_fea_len, n_conv, h_fea_len, n_h of an original network, from its weight shapes."""
    conv_ids = {int(m.group(1)) for k in state_dict if (m := re.match(r"convs\.(\d+)\.", k))}
    fc_ids = {int(m.group(1)) for k in state_dict if (m := re.match(r"fcs\.(\d+)\.", k))}
    return {"atom_fea_len": state_dict["embedding.weight"].shape[0], "n_conv": len(conv_ids),
            "h_fea_len": state_dict["conv_to_fc.weight"].shape[0], "n_h": 1 + len(fc_ids)}


def load_original(checkpoint: dict, atom_table: AtomFeatureTable, source: str = "checkpoint"
                  ) -> tuple[CGCNN, Normalizer, Featurization]:
    """(network in eval mode, normaliser {mean, std}, featurisation) of an original checkpoint.

    ``checkpoint`` is the file's contents (see :func:`moduli.models.api.read_checkpoint`);
    ``source`` names the file in error messages.
    """
    if not is_original_checkpoint(checkpoint):
        raise ValueError(f"{source} is not an original CGCNN checkpoint (no state_dict/normalizer)")
    state = {k: v for k, v in checkpoint["state_dict"].items()}
    sizes = original_net_sizes(state)
    if state["embedding.weight"].shape[1] != atom_table.dim:
        raise ValueError(f"{source} expects {state['embedding.weight'].shape[1]}-dim atom features, "
                         f"the table has {atom_table.dim}")
    net = CGCNN(torch.from_numpy(atom_table.table), radius=ORIGINAL_FEATURIZATION["radius"],
                gaussian_step=ORIGINAL_FEATURIZATION["gaussian_step"], **sizes)
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")
               and k not in ("atom_table", "gaussian.centers")]
    if missing or unexpected:
        raise ValueError(f"{source}: parameters missing {missing}, unexpected {unexpected}")
    normalizer = Normalizer.from_dict(checkpoint["normalizer"])
    featurization = Featurization(**ORIGINAL_FEATURIZATION, atom_table_sha256=atom_table.sha256)
    return net.eval(), normalizer, featurization
