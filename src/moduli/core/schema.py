"""The one table of names: targets, the prediction table's columns, split and stage names.

Everything that names a target, a column of ``predictions.parquet``, a split or a rejection stage
takes the name from here, so a new target or column is added in one place.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """A learned quantity: stored as log10 of a modulus in GPa."""

    name: str       # config and checkpoint name, e.g. log10_k_vrh
    modulus: str    # bulk | shear: which column of the prediction table it fills
    quantity: str   # what it is, in words
    label: str      # short figure label
    column: str     # prediction-table column of the modulus in GPa
    units: str = "log10(GPa)"

    def describe(self) -> dict[str, str]:
        """``{name, quantity, units}``: what checkpoints store as their target."""
        return {"name": self.name, "quantity": self.quantity, "units": self.units}


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("log10_g_vrh", "shear", "shear modulus (Voigt-Reuss-Hill)", "shear modulus G",
           "shear_modulus_gpa"),
    Target("log10_k_vrh", "bulk", "bulk modulus (Voigt-Reuss-Hill)", "bulk modulus B",
           "bulk_modulus_gpa"),
)}
# The target an original CGCNN checkpoint records: it does not say which modulus it learned.
UNNAMED_MODULUS = "log10_modulus"
MODULI = ("bulk", "shear")


def target_of(modulus: str) -> Target:
    """The target that fills the ``bulk`` or ``shear`` column."""
    return next(t for t in TARGETS.values() if t.modulus == modulus)


def check_target(name: str) -> Target:
    if name not in TARGETS:
        raise ValueError(f"unknown target {name!r}; choose from {sorted(TARGETS)}")
    return TARGETS[name]


# A network config's kind (``model.net.kind``); configs and checkpoints from before kinds existed
# name none and are CGCNN.
DEFAULT_NET_KIND = "cgcnn"


# Names kinds had before: checkpoints and run records that carry them still load, as the kind of
# today's name (which is also its config's, conf/model/<name>.yaml).
KIND_ALIASES = {"feature_mlp": "chgnet_mlp"}


def canonical_kind(name: str) -> str:
    """Today's name of a model kind (a recorded old name maps to it)."""
    return KIND_ALIASES.get(name, name)


def net_kind(net: dict | None) -> str:
    """The kind of network a ``model.net`` config (or a checkpoint's ``net``) describes."""
    return canonical_kind((net or {}).get("kind", DEFAULT_NET_KIND))


SPLITS = ("train", "val", "test")

# The prediction table's own columns before and after the derived ones; the whole list, with the
# derived columns of moduli.physics.derived in between, is moduli.physics.derived.PREDICTION_COLUMNS.
LEADING_COLUMNS = ["id", "formula", "n_atoms", "density_g_cm3", "volume_a3", "mass_amu",
                   "bulk_modulus_gpa", "shear_modulus_gpa"]
TRAILING_COLUMNS = ["crystal_system", "spacegroup_number", "in_domain", "domain_note"]
OPTIONAL_COLUMNS = ["band_gap_ev", "bulk_modulus_gpa_std", "shear_modulus_gpa_std"]
STD_SUFFIX = "_std"
REJECTION_COLUMNS = ["id", "stage", "reason"]


class Stage:
    """Where an input was rejected: the ``stage`` column of every ``rejected.csv``."""

    DATA = "data"                      # a training source's cleaning
    DUPLICATE = "duplicate"            # an id seen earlier in the corpus
    BAND_GAP = "band_gap"
    STABILITY = "stability"
    PARSE = "parse"                    # no readable structure
    RADIOACTIVE = "radioactive"
    SINGLE_ELEMENT = "single_element"
    FEATURIZE = "featurize"            # no graph: disorder, unknown element, overlapping atoms...


# The order in which corpus inputs drop out in predict.py; screening.json counts after each.
PREDICT_STAGES = (Stage.DUPLICATE, Stage.BAND_GAP, Stage.STABILITY, Stage.PARSE, Stage.RADIOACTIVE,
                  Stage.SINGLE_ELEMENT, Stage.FEATURIZE)
