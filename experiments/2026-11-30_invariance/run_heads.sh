#!/usr/bin/env bash
# Issue 17: retrain every CHGNet-feature head on the per-atom (cell-independent) features,
# definition 2 of moduli.graphs.universal (now moduli.features.chgnet). Same settings as before (model=chgnet_mlp, split seed 42),
# only the features changed:
#   bundle heads: all of mp_elastic, fixed 90/10 train/val split, seeds 0-4 (as ../2026-11-25_mixed_bundles/run.sh)
#   fold heads:   the 5 Matbench-protocol folds, seeds 0-4 (as ../2026-11-25_accuracy, setting chgnet_mlp)
#   bash experiments/2026-11-30_invariance/run_heads.sh [bundle|folds|all]
# Features are computed once into the cache first. A finished run is skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
export MODULI_DATA_DIR="${MODULI_DATA_DIR:-$(cd .. && pwd)/shared/data}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} WANDB_MODE=${WANDB_MODE:-disabled}
what=${1:-all}
.venv/bin/python -m moduli.train.features --source mp_elastic
train() {  # OUT ARGS...
  local out=$1; shift
  [ -f "$out/metrics.json" ] && return 0
  mkdir -p "$(dirname "$out")"
  local start=$(date +%s)
  .venv/bin/python train.py model=chgnet_mlp data.seed=42 logger=csv trainer.enable_progress_bar=false \
    "$@" hydra.run.dir="$out" > "$out.log" 2>&1 || { echo "failed: $out (see $out.log)"; return 0; }
  rm -f "$out/checkpoints/last.ckpt"
  echo "$(date -u +%FT%TZ) $out: $(( $(date +%s) - start )) s, $(grep -o '"val/mae": [0-9.]*' "$out/metrics.json") $(grep -o '"test/mae": [0-9.]*' "$out/metrics.json")"
}
for seed in 0 1 2 3 4; do
  for target in log10_k_vrh log10_g_vrh; do
    [ "$what" = folds ] || train "$here/runs/$target/heads_seed$seed" task_name=chgnet_bundle \
      data.target=$target data.fold=null "data.fractions=[0.9,0.1,0.0]" seed=$seed
  done
done
[ "$what" = bundle ] && exit 0
for seed in 0 1 2 3 4; do
  for fold in 0 1 2 3 4; do
    for target in log10_k_vrh log10_g_vrh; do
      out="$here/runs/$target/chgnet_mlp_fold${fold}_seed$seed"
      train "$out" task_name=chgnet_mlp data.target=$target data.fold=$fold seed=$seed
      rm -rf "$out/checkpoints"
    done
  done
done
