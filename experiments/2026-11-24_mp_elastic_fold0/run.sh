#!/usr/bin/env bash
# CGCNN with the paper's settings on mp_elastic, Matbench-protocol fold 0, both targets (CPU).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
for target in log10_g_vrh log10_k_vrh; do
  .venv/bin/python train.py experiment=mp_elastic_paper data.target=$target \
    hydra.run.dir="$here/runs/$target"
done
