#!/usr/bin/env bash
# What device.sh needs on a GPU machine that has torch, PyG and e3nn but not moduli's stack: the
# pure-Python packages (sevenn 0.13.0 with SevenNet-0's checkpoint only, ase 3.29.0 without its
# tests and GUI, e3nn 0.6.0, braceexpand) copied from .venv into .devcarry/site, and the runs'
# structures and parts (export.py) in .devcarry/data.npz (about 20 MB together). Keep .devcarry out
# of git (.git/info/exclude) and name it in the device tool's carry.
#   bash experiments/2026-11-30_finetune/carry.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
site=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
rm -rf .devcarry/site && mkdir -p .devcarry/site
(cd "$site" && tar cf - --exclude=__pycache__ --exclude='*.so' --exclude=sevenn/pair_e3gnn \
   --exclude=sevenn/pretrained_potentials/SevenNet_0__22May2024 --exclude=sevenn/pretrained_potentials/SevenNet_MF_0 \
   --exclude=sevenn/pretrained_potentials/SevenNet_l3i5 --exclude=ase/test --exclude=ase/gui \
   sevenn sevenn-0.13.0.dist-info ase ase-3.29.0.dist-info e3nn e3nn-0.6.0.dist-info braceexpand*) \
  | (cd .devcarry/site && tar xf -)
MODULI_DATA_DIR="${MODULI_DATA_DIR:-$(cd .. && pwd)/shared/data}" .venv/bin/python "$here/export.py" .devcarry/data.npz
du -sh .devcarry
