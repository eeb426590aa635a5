#!/usr/bin/env bash
# Issue 19, lever 5: the fine-tuned SevenNet-0 runs (evidence/, compacted from the run dirs run_dirs.py made of device/)
# next to the recipe CGCNN (../2026-11-25_accuracy, seeds 0-1) and the SevenNet-feature heads
# (../2026-11-30_levers: sevennet_extra and sevennet_stiffness_extra, seeds 0-4), alone (ensembles)
# and mixed, every mixture's shares chosen on each fold's validation split. -> folds.md
#   bash experiments/2026-11-30_finetune/tables.sh
# SEEDS (default "0 1 2 3 4"): the sevennet_extra heads' seeds to read, STIFF_SEEDS (the same
# default) the sevennet_stiffness_extra heads'; FT (default "a b c"): the
# fine-tuning runs to read; ELASTIC_SEEDS (default none) the sevennet_elastic_extra heads' (clamped-ion
# K and G features, ../2026-11-30_levers), which adds the mixtures with them; KELVIN_SEEDS (default none)
# the sevennet_kelvin_extra heads' (the invariants of the clamped-ion matrix), likewise; OUT: another
# output file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
runs=(); mixes=()
for fold in 0 1 2 3 4; do
  for target in log10_g_vrh log10_k_vrh; do
    for seed in ${SEEDS:-0 1 2 3 4}; do
      runs+=("experiments/2026-11-30_levers/runs/$target/sevennet_extra_fold${fold}_seed$seed")
    done
    for seed in ${STIFF_SEEDS:-0 1 2 3 4}; do
      runs+=("experiments/2026-11-30_levers/runs/$target/sevennet_stiffness_extra_fold${fold}_seed$seed")
    done
    for seed in ${ELASTIC_SEEDS:-}; do
      runs+=("experiments/2026-11-30_levers/runs/$target/sevennet_elastic_extra_fold${fold}_seed$seed")
    done
    for seed in ${KELVIN_SEEDS:-}; do
      runs+=("experiments/2026-11-30_levers/runs/$target/sevennet_kelvin_extra_fold${fold}_seed$seed")
    done
    for ft in ${FT:-a b c}; do runs+=("$here/runs/$target/sevennet_ft_${ft}_fold$fold"); done
  done
  for seed in 0 1; do
    runs+=("experiments/2026-11-25_accuracy/runs/log10_g_vrh/recipe_tl_fold${fold}_seed$seed"
           "experiments/2026-11-25_accuracy/runs/log10_k_vrh/recipe_a_fold${fold}_seed$seed")
  done
done
for cgcnn in recipe_tl recipe_a; do
  mixes+=(--mix $cgcnn sevennet_extra --mix $cgcnn sevennet_ft
          --mix $cgcnn sevennet_extra sevennet_ft --mix $cgcnn sevennet_stiffness_extra sevennet_ft
          --mix $cgcnn sevennet_extra sevennet_stiffness_extra
          --mix $cgcnn sevennet_extra sevennet_stiffness_extra sevennet_ft)
  if [ -n "${ELASTIC_SEEDS:-}" ]; then
    mixes+=(--mix $cgcnn sevennet_elastic_extra
            --mix $cgcnn sevennet_extra sevennet_elastic_extra --mix $cgcnn sevennet_elastic_extra sevennet_ft
            --mix $cgcnn sevennet_extra sevennet_elastic_extra sevennet_ft
            --mix $cgcnn sevennet_extra sevennet_stiffness_extra sevennet_elastic_extra
            --mix $cgcnn sevennet_extra sevennet_stiffness_extra sevennet_elastic_extra sevennet_ft)
  fi
  if [ -n "${KELVIN_SEEDS:-}" ]; then
    mixes+=(--mix $cgcnn sevennet_kelvin_extra --mix $cgcnn sevennet_kelvin_extra sevennet_ft
            --mix $cgcnn sevennet_elastic_extra sevennet_kelvin_extra
            --mix $cgcnn sevennet_extra sevennet_kelvin_extra)
  fi
done
mixes+=(--mix sevennet_extra sevennet_ft)
.venv/bin/python -m moduli.analysis.folds "${runs[@]}" "${mixes[@]}" --out "${OUT:-$here/folds.md}"
