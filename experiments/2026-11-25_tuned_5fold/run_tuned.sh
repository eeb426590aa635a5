#!/usr/bin/env bash
# The sweep's best settings (experiment=mp_elastic_tuned_g) on mp_elastic, folds 0-4, both
# targets, one run after another on the CPU (as recorded: the 2-core machine, ~10 min a run).
# G first: it is the target the sweep tuned on. PYTHON picks the interpreter (default: the
# project venv); extra arguments go to every run (e.g. trainer=gpu).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
PYTHON=${PYTHON:-.venv/bin/python}
for target in log10_g_vrh log10_k_vrh; do
  for fold in 0 1 2 3 4; do
    $PYTHON train.py experiment=mp_elastic_tuned_g data.target=$target data.fold=$fold \
      logger=csv trainer.enable_progress_bar=false "$@" \
      hydra.run.dir="$here/runs/$target/cgcnn_tuned_fold$fold" > "$here/log_${target}_$fold.txt" 2>&1
    rm -f "$here/runs/$target/cgcnn_tuned_fold$fold/checkpoints/last.ckpt"
  done
done
