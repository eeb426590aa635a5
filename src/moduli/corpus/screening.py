"""The paper's screen, as explicit, ordered rules with a count after each stage.

Stages, in order: ``band_gap`` (finite gap in [min, max] eV, inclusive; with
``band_gap_required`` an input whose corpus gives no gap fails, without it such an input is not
gap-screened, as for a folder of CIF files), ``stability`` (decomposition energy or energy above hull at most a cut, when
set), ``radioactive`` (no element from the configured list), ``single_element`` (optional: no
elemental solids). The first two need only the corpus's metadata and run while streaming; the
last two need the parsed structure and run where structures are parsed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pymatgen.core import Element, Structure

from moduli.core.schema import Stage

# Tc, Pm and every element from Po (Z = 84) on: no stable isotope. The paper's screen
# (conf/screen/paper.yaml) names this list as ``radioactive: no_stable_isotope``.
NO_STABLE_ISOTOPE = ["Tc", "Pm"] + [Element.from_Z(z).symbol for z in range(84, 119)]
ELEMENT_SETS = {"no_stable_isotope": NO_STABLE_ISOTOPE}


def element_list(given: str | list[str] | None) -> list[str] | None:
    """A list of element symbols from a list, or from the name of a list in :data:`ELEMENT_SETS`."""
    if isinstance(given, str):
        if given not in ELEMENT_SETS:
            raise ValueError(f"unknown element list {given!r}: give symbols or one of {sorted(ELEMENT_SETS)}")
        return list(ELEMENT_SETS[given])
    return None if given is None else list(given)


@dataclass
class ScreenRules:
    """Screening settings (``conf/screen``). ``None`` switches a rule off."""

    band_gap_min: float | None = 0.1
    band_gap_max: float | None = 3.0
    max_decomposition_energy: float | None = None  # eV/atom, GNoME's column
    max_energy_above_hull: float | None = None  # eV/atom, MP's
    radioactive: str | list[str] | None = "no_stable_isotope"  # symbols or a named list
    exclude_single_element: bool = False
    band_gap_required: bool = True  # False: inputs the corpus gives no gap for pass the window

    def __post_init__(self) -> None:
        self.radioactive = element_list(self.radioactive)
        for symbol in self.radioactive or []:
            if not isinstance(symbol, str) or not Element.is_valid_symbol(symbol):
                raise ValueError(f"radioactive list holds {symbol!r}, not an element symbol "
                                 "(in YAML, quote symbols: a bare No reads as false)")

    @property
    def needs_band_gap(self) -> bool:
        return self.band_gap_min is not None or self.band_gap_max is not None

    def check_metadata(self, metadata: dict[str, Any]) -> tuple[str, str] | None:
        """(stage, reason) of the first metadata rule an entry fails, or None."""
        if self.needs_band_gap and (self.band_gap_required or "band_gap_ev" in metadata):
            gap = metadata.get("band_gap_ev")
            if "band_gap_ev" not in metadata:
                return Stage.BAND_GAP, "no band gap given (the band-gap window needs one)"
            if gap is None or not math.isfinite(gap):
                return Stage.BAND_GAP, "no finite band gap"
            low = -math.inf if self.band_gap_min is None else self.band_gap_min
            high = math.inf if self.band_gap_max is None else self.band_gap_max
            if not low <= gap <= high:
                return Stage.BAND_GAP, f"band gap {gap:g} eV outside [{low:g}, {high:g}]"
        for key, cut in (("decomposition_energy_ev_atom", self.max_decomposition_energy),
                         ("energy_above_hull_ev_atom", self.max_energy_above_hull)):
            if cut is None:
                continue
            value = metadata.get(key)
            if value is None or not math.isfinite(value):
                return Stage.STABILITY, f"no finite {key}"
            if value > cut:
                return Stage.STABILITY, f"{key} {value:g} > {cut:g}"
        return None

    def check_structure(self, structure: Structure) -> tuple[str, str] | None:
        """(stage, reason) of the first structure rule an entry fails, or None."""
        symbols = {el.symbol for el in structure.composition.elements}
        if self.radioactive:
            found = sorted(symbols & set(self.radioactive))
            if found:
                return Stage.RADIOACTIVE, f"radioactive element(s) {found}"
        if self.exclude_single_element and len(symbols) == 1:
            return Stage.SINGLE_ELEMENT, f"single element ({symbols.pop()})"
        return None

    def describe(self) -> dict[str, Any]:
        return {"band_gap_ev": [self.band_gap_min, self.band_gap_max],
                "band_gap_required": self.band_gap_required,
                "max_decomposition_energy_ev_atom": self.max_decomposition_energy,
                "max_energy_above_hull_ev_atom": self.max_energy_above_hull,
                "radioactive": self.radioactive, "exclude_single_element": self.exclude_single_element}

    def summary(self) -> str:
        """The rules that run, in words, for the log."""
        rules = []
        if self.needs_band_gap:
            window = f"band gap in [{self.band_gap_min}, {self.band_gap_max}] eV"
            rules.append(window if self.band_gap_required else f"{window} where the corpus gives one")
        for name, cut in (("decomposition energy", self.max_decomposition_energy),
                          ("energy above hull", self.max_energy_above_hull)):
            if cut is not None:
                rules.append(f"{name} <= {cut} eV/atom")
        if self.radioactive:
            rules.append(f"no radioactive element ({len(self.radioactive)} excluded)")
        if self.exclude_single_element:
            rules.append("no single-element solids")
        return "; ".join(rules) or "none (every input that parses and featurises is predicted)"
