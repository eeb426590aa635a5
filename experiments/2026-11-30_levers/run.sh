#!/usr/bin/env bash
# Issue 19, levers 2-3 and pooling (folds 0-1 first): one setting = a name + train.py overrides,
# trained with seeds 0-4 on Matbench-protocol folds of mp_elastic (split seed 42, as every fold run),
# both moduli. A finished run is skipped, so the script resumes after a kill.
#   bash experiments/2026-11-30_levers/run.sh SETTING "FOLDS" [OVERRIDES...]
# e.g. bash experiments/2026-11-30_levers/run.sh sevennet_extra "0 1" model=sevennet_mlp "data.extra_train=[brgoch_new]"
# SEEDS (default "0 1 2 3 4") and TARGETS (default both moduli) narrow the runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
export MODULI_DATA_DIR="${MODULI_DATA_DIR:-$(cd .. && pwd)/shared/data}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} WANDB_MODE=${WANDB_MODE:-disabled}
setting=$1; folds=$2; shift 2
for seed in ${SEEDS:-0 1 2 3 4}; do
  for fold in $folds; do
    for target in ${TARGETS:-log10_k_vrh log10_g_vrh}; do
      out="$here/runs/$target/${setting}_fold${fold}_seed$seed"
      [ -f "$out/metrics.json" ] && continue
      mkdir -p "$(dirname "$out")"
      start=$(date +%s)
      .venv/bin/python train.py task_name=$setting data.target=$target data.fold=$fold data.seed=42 seed=$seed \
        logger=csv trainer.enable_progress_bar=false "$@" hydra.run.dir="$out" > "$out.log" 2>&1 \
        || { echo "failed: $out (see $out.log)"; continue; }
      rm -rf "$out/checkpoints"
      echo "$(date -u +%FT%TZ) $target fold $fold seed $seed: $(( $(date +%s) - start )) s, $(grep -o '"val/mae": [0-9.]*' "$out/metrics.json") $(grep -o '"test/mae": [0-9.]*' "$out/metrics.json")"
    done
  done
done
