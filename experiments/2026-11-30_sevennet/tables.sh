#!/usr/bin/env bash
# Fold tables of issue 19 lever 1: SevenNet-feature heads (runs/) next to the per-atom CHGNet
# heads (../2026-11-30_invariance) and the recipe CGCNN (../2026-11-25_accuracy, seeds 0-1), with
# two-setting mixtures (weight chosen on each fold's validation split).
#   bash experiments/2026-11-30_sevennet/tables.sh             # folds 0-1 -> folds01.md
#   bash experiments/2026-11-30_sevennet/tables.sh "0 1 2 3 4" # -> folds.md
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
acc=experiments/2026-11-25_accuracy/runs
inv=experiments/2026-11-30_invariance/runs
folds=${1:-"0 1"}
out="$here/folds01.md"; [ "$folds" = "0 1" ] || out="$here/folds.md"
runs=()
for fold in $folds; do
  for target in log10_g_vrh log10_k_vrh; do
    for seed in 0 1 2 3 4; do
      runs+=("$here/runs/$target/sevennet_mlp_fold${fold}_seed$seed" "$inv/$target/chgnet_mlp_fold${fold}_seed$seed")
    done
  done
  for seed in 0 1; do
    runs+=("$acc/log10_g_vrh/recipe_tl_fold${fold}_seed$seed" "$acc/log10_k_vrh/recipe_a_fold${fold}_seed$seed")
  done
done
.venv/bin/python -m moduli.analysis.folds "${runs[@]}" --mix recipe_tl sevennet_mlp --mix recipe_a sevennet_mlp \
  --mix recipe_tl chgnet_mlp --mix recipe_a chgnet_mlp --mix sevennet_mlp chgnet_mlp --out "$out"
