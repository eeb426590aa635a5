#!/usr/bin/env bash
# CGCNN (paper settings) on mp_elastic, folds 0-4, both targets: the 10 runs in parallel on one
# GPU (as recorded: an H100 with 16 CPU cores; OMP_NUM_THREADS=1 per run). On a CPU, drop
# trainer=gpu and run them one after another (about 13 min each on 2 cores).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
export OMP_NUM_THREADS=1
for target in log10_g_vrh log10_k_vrh; do
  for fold in 0 1 2 3 4; do
    .venv/bin/python train.py experiment=mp_elastic_paper trainer=gpu data.target=$target \
      data.fold=$fold logger=csv trainer.enable_progress_bar=false \
      hydra.run.dir="$here/runs/$target/cgcnn_fold$fold" &
  done
done
wait
rm -f "$here"/runs/*/cgcnn_fold*/checkpoints/last.ckpt
