"""Independent-set errors of two builds of the bundles, by number of elements per crystal.

The check set of ``../2026-11-25_bundled_models/independent_check.py`` (657 legacy MP tensors
outside mp_elastic) predicted by the bundles of an earlier commit (default 1157935: SevenNet heads
without the brgoch data) and by the installed ones; mean |error| (log10 GPa) and count for 1, 2
and >= 3 elements.

    MODULI_DATA_DIR=../shared/data .venv/bin/python experiments/2026-11-30_sevennet_bundles/by_element_count.py [COMMIT]
"""
from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "experiments" / "2026-11-25_bundled_models"))
import independent_check as check  # noqa: E402

from moduli.models.registry import load_bundled  # noqa: E402


def main() -> None:
    commit = sys.argv[1] if len(sys.argv) > 1 else "1157935"
    _, data, structures = check.check_set()
    data["elements"] = [min(len(s.composition.elements), 3) for s in structures]
    data["k"], data["g"] = np.log10(data["k_vrh"]), np.log10(data["g_vrh"])
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(["git", "archive", commit, "src/moduli/models/bundled"], cwd=REPO,
                                 check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(old)
        for label, root in ((f"bundles at {commit}", Path(old) / "src/moduli/models/bundled"), ("installed bundles", None)):
            errors = data.assign(
                bulk=np.abs(load_bundled("mp-elastic-k", root).predict(structures) - data["k"]),
                shear=np.abs(load_bundled("mp-elastic-g", root).predict(structures) - data["g"]))
            table = errors.groupby("elements")[["bulk", "shear"]].agg(["mean", "count"]).round(4)
            print(f"## {label} (elements: 3 means 3 or more)\n\n{table.to_string()}\n")


if __name__ == "__main__":
    main()
