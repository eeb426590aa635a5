"""Models by name: the ensembles bundled with the package, and ``load_model`` for names or files.

Each bundled ensemble is a folder ``models/bundled/<name>/`` holding ``card.json`` (what the
models are, how they were trained, how accurate they are, the sha256 of every member) and its
members as slim checkpoints (hyper-parameters and weights only). Files are checked against the
card's sha256 when loaded, so a damaged install fails loudly instead of predicting nonsense.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from moduli.core.assets import sha256_of
from moduli.core.errors import MissingInputError, UserInputError
from moduli.models.api import CrystalModel, load_checkpoint
from moduli.models.ensemble import EnsembleModel

BUNDLED_DIR = Path(__file__).parent / "bundled"
CARD = "card.json"


def _cards(root: Path) -> dict[str, dict[str, Any]]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(root.glob(f"*/{CARD}"))}


def available_models(root: str | Path | None = None) -> dict[str, str]:
    """Bundled model names with a one-line description each."""
    return {name: card["summary"] for name, card in _cards(Path(root or BUNDLED_DIR)).items()}


def model_card(name: str, root: str | Path | None = None) -> dict[str, Any]:
    """The card of bundled model ``name`` (a :class:`ValueError` listing the names if unknown)."""
    cards = _cards(Path(root or BUNDLED_DIR))
    if name not in cards:
        raise UserInputError(f"no bundled model named {name!r}; available: {_listing(cards)}")
    return cards[name]


def load_bundled(name: str, root: str | Path | None = None) -> EnsembleModel:
    """The bundled ensemble ``name``; every member file is checked against its card's sha256."""
    root = Path(root or BUNDLED_DIR)
    card = model_card(name, root)
    members = []
    for member in card["members"]:
        path = root / name / member["file"]
        if sha256_of(path) != member["sha256"]:
            raise ValueError(f"bundled model {name}: {path} does not match the sha256 in its card "
                             "(a damaged or altered install; reinstall moduli)")
        members.append(load_checkpoint(path))
    return EnsembleModel(members, std_scale=card["std_scale"], name=name, card=card,
                         weights=card.get("weights"))


def load_model(name_or_path: str | Path, data_dir: str | Path | None = None
               ) -> CrystalModel | EnsembleModel:
    """A bundled ensemble by name (``"mp-elastic-k"``, ``"mp-elastic-g"``) or a checkpoint file.

    Files: native Lightning checkpoints, bundled slim checkpoints, original CGCNN ``.pth.tar``
    (``data_dir`` locates CGCNN's ``atom_init.json`` for those). A name that is neither a bundled
    model nor a file raises a :class:`ValueError` listing the bundled names.
    """
    cards = _cards(BUNDLED_DIR)
    if str(name_or_path) in cards:
        return load_bundled(str(name_or_path))
    if not Path(name_or_path).is_file():
        raise MissingInputError(f"{str(name_or_path)!r} is neither a checkpoint file nor a bundled model; "
                         f"bundled models: {_listing(cards)}")
    return load_checkpoint(name_or_path, data_dir)


def _listing(cards: dict[str, dict[str, Any]]) -> str:
    return "; ".join(f"{n} ({c['summary']})" for n, c in cards.items()) or "(none installed)"
