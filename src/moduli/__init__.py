"""moduli: CGCNN for elastic moduli of inorganic crystals (PyG + Lightning + Hydra)."""
from moduli.models.api import CrystalModel, load_model

__all__ = ["CrystalModel", "load_model"]
__version__ = "0.1.0"
