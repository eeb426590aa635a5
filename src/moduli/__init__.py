"""moduli: elastic moduli of inorganic crystals from graph neural networks (CGCNN and
foundation-model features; PyTorch Geometric + Lightning + Hydra).

    import moduli
    table = moduli.predict(structures)          # B, G, their std, derived properties
    model = moduli.load_model("mp-elastic-k")   # a bundled ensemble, or a checkpoint path

The command line: ``moduli predict FILE...``, ``moduli train``, ``moduli models``
(``moduli --help``). Attributes load on first use, so the command's ``--help`` needs no torch.
"""
from importlib import import_module
from importlib.metadata import version

__version__ = version("moduli")  # from pyproject.toml, the one place it is set

_PUBLIC = {"predict": "moduli.models.table", "CrystalModel": "moduli.models.api",
           "EnsembleModel": "moduli.models.ensemble", "available_models": "moduli.models.registry",
           "load_model": "moduli.models.registry"}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'moduli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
