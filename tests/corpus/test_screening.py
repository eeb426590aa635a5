import pytest
from pymatgen.core import Lattice, Structure

from moduli.corpus.screening import NO_STABLE_ISOTOPE, ScreenRules


def test_band_gap_window_is_inclusive_and_needs_a_finite_gap():
    rules = ScreenRules()
    for gap in (0.1, 1.0, 3.0):
        assert rules.check_metadata({"band_gap_ev": gap}) is None
    for gap in (0.0999, 3.0001, 5.0):
        assert rules.check_metadata({"band_gap_ev": gap})[0] == "band_gap"
    for gap in (None, float("nan"), float("inf")):
        assert rules.check_metadata({"band_gap_ev": gap}) == ("band_gap", "no finite band gap")
    assert ScreenRules(band_gap_min=None, band_gap_max=None).check_metadata({}) is None


def test_stability_cut():
    rules = ScreenRules(max_decomposition_energy=0.0)
    assert rules.check_metadata({"band_gap_ev": 1.0, "decomposition_energy_ev_atom": -0.02}) is None
    assert rules.check_metadata({"band_gap_ev": 1.0, "decomposition_energy_ev_atom": 0.05})[0] == "stability"
    assert rules.check_metadata({"band_gap_ev": 1.0})[0] == "stability"
    hull = ScreenRules(max_energy_above_hull=0.1)
    assert hull.check_metadata({"band_gap_ev": 1.0, "energy_above_hull_ev_atom": 0.2})[0] == "stability"


def test_radioactive_and_single_element_rules():
    assert {"Tc", "Pm", "Po", "U", "Th", "No", "Og"} <= set(NO_STABLE_ISOTOPE)
    assert not {"Bi", "Pb", "Tl"} & set(NO_STABLE_ISOTOPE)  # Z < 84 stays
    assert ScreenRules(radioactive="no_stable_isotope").radioactive == NO_STABLE_ISOTOPE
    rules = ScreenRules(exclude_single_element=True)
    uo = Structure(Lattice.cubic(4.0), ["U", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    si = Structure(Lattice.cubic(5.43), ["Si", "Si"], [[0, 0, 0], [0.25, 0.25, 0.25]])
    nacl = Structure(Lattice.cubic(5.6), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    assert rules.check_structure(uo) == ("radioactive", "radioactive element(s) ['U']")
    assert rules.check_structure(si)[0] == "single_element"
    assert rules.check_structure(nacl) is None
    assert ScreenRules().check_structure(si) is None  # off by default


def test_radioactive_list_must_be_element_symbols():
    with pytest.raises(ValueError, match="quote symbols"):
        ScreenRules(radioactive=["Tc", False])
