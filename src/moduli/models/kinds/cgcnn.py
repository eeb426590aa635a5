"""The CGCNN kind: the original graph convolution network on crystal graphs.

Its inputs are the graphs alone. What only CGCNN has lives here: transfer learning from the
original CGCNN networks (``model.init_from``, :mod:`moduli.models.transfer`), frozen embedding and
convolutions (``model.freeze_convs``), and a smaller learning rate for those pretrained layers
(``model.optimizer.pretrained_lr_scale``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import Tensor, nn

from moduli.models.networks.cgcnn import BODY_PREFIXES, CGCNN
from moduli.models.kinds.base import ModelKind


class CGCNNKind(ModelKind):
    name = "cgcnn"
    label = "CGCNN"

    def build_network(self, sizes: dict[str, Any], atom_table: Tensor,
                      featurization: dict[str, Any]) -> nn.Module:
        return CGCNN(atom_table, radius=featurization["radius"],
                     gaussian_step=featurization["gaussian_step"], **sizes)

    def parameter_groups(self, net: nn.Module, lr: float, pretrained_lr_scale: float = 1.0
                         ) -> list[dict[str, Any]]:
        """The embedding and convolutions (the body a pretrained network gives) at ``lr`` x
        ``pretrained_lr_scale``, the rest at ``lr``; empty groups left out."""
        named = list(net.named_parameters())
        body = [p for n, p in named if n.startswith(BODY_PREFIXES) and p.requires_grad]
        head = [p for n, p in named if not n.startswith(BODY_PREFIXES)]
        groups = [{"params": body, "lr": lr * pretrained_lr_scale}, {"params": head, "lr": lr}]
        return [g for g in groups if g["params"]]

    def freeze(self, net: nn.Module, count: int) -> None:
        """Stop training the embedding and the first ``count`` convolutions (0: train everything).

        Their BatchNorm statistics still follow the new data in training mode."""
        if count > len(net.convs):
            raise ValueError(f"cannot freeze {count} convolutions of {len(net.convs)}")
        frozen = [net.embedding, *net.convs[:count]] if count else []
        for layer in frozen:
            for parameter in layer.parameters():
                parameter.requires_grad_(False)

    def initialise(self, net: nn.Module, source: str, data_dir: str | Path | None = None) -> list[str]:
        from moduli.models.transfer import init_from_pretrained

        return init_from_pretrained(net, source, data_dir)
