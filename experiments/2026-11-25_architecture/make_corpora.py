"""Build the two corpora of the behaviour check (no moduli code, so the same files before and after).

- corpus.json.gz: 150 real MP structures with band gaps (matminer dielectric set) + 6 bad rows
  (unparseable, disordered, overlapping atoms, uranium, no gap, wide gap) + a repeated id;
- cif_dir/: 20 of them as CIF, 5 as POSCAR, a broken CIF, a text file that is neither, an empty CIF.
Usage: python make_corpora.py DATA_DIR OUT_DIR
"""
import gzip
import json
import sys
from pathlib import Path

from pymatgen.core import Lattice, Structure

data_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
table = json.load(gzip.open(data_dir / "matminer_dielectric_constant_bandgap.json.gz", "rt"))
col = {name: i for i, name in enumerate(table["columns"])}
rows = [{"material_id": r[col["material_id"]], "structure": r[col["structure"]],
         "band_gap": r[col["band_gap"]], "formula": r[col["formula"]]} for r in table["data"][:150]]
good = Structure.from_dict(rows[0]["structure"])
disordered = good.copy()
disordered.replace_species({good[0].specie: {good[0].specie: 0.5, "K": 0.5}})
overlap = Structure(Lattice.cubic(5.0), ["Si", "Si"], [[0, 0, 0], [0.05, 0, 0]])
uranium = Structure(Lattice.cubic(4.0), ["U", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
rows += [{"material_id": "bad-unparseable", "structure": {"lattice": 5}, "band_gap": 1.0},
         {"material_id": "bad-disordered", "structure": disordered.as_dict(), "band_gap": 1.0},
         {"material_id": "bad-overlap", "structure": overlap.as_dict(), "band_gap": 1.0},
         {"material_id": "bad-uranium", "structure": uranium.as_dict(), "band_gap": 1.0},
         {"material_id": "bad-no-gap", "structure": good.as_dict(), "band_gap": None},
         {"material_id": "bad-wide-gap", "structure": good.as_dict(), "band_gap": 5.0},
         dict(rows[3])]
with gzip.open(out / "corpus.json.gz", "wt") as handle:
    json.dump(rows, handle)

cifs = out / "cif_dir"
cifs.mkdir(exist_ok=True)
for row in rows[:20]:
    Structure.from_dict(row["structure"]).to(filename=str(cifs / f"{row['material_id']}.cif"))
for row in rows[20:25]:
    Structure.from_dict(row["structure"]).to(filename=str(cifs / f"{row['material_id']}.vasp"), fmt="poscar")
(cifs / "broken.cif").write_text("data_broken\n_cell_length_a 5\nloop_\n_atom_site_label\n")
(cifs / "notes.vasp").write_text("just some words\nthat are no structure\n")
(cifs / "empty.cif").write_text("")
print(f"{len(rows)} rows, {len(list(cifs.iterdir()))} files in {out}")
