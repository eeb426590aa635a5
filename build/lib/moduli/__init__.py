"""moduli: CGCNN for elastic moduli of inorganic crystals (PyG + Lightning + Hydra).

    import moduli
    table = moduli.predict(structures)          # B, G, their std, derived properties
    model = moduli.load_model("mp-elastic-k")   # a bundled ensemble, or a checkpoint path
"""
from importlib.metadata import version

from moduli import predict  # callable: moduli.predict(structures, ids=None) -> DataFrame
from moduli.models.api import CrystalModel
from moduli.models.ensemble import EnsembleModel
from moduli.models.registry import available_models, load_model

__all__ = ["CrystalModel", "EnsembleModel", "available_models", "load_model", "predict"]
__version__ = version("moduli")  # from pyproject.toml, the one place it is set
