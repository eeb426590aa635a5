"""The registry of model kinds: every :class:`~.base.ModelKind` subclass defined in a module of
this package, by its ``name`` (a network config's ``kind``).

A new kind is one new module here (its network, inputs and checkpoint record) and one
``conf/model/<kind>.yaml``: the registry finds the module itself, so no other file names it.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from moduli.core.schema import canonical_kind, net_kind
from moduli.models.kinds.base import ModelKind


def _discover() -> dict[str, ModelKind]:
    """One instance of every ModelKind subclass in this package's modules, by name."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    found: dict[str, ModelKind] = {}
    pending = list(ModelKind.__subclasses__())
    while pending:
        cls = pending.pop(0)
        pending += cls.__subclasses__()
        if cls.__module__.startswith(f"{__name__}.") and "name" in vars(cls):
            if cls.name in found:
                raise RuntimeError(f"two model kinds named {cls.name!r}: {type(found[cls.name])} and {cls}")
            found[cls.name] = cls()
    return dict(sorted(found.items()))


KINDS: dict[str, ModelKind] = _discover()


def kind_named(name: str) -> ModelKind:
    """The registered kind called ``name`` or a name it had before (a clear error naming the known
    ones)."""
    name = canonical_kind(name)
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
