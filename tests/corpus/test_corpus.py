import csv
import math
import zipfile

import pytest
from pymatgen.core import Structure

from moduli.core.structures import UnreadableStructure, read_payload
from moduli.corpus.readers import read_files, read_gnome, read_structures_json


def test_a_folder_is_read_recursively_and_every_file_is_an_input(tmp_path, data_dir):
    sample = data_dir / "cgcnn_reference" / "sample-regression"
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "a.cif").write_text((sample / "1000041.cif").read_text())
    (tmp_path / "sub" / "B.CIF").write_text((sample / "1000050.cif").read_text())
    (tmp_path / "sub" / "deeper" / "POSCAR").write_text(
        Structure.from_file(sample / "9000046.cif").to(fmt="poscar"))
    (tmp_path / "notes.txt").write_text("not a structure")
    (tmp_path / "broken.cif").write_text("data_broken\n_cell_length_a 3\n")
    entries = list(read_files(tmp_path))
    assert [e.id for e in entries] == ["a", "broken", "notes.txt", "sub/B", "sub/deeper/POSCAR"]
    assert entries[2].payload[0] == "unreadable" and "not a structure file (.txt)" in entries[2].payload[1]
    entries = [e for e in entries if e.id != "notes.txt"]
    assert read_payload(entries[0].payload).composition.reduced_formula == "NaCl"
    assert read_payload(entries[2].payload).composition.reduced_formula == "KCl"
    assert len(read_payload(entries[3].payload)) > 0
    with pytest.raises(UnreadableStructure, match=r"^unreadable CIF \("):
        read_payload(entries[1].payload)


def test_structures_json_reads_split_tables_with_band_gaps(data_dir, dielectric_rows):
    entries = list(read_structures_json(data_dir / "matminer_dielectric_constant_bandgap.json.gz"))
    assert len(entries) == len(dielectric_rows)
    first = entries[0]
    assert first.id.startswith("mp-") and 0.1 <= first.metadata["band_gap_ev"] <= 8.4
    assert isinstance(read_payload(first.payload), Structure)


def write_gnome(tmp_path, rows, layout):
    """A GNoME-layout summary CSV and zip of .CIF files from real structures."""
    summary = tmp_path / "stable_materials_summary.csv"
    columns = ["MaterialId", "Composition", "Reduced Formula", "Elements", "NSites", "Volume",
               "Density (g/cm³)", "Space Group Number", "Crystal System",
               "Decomposition Energy Per Atom", "Bandgap"]
    with open(summary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for mid, structure, gap in rows:
            writer.writerow([mid, structure.composition.formula.replace(" ", ""),
                             structure.composition.reduced_formula, "[]", len(structure),
                             structure.volume, structure.density, 225, "cubic", -0.01, gap])
    archive = tmp_path / f"{layout}.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for mid, structure, _ in rows[:-1]:  # the last row has no CIF
            stem = mid if layout == "by_id" else structure.composition.formula.replace(" ", "")
            handle.writestr(f"{layout}/{stem}.CIF", structure.to(fmt="cif"))
    return summary, archive


@pytest.mark.parametrize("layout", ["by_id", "by_composition"])
def test_gnome_zip_is_joined_to_the_summary(tmp_path, dielectric_rows, layout):
    structures = [Structure.from_dict(r["structure"]) for r in dielectric_rows[:5]]
    gaps = ["1.5", "nan", "inf", "", "2.0"]
    rows = [(f"gn-{i:04d}", s, g) for i, (s, g) in enumerate(zip(structures, gaps))]
    summary, archive = write_gnome(tmp_path, rows, layout)
    entries = list(read_gnome(summary, archive))
    assert [e.id for e in entries] == [r[0] for r in rows]
    assert entries[0].metadata["band_gap_ev"] == 1.5
    assert [entries[i].metadata["band_gap_ev"] for i in (1, 2, 3)] == [None, None, None]
    assert entries[0].metadata["decomposition_energy_ev_atom"] == -0.01
    loaded = read_payload(entries[0].payload)
    assert loaded.composition.reduced_formula == structures[0].composition.reduced_formula
    assert math.isclose(loaded.volume, structures[0].volume, rel_tol=1e-4)
    with pytest.raises(FileNotFoundError, match="no CIF for gn-0004"):
        read_payload(entries[4].payload)


class RecordedMPRester:
    """Stands in for mp_api.client.MPRester, answering with real MP documents."""

    calls = []

    def __init__(self, key):
        self.key = key
        self.materials = self
        self.summary = self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def search(self, fields, **criteria):
        from types import SimpleNamespace

        RecordedMPRester.calls.append(criteria)
        return [SimpleNamespace(material_id=r["material_id"], formula_pretty=r["formula"],
                                structure=Structure.from_dict(r["structure"]), band_gap=r["band_gap"],
                                energy_above_hull=None) for r in self.rows
                if criteria["band_gap"][0] <= r["band_gap"] <= criteria["band_gap"][1]]


def test_mp_api_pushes_the_screen_and_caches(tmp_path, monkeypatch, dielectric_rows):
    import socket
    import sys
    import types

    from moduli.corpus import readers

    RecordedMPRester.rows, RecordedMPRester.calls = dielectric_rows[:30], []
    monkeypatch.setitem(sys.modules, "mp_api", types.ModuleType("mp_api"))
    monkeypatch.setitem(sys.modules, "mp_api.client", types.SimpleNamespace(MPRester=RecordedMPRester))
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: types.SimpleNamespace(close=lambda: None))
    monkeypatch.setenv("MP_API_KEY", "test-key")
    cache = tmp_path / "mp.json"
    entries = list(readers.read_mp_api(cache, (0.1, 3.0), ["U", "Tc"]))
    assert RecordedMPRester.calls == [{"band_gap": (0.1, 3.0), "exclude_elements": ["U", "Tc"]}]
    expected = [r["material_id"] for r in dielectric_rows[:30] if 0.1 <= r["band_gap"] <= 3.0]
    assert [e.id for e in entries] == expected and cache.is_file()
    assert isinstance(read_payload(entries[0].payload), Structure)
    again = list(readers.read_mp_api(cache, (0.1, 3.0), ["U", "Tc"]))  # from the cache: no query
    assert len(RecordedMPRester.calls) == 1 and [e.id for e in again] == expected


