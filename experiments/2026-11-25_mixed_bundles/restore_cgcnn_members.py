"""Put the bundled CGCNN members back where their runs' metrics.json expects the best checkpoint.

The CGCNN members of mp-elastic-k / mp-elastic-g were trained in ../2026-11-25_bundled_models,
whose full checkpoints were deleted once the package held each member as a slim checkpoint
(weights + hyper-parameters). ``moduli.train.bundling`` reads members from their run dirs, so
this copies each slim member (as listed by the package's cards at the commit given, default the
one before the mixed bundles) to ``<run>/<best_checkpoint>``. Delete the copies afterwards
(``rm -r ../2026-11-25_bundled_models/runs/*/seed*/checkpoints``).

    python experiments/2026-11-25_mixed_bundles/restore_cgcnn_members.py [COMMIT]
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMMIT = sys.argv[1] if len(sys.argv) > 1 else "06f6aa8"  # the last commit with CGCNN-only bundles


def git_show(path: str) -> bytes:
    return subprocess.run(["git", "show", f"{COMMIT}:{path}"], cwd=REPO, check=True,
                          capture_output=True).stdout


for name in ("mp-elastic-k", "mp-elastic-g"):
    folder = f"src/moduli/models/bundled/{name}"
    card = json.loads(git_show(f"{folder}/card.json"))
    for member in card["members"]:
        target = REPO / member["run"] / member["best_checkpoint"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(git_show(f"{folder}/{member['file']}"))
        print(f"{name} {member['file']} -> {target.relative_to(REPO)}")
