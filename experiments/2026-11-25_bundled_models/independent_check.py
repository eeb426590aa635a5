"""Check the bundled ensembles on elastic data they were neither trained nor selected on.

Data: ../shared/data/mp_elastic_tensors_1211_trachote.json (1,211 legacy MP elastic tensors, not
part of mp_elastic). K_VRH and G_VRH are computed from each 6x6 tensor with pymatgen's
ElasticTensor; entries are kept when every Voigt / Reuss / VRH modulus is finite and > 0 and
Reuss <= VRH <= Voigt (the Matbench cleaning), and their id is not in mp_elastic. "unseen" is the
subset whose (reduced formula, space group) does not occur in mp_elastic either (the same
material can carry another id). Reference: the original pre-trained CGCNN models.

    .venv/bin/python experiments/2026-11-25_bundled_models/independent_check.py > experiments/2026-11-25_bundled_models/independent_check.md
    .venv/bin/python experiments/2026-11-25_bundled_models/independent_check.py --bulk mp-elastic-k-accurate --shear mp-elastic-g-accurate
"""
from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pymatgen.analysis.elasticity import ElasticTensor
from pymatgen.core import Structure

import moduli
from moduli.analysis.metrics import mae, r2, std_calibration
from moduli.analysis.report import markdown_table
from moduli.analysis.statistics import domain_counts
from moduli.data.sources import load_mp_elastic
from moduli.core.cell import cell_description

DATA = Path(os.environ.get("MODULI_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))


def vrh(tensor) -> dict[str, float] | None:
    """VRH bounds of a 6x6 Voigt tensor (GPa), or None for a singular or unphysical one."""
    et = ElasticTensor.from_voigt(np.array(tensor, dtype=float))
    try:
        values = {"k_voigt": et.k_voigt, "k_reuss": et.k_reuss, "k_vrh": et.k_vrh,
                  "g_voigt": et.g_voigt, "g_reuss": et.g_reuss, "g_vrh": et.g_vrh}
    except np.linalg.LinAlgError:  # a singular tensor has no compliance, no Reuss bound
        return None
    if not all(np.isfinite(v) and v > 0 for v in values.values()):
        return None
    if not (values["k_reuss"] <= values["k_vrh"] <= values["k_voigt"]
            and values["g_reuss"] <= values["g_vrh"] <= values["g_voigt"]):
        return None
    return values


def check_set() -> tuple[int, pd.DataFrame, list[Structure]]:
    """(entries in the file, one row per usable entry: id, Voigt / Reuss / VRH moduli, ``unseen``,
    and its structure): ids outside mp_elastic with a physical tensor."""
    frame = pd.DataFrame(json.loads((DATA / "mp_elastic_tensors_1211_trachote.json").read_text()))
    records, _ = load_mp_elastic(DATA)
    known_ids = {r.id for r in records}
    known_materials = {(c["formula"], c["spacegroup_number"])
                       for c in (cell_description(r.structure) for r in records)}
    rows, structures = [], []
    for item in frame.to_dict("records"):
        if item["material_id"] in known_ids:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            moduli_values = vrh(item["elasticity.elastic_tensor"])
            structure = Structure.from_str(item["cif"], fmt="cif")
        if moduli_values is None:
            continue
        cell = cell_description(structure)
        rows.append({"id": item["material_id"], **moduli_values,
                     "unseen": (cell["formula"], cell["spacegroup_number"]) not in known_materials})
        structures.append(structure)
    return len(frame), pd.DataFrame(rows), structures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk", default="mp-elastic-k", help="a bundled name or checkpoint")
    parser.add_argument("--shear", default="mp-elastic-g", help="a bundled name or checkpoint")
    args = parser.parse_args(argv)
    n_entries, data, structures = check_set()
    table = moduli.predict(structures, ids=data["id"].tolist(), bulk=args.bulk, shear=args.shear)
    original = {t: moduli.load_model(DATA / "cgcnn_reference" / "pretrained" / f"{t}-moduli.pth.tar", DATA)
                .predict(structures) for t in ("bulk", "shear")}
    print(f"# Bundled ensembles on an independent elastic set ({args.bulk}, {args.shear})\n")
    print(f"{n_entries} entries; {len(data)} with an id outside mp_elastic and a physical tensor; "
          f"{int(data['unseen'].sum())} of them also with a (formula, space group) absent from "
          f"mp_elastic; {int(table['rejected'].notna().sum())} not predictable.\n")
    print("| modulus | subset | n | bundled MAE (log10 GPa) | bundled R² | original CGCNN MAE | "
          "Spearman(std, abs err) | within 1σ | within 2σ |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for prop, column, dft in (("bulk", "bulk_modulus_gpa", "k_vrh"), ("shear", "shear_modulus_gpa", "g_vrh")):
        for subset, mask in (("id not in mp_elastic", np.ones(len(data), bool)), ("unseen material", data["unseen"].to_numpy())):
            ok = mask & table["rejected"].isna().to_numpy()
            truth = np.log10(data.loc[ok, dft].to_numpy())
            predicted = np.log10(table.loc[ok, column].to_numpy())
            # log10 std from the GPa std: d(log10 x) = dx / (x ln 10)
            std = table.loc[ok, f"{column}_std"].to_numpy() / (table.loc[ok, column].to_numpy() * np.log(10))
            calibration = std_calibration(truth, predicted, std)
            print(f"| {prop} | {subset} | {ok.sum()} | {mae(truth, predicted):.4f} | {r2(truth, predicted):.3f} | "
                  f"{mae(truth, original[prop][ok]):.4f} | {calibration['spearman_std_abs_error']:.3f} | "
                  f"{calibration['within_1_sigma']:.3f} | {calibration['within_2_sigma']:.3f} |")
    if "in_domain" in table:  # bundles built from 2026-11-30 on record their training domain
        print("\nBy the domain flag (`in_domain`):\n")
        print("| modulus | in_domain | n | bundled MAE (log10 GPa) |\n| --- | --- | --- | --- |")
        for prop, column, dft in (("bulk", "bulk_modulus_gpa", "k_vrh"), ("shear", "shear_modulus_gpa", "g_vrh")):
            for flag in (True, False):
                ok = (table["in_domain"] == flag).to_numpy()
                truth = np.log10(data.loc[ok, dft].to_numpy())
                predicted = np.log10(table.loc[ok, column].to_numpy())
                print(f"| {prop} | {flag} | {ok.sum()} | {mae(truth, predicted) if ok.any() else float('nan'):.4f} |")
        print("\n" + markdown_table(domain_counts(table[table["rejected"].isna()])))


if __name__ == "__main__":
    main()
