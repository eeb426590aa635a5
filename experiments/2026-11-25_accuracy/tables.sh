#!/usr/bin/env bash
# The ablation tables of this record (summary.md, folds 0-1): the paper-setting seed-0 runs of the
# 5-fold record, every fold-0/1 run here, ensembles per setting and fold, and the CHGNet-head /
# CGCNN mixtures. The 5-fold table is final.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
five=experiments/2026-11-24_mp_elastic_5fold/runs
.venv/bin/python -m moduli.analysis.folds \
  $five/log10_g_vrh/cgcnn_fold{0,1} $five/log10_k_vrh/cgcnn_fold{0,1} \
  $five/log10_g_vrh/xgb_fold{0,1} $five/log10_k_vrh/xgb_fold{0,1} \
  "$here"/runs/*/*_fold[01]_seed*/ --mix chgnet_mlp mp_elastic_paper --mix chgnet_mlp recipe_a --mix chgnet_mlp recipe_tl --out "$here/summary.md"
