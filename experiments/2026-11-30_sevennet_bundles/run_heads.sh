#!/usr/bin/env bash
# Issue 19: the bundle heads on SevenNet-0 features (model=sevennet_mlp), on the bundles' split
# (all of mp_elastic, fixed 90/10 train/val split, split seed 42, seeds 0-4), as the CHGNet bundle
# heads of ../2026-11-30_invariance/run_heads.sh. Extra train.py overrides go after the setting name
# (e.g. a data source); a finished run is skipped.
#   bash experiments/2026-11-30_sevennet_bundles/run_heads.sh [SETTING [OVERRIDES...]]   (SEEDS: default "0 1 2 3 4")
# MODEL (default sevennet_mlp): the head kind, e.g. MODEL=sevennet_elastic_mlp; TARGETS (default both
# moduli) narrows the runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
export MODULI_DATA_DIR="${MODULI_DATA_DIR:-$(cd .. && pwd)/shared/data}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} WANDB_MODE=${WANDB_MODE:-disabled}
setting=${1:-sevennet_mlp}; shift || true
for seed in ${SEEDS:-0 1 2 3 4}; do
  for target in ${TARGETS:-log10_k_vrh log10_g_vrh}; do
    out="$here/runs/$target/${setting}_bundle_seed$seed"
    [ -f "$out/metrics.json" ] && continue
    mkdir -p "$(dirname "$out")"
    start=$(date +%s)
    .venv/bin/python train.py model=${MODEL:-sevennet_mlp} task_name=${setting}_bundle data.seed=42 logger=csv \
      trainer.enable_progress_bar=false data.target=$target data.fold=null "data.fractions=[0.9,0.1,0.0]" \
      seed=$seed "$@" hydra.run.dir="$out" > "$out.log" 2>&1 || { echo "failed: $out (see $out.log)"; continue; }
    rm -f "$out/checkpoints/last.ckpt"
    echo "$(date -u +%FT%TZ) $out: $(( $(date +%s) - start )) s, $(grep -o '"val/mae": [0-9.]*' "$out/metrics.json")"
  done
done
