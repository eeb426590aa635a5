#!/usr/bin/env bash
# Issue 19: the accurate bundles mp-elastic-k-accurate / mp-elastic-g-accurate, beside the default
# ones: the same 2 recipe CGCNN members per modulus (restored from the package at d4f16dd) + the
# heads of one SevenNet setting trained on the bundles' split by
# ../2026-11-30_sevennet_bundles/run_heads.sh (default: sevennet_elastic_extra, the heads that also
# read SevenNet-0's clamped-ion K, pressure and shear modulus), every setting's share chosen on
# validation. Cross-validation: the recipe CGCNN fold runs (../2026-11-25_accuracy, 2 seeds) + the
# same setting's fold heads (../2026-11-30_levers), mixed per fold with shares chosen on that
# fold's validation split.
#   bash experiments/2026-12-01_accurate_bundles/build.sh [OUT [SETTING [MODEL]]]
# HEADS (default 10): how many heads (seeds 0..HEADS-1) of the setting, in the bundle and in every fold;
# TARGETS (default "log10_k_vrh log10_g_vrh"): the moduli whose bundle to build.
set -euo pipefail
cd "$(dirname "$0")/../.."
export MODULI_DATA_DIR="${MODULI_DATA_DIR:-$(cd .. && pwd)/shared/data}"
out=${1:-src/moduli/models/bundled}
setting=${2:-sevennet_elastic_extra}
model=${3:-sevennet_elastic_mlp}
heads=${HEADS:-10}
seeds=$(seq -s, 0 $(( heads - 1 )))
here=experiments/2026-12-01_accurate_bundles
bundle_heads=experiments/2026-11-30_sevennet_bundles/runs
cgcnn=experiments/2026-11-25_mixed_bundles/runs
folds=experiments/2026-11-25_accuracy/runs
fold_heads=experiments/2026-11-30_levers/runs
.venv/bin/python experiments/2026-11-25_mixed_bundles/restore_cgcnn_members.py d4f16dd
for pair in "k log10_k_vrh recipe_a" "g log10_g_vrh recipe_tl"; do
  set -- $pair
  [[ " ${TARGETS:-log10_k_vrh log10_g_vrh} " == *" $2 "* ]] || continue
  .venv/bin/python -m moduli.train.bundling --name mp-elastic-$1-accurate --out "$out" \
    --runs $cgcnn/$2/recipe_seed{0,1} $(eval echo $bundle_heads/$2/${setting}_bundle_seed{$seeds}) \
    --folds $folds/$2/${3}_fold{0,1,2,3,4}_seed{0,1} $(eval echo $fold_heads/$2/${setting}_fold{0,1,2,3,4}_seed{$seeds}) \
    --command "MODEL=$model TARGETS=$2 SEEDS=\"$(seq -s ' ' 0 $(( heads - 1 )))\" bash experiments/2026-11-30_sevennet_bundles/run_heads.sh $setting 'data.extra_train=[brgoch_new]' && HEADS=$heads TARGETS=$2 bash $here/build.sh $out $setting $model  # see $here/README.md"
done
rm -r $cgcnn/*/*/checkpoints  # the restored copies