def test_mp_api_offline_fails_fast_with_a_clear_message(tmp_path, monkeypatch):
    import socket
    import sys
    import types

    from moduli.corpus import readers

    monkeypatch.setitem(sys.modules, "mp_api", types.ModuleType("mp_api"))
    monkeypatch.setitem(sys.modules, "mp_api.client", types.SimpleNamespace(MPRester=RecordedMPRester))
    monkeypatch.setenv("MP_API_KEY", "test-key")

    def refuse(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(socket, "create_connection", refuse)
    with pytest.raises(RuntimeError, match="cannot reach the Materials Project API"):
        list(readers.read_mp_api(tmp_path / "mp.json"))
    monkeypatch.delenv("MP_API_KEY")
    with pytest.raises(RuntimeError, match=r"set \$MP_API_KEY"):
        list(readers.read_mp_api(tmp_path / "mp.json"))


def test_json_lines_are_streamed_and_bad_lines_become_rejections(tmp_path, dielectric_rows):
    import gzip
    import json

    path = tmp_path / "corpus.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        for row in dielectric_rows[:3]:
            handle.write(json.dumps({"material_id": row["material_id"], "structure": row["structure"],
                                     "band_gap": row["band_gap"]}) + "\n")
        handle.write("\n{not json\n")
        handle.write(json.dumps({"material_id": "cif-text", "structure": Structure.from_dict(
            dielectric_rows[0]["structure"]).to(fmt="cif"), "band_gap": 1.0}) + "\n")
    entries = list(read_structures_json(path))
    assert [e.id for e in entries] == [r["material_id"] for r in dielectric_rows[:3]] + ["line-5", "cif-text"]
    assert entries[0].metadata["band_gap_ev"] == dielectric_rows[0]["band_gap"]
    assert isinstance(entries[0].payload[1], str)  # the raw line travels, not a parsed dict
    assert read_payload(entries[0].payload) == Structure.from_dict(dielectric_rows[0]["structure"])
    assert read_payload(entries[4].payload).composition == read_payload(entries[0].payload).composition
    assert entries[3].metadata["unreadable"].startswith("unreadable JSON on line 5 (Expecting")
    with pytest.raises(ValueError, match="unreadable JSON on line 5"):
        read_payload(entries[3].payload)
