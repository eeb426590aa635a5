#!/usr/bin/env bash
# Ablation table of issue 19 (one row per lever): head settings of run.sh next to the SevenNet
# heads (../2026-11-30_sevennet), the per-atom CHGNet heads (../2026-11-30_invariance) and the
# recipe CGCNN (../2026-11-25_accuracy, seeds 0-1), each alone (ensemble of its seeds) and mixed
# with the recipe CGCNN (the weight chosen on each fold's validation split). Settings whose runs
# are missing for a fold are left out of that fold.
#   bash experiments/2026-11-30_levers/tables.sh ["FOLDS"] [SETTINGS...]   # folds 0-1 -> folds01.md
# SEEDS (default "0 1 2 3 4"): the settings' seeds to read; OUT: another output file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
acc=experiments/2026-11-25_accuracy/runs
folds=${1:-"0 1"}; shift || true
settings=${*:-"sevennet_extra chgnet_sevennet_mlp sevennet_meanstd_mlp"}
out="$here/folds01.md"; [ "$folds" = "0 1" ] || out="$here/folds.md"
out=${OUT:-$out}
runs=(); mixes=()
for fold in $folds; do
  for target in log10_g_vrh log10_k_vrh; do
    for seed in 0 1 2 3 4; do
      runs+=("experiments/2026-11-30_sevennet/runs/$target/sevennet_mlp_fold${fold}_seed$seed"
             "experiments/2026-11-30_invariance/runs/$target/chgnet_mlp_fold${fold}_seed$seed")
    done
    for seed in ${SEEDS:-0 1 2 3 4}; do
      for setting in $settings; do
        runs+=("$here/runs/$target/${setting}_fold${fold}_seed$seed")  # a run that was not made matches nothing
      done
    done
  done
  for seed in 0 1; do
    runs+=("$acc/log10_g_vrh/recipe_tl_fold${fold}_seed$seed" "$acc/log10_k_vrh/recipe_a_fold${fold}_seed$seed")
  done
done
for setting in sevennet_mlp chgnet_mlp $settings; do
  mixes+=(--mix recipe_tl "$setting" --mix recipe_a "$setting")
done
.venv/bin/python -m moduli.analysis.folds "${runs[@]}" "${mixes[@]}" --out "$out"
