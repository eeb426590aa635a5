#!/usr/bin/env bash
# Every fold table of every record, made again from what the tree holds (run dirs or a record's
# evidence/), each written where its record keeps it: `git diff --stat experiments/` afterwards
# shows any table that changed. About 5 minutes on 2 cores.
#   bash experiments/2026-12-08_records/tables.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
py=${PYTHON:-.venv/bin/python}
e=experiments
ten="0 1 2 3 4 5 6 7 8 9"
five="0 1 2 3 4"
$py -m moduli.analysis.folds $e/2026-11-24_mp_elastic_5fold/runs --out $e/2026-11-24_mp_elastic_5fold/summary.md > /dev/null
$py -m moduli.analysis.folds $e/2026-11-24_mp_elastic_5fold/runs/'*'/'cgcnn_fold*' $e/2026-11-25_tuned_5fold/runs \
  --out $e/2026-11-25_tuned_5fold/summary.md > /dev/null
bash $e/2026-11-25_accuracy/final.sh > /dev/null
bash $e/2026-11-25_accuracy/final.sh "0 1" > /dev/null
bash $e/2026-11-25_accuracy/tables.sh > /dev/null
bash $e/2026-11-30_invariance/tables.sh > /dev/null
bash $e/2026-11-30_sevennet/tables.sh > /dev/null
bash $e/2026-11-30_sevennet/tables.sh "$five" > /dev/null
bash $e/2026-11-30_levers/tables.sh "0 1" sevennet_extra chgnet_sevennet_mlp sevennet_meanstd_mlp sevennet_extra_wide sevennet_stiffness_extra > /dev/null
bash $e/2026-11-30_levers/tables.sh "$five" sevennet_extra sevennet_stiffness_extra > /dev/null
SEEDS="$ten" OUT=$e/2026-11-30_levers/folds_10seeds.md bash $e/2026-11-30_levers/tables.sh "$five" sevennet_extra > /dev/null
ft=$e/2026-11-30_finetune
bash $ft/tables.sh > /dev/null
SEEDS="$ten" OUT=$ft/folds_10heads.md bash $ft/tables.sh > /dev/null
SEEDS="$ten" FT="a b c e" OUT=$ft/folds_10heads_4ft.md bash $ft/tables.sh > /dev/null
SEEDS="$ten" STIFF_SEEDS="$ten" FT="a b c e" OUT=$ft/folds_10heads_10stiff_4ft.md bash $ft/tables.sh > /dev/null
SEEDS="$ten" STIFF_SEEDS="$ten" ELASTIC_SEEDS="$five" FT="a b c e" OUT=$ft/folds_10heads_10stiff_5elastic_4ft.md bash $ft/tables.sh > /dev/null
SEEDS="$ten" STIFF_SEEDS="$ten" ELASTIC_SEEDS="$ten" FT="a b c e" OUT=$ft/folds_10heads_10stiff_10elastic_4ft.md bash $ft/tables.sh > /dev/null
SEEDS="$ten" STIFF_SEEDS="$ten" ELASTIC_SEEDS="$five" KELVIN_SEEDS="$five" FT="a b c e" \
  OUT=$ft/folds_10heads_10stiff_5elastic_5kelvin_4ft.md bash $ft/tables.sh > /dev/null
SEEDS="$ten" STIFF_SEEDS="$ten" ELASTIC_SEEDS="$ten" KELVIN_SEEDS="$ten" FT="a b c e" \
  OUT=$ft/folds_10heads_10stiff_10elastic_10kelvin_4ft.md bash $ft/tables.sh > /dev/null
