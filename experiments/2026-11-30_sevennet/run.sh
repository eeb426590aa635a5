#!/usr/bin/env bash
# Issue 19, lever 1 (folds 0-1 first): SevenNet-feature heads (model=sevennet_mlp, the CHGNet heads'
# settings on SevenNet-0's 640 features), seeds 0-4, Matbench-protocol folds of mp_elastic, split
# seed 42 as every fold run. Features are computed by the first run of each structure and cached.
#   bash experiments/2026-11-30_sevennet/run.sh ["FOLDS"] ["SEEDS"]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
export MODULI_DATA_DIR="${MODULI_DATA_DIR:-$(cd .. && pwd)/shared/data}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} WANDB_MODE=${WANDB_MODE:-disabled}
folds=${1:-"0 1"}; seeds=${2:-"0 1 2 3 4"}
for seed in $seeds; do
  for fold in $folds; do
    for target in log10_k_vrh log10_g_vrh; do
      out="$here/runs/$target/sevennet_mlp_fold${fold}_seed$seed"
      [ -f "$out/metrics.json" ] && continue
      mkdir -p "$(dirname "$out")"
      start=$(date +%s)
      .venv/bin/python train.py model=sevennet_mlp task_name=sevennet_mlp data.target=$target \
        data.fold=$fold data.seed=42 seed=$seed logger=csv trainer.enable_progress_bar=false \
        hydra.run.dir="$out" > "$out.log" 2>&1 || { echo "failed: $out (see $out.log)"; continue; }
      rm -rf "$out/checkpoints"
      echo "$(date -u +%FT%TZ) $target fold $fold seed $seed: $(( $(date +%s) - start )) s, $(grep -o '"val/mae": [0-9.]*' "$out/metrics.json") $(grep -o '"test/mae": [0-9.]*' "$out/metrics.json")"
    done
  done
done
