#!/usr/bin/env bash
# Issue 19: the accurate bundles mp-elastic-k-accurate / mp-elastic-g-accurate, beside the default
# ones: the same 2 recipe CGCNN members per modulus (restored from the package at d4f16dd) + the
# heads of one or more SevenNet settings trained on the bundles' split by
# ../2026-11-30_sevennet_bundles/run_heads.sh, every setting's share chosen on validation.
# Cross-validation: the recipe CGCNN fold runs (../2026-11-25_accuracy, 2 seeds) + the same
# settings' fold heads (../2026-11-30_levers), mixed per fold with shares chosen on that fold's
# validation split.
#   bash experiments/2026-12-01_accurate_bundles/build.sh [OUT]
# K_SETTINGS / G_SETTINGS: each modulus's heads as SETTING:MODEL:HEADS words (seeds 0..HEADS-1 of
# the setting, in the bundle and in every fold). Defaults: the shipped bundles, K 10
# sevennet_elastic_extra heads (clamped-ion K, pressure and G_V), G 5 of them + 5
# sevennet_kelvin_extra heads (clamped-ion G_V, K_V and Kelvin moduli).
# TARGETS (default "log10_k_vrh log10_g_vrh"): the moduli whose bundle to build.
set -euo pipefail
cd "$(dirname "$0")/../.."
export MODULI_DATA_DIR="${MODULI_DATA_DIR:-$(cd .. && pwd)/shared/data}"
out=${1:-src/moduli/models/bundled}
k_settings=${K_SETTINGS:-sevennet_elastic_extra:sevennet_elastic_mlp:10}
g_settings=${G_SETTINGS:-sevennet_elastic_extra:sevennet_elastic_mlp:5 sevennet_kelvin_extra:sevennet_kelvin_mlp:5}
here=experiments/2026-12-01_accurate_bundles
bundle_heads=experiments/2026-11-30_sevennet_bundles/runs
cgcnn=experiments/2026-11-25_mixed_bundles/runs
folds=experiments/2026-11-25_accuracy/runs
fold_heads=experiments/2026-11-30_levers/runs
.venv/bin/python experiments/2026-11-25_mixed_bundles/restore_cgcnn_members.py d4f16dd
for pair in "k log10_k_vrh recipe_a" "g log10_g_vrh recipe_tl"; do
  set -- $pair
  [[ " ${TARGETS:-log10_k_vrh log10_g_vrh} " == *" $2 "* ]] || continue
  settings=$k_settings; [ "$1" = g ] && settings=$g_settings
  runs=("$cgcnn/$2/recipe_seed0" "$cgcnn/$2/recipe_seed1"); fold_runs=(); command=""
  for seed in 0 1; do fold_runs+=($folds/$2/${3}_fold{0,1,2,3,4}_seed$seed); done
  for word in $settings; do
    IFS=: read -r setting model heads <<< "$word"
    for seed in $(seq 0 $(( heads - 1 ))); do
      runs+=("$bundle_heads/$2/${setting}_bundle_seed$seed")
      fold_runs+=($fold_heads/$2/${setting}_fold{0,1,2,3,4}_seed$seed)
    done
    command+="MODEL=$model TARGETS=$2 SEEDS=\"$(seq -s ' ' 0 $(( heads - 1 )))\" bash experiments/2026-11-30_sevennet_bundles/run_heads.sh $setting 'data.extra_train=[brgoch_new]' && "
  done
  .venv/bin/python -m moduli.train.bundling --name mp-elastic-$1-accurate --out "$out" \
    --runs "${runs[@]}" --folds "${fold_runs[@]}" \
    --command "${command}${1^^}_SETTINGS=\"$settings\" TARGETS=$2 bash $here/build.sh $out  # see $here/README.md"
done
rm -r $cgcnn/*/*/checkpoints  # the restored copies
