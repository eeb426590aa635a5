#!/usr/bin/env bash
# The paper's five classical baselines + dummy on mp_elastic, Matbench-protocol folds 0-4, both
# targets (CPU; one Hydra multirun per target).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
for target in log10_g_vrh log10_k_vrh; do
  .venv/bin/python train.py -m model=rf,xgb,svr,gbr,dt,dummy data.fold=0,1,2,3,4 \
    data.target=$target logger=csv hydra.sweep.dir="$here/runs/$target" \
    'hydra.sweep.subdir=${hydra:runtime.choices.model}_fold${data.fold}'
done
