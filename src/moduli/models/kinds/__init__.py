"""The registry of model kinds: a network config's ``kind`` names one (see :mod:`.base`)."""
from __future__ import annotations

from typing import Any

from moduli.core.schema import net_kind
from moduli.models.kinds.base import ModelKind
from moduli.models.kinds.cgcnn import CGCNNKind
from moduli.models.kinds.chgnet_head import CHGNetHeadKind

KINDS: dict[str, ModelKind] = {kind.name: kind for kind in (CGCNNKind(), CHGNetHeadKind())}


def kind_named(name: str) -> ModelKind:
    """The registered kind called ``name`` (a clear error naming the known ones)."""
    if name not in KINDS:
        raise ValueError(f"unknown model kind {name!r}; choose from {sorted(KINDS)}")
    return KINDS[name]


def kind_of(net: dict[str, Any] | None) -> ModelKind:
    """The kind of network a ``model.net`` config or a checkpoint's ``net`` describes."""
    return kind_named(net_kind(net))


def network_sizes(net: dict[str, Any]) -> dict[str, Any]:
    """The network's own settings: the config without ``kind``."""
    return {k: v for k, v in net.items() if k != "kind"}


__all__ = ["KINDS", "ModelKind", "kind_named", "kind_of", "network_sizes"]
