#!/usr/bin/env bash
# What benchmarks/device/run.sh needs on a lent GPU machine, built here into .devcarry/ (~15 MB):
# that machine has Python 3.12 with torch, PyG, Lightning, pandas, pyarrow, matplotlib and psutil
# but not the rest of moduli's stack, and it reaches no package registry.
#   .devcarry/wheels/  cp312 manylinux wheels of the missing packages, at the versions .venv has
#   .devcarry/site/    sevenn 0.13.0 unpacked with SevenNet-0's checkpoint only (the wheel is 43 MB)
#   .devcarry/data/    the benchmark corpus's real structures (WBM + matminer dielectric, 1.3 MB)
# .devcarry is ignored through .git/info/exclude; name it in the device tool's `carry`.
#   MODULI_DATA_DIR=../shared/data bash benchmarks/device/carry.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${MODULI_DATA_DIR:-../shared/data}
grep -qx '/.devcarry/' .git/info/exclude 2>/dev/null || echo '/.devcarry/' >> .git/info/exclude
rm -rf .devcarry && mkdir -p .devcarry/wheels .devcarry/site .devcarry/data
# moduli's imports that the GPU machine's image lacks (found by predicting in a Python 3.12
# environment with only that image's packages: benchmarks/README.md, "device/")
packages="pymatgen pymatgen-core monty orjson ruamel.yaml moyopy
  hydra-core omegaconf ase braceexpand matscipy e3nn"
pins=$(.venv/bin/python -m pip freeze 2>/dev/null | tr 'A-Z_' 'a-z-')
wanted=()
for name in $packages; do
  pin=$(grep -E "^${name}==" <<< "$pins" || true)
  [ -n "$pin" ] || { echo "carry.sh: $name is not in .venv" >&2; exit 1; }
  wanted+=("$pin")
done
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
download() {  # pip's own messages only where it fails
  python3 -m pip download -q --no-deps --only-binary=:all: "$@" > /tmp/devcarry-pip.log 2>&1 \
    || { grep -v "^WARNING: Location" /tmp/devcarry-pip.log >&2; exit 1; }
}
download --python-version 3.12 --implementation cp "${platforms[@]}" -d .devcarry/wheels "${wanted[@]}"
rm -rf /tmp/devcarry-sevenn
download -d /tmp/devcarry-sevenn sevenn==0.13.0
python3 - <<'PY'
import zipfile
from pathlib import Path

keep_checkpoint = "SevenNet_0__11Jul2024/"
dropped = ("pretrained_potentials/", "sevenn/pair_e3gnn/")  # other potentials, LAMMPS sources
with zipfile.ZipFile(next(Path("/tmp/devcarry-sevenn").glob("sevenn-0.13.0-*.whl"))) as wheel:
    for name in wheel.namelist():
        if (any(part in name for part in dropped) and keep_checkpoint not in name) or name.endswith(".so"):
            continue  # the .so files are D3 dispersion kernels, not used by SevenNet-0
        wheel.extract(name, ".devcarry/site")
PY
# SevenNet-0's checkpoint without its optimiser state (6.4 of its 9.8 MB); the weights and config as
# they are (moduli reads only those; run.sh checks the features against a recorded vector)
.venv/bin/python - <<'PY'
from pathlib import Path

import torch

path = next(Path(".devcarry/site").rglob("checkpoint_sevennet_0.pth"))
checkpoint = torch.load(path, map_location="cpu", weights_only=False)
checkpoint["optimizer_state_dict"] = checkpoint["scheduler_state_dict"] = None
torch.save(checkpoint, path)
PY
cp "$data/wbm_random_972_structures_matcalc.json.gz" "$data/matminer_dielectric_constant_bandgap.json.gz" .devcarry/data/
du -sh .devcarry/*
