#!/usr/bin/env bash
# Issue 19, lever 5 on one GPU machine (the device tool): SevenNet graphs of every structure, then
# 12 fine-tuning runs side by side (folds 0-4 and the bundles' split, two body learning rates),
# each within BUDGET seconds of training. Needs .devcarry/site (sevenn 0.13.0 with SevenNet-0's
# checkpoint, ase 3.29.0, e3nn 0.6.0, braceexpand) and .devcarry/data.npz (export.py); writes
# $OUT/results.tar.gz (predictions, histories, logs) and the bundle runs' weights. One tar because
# the device tool brings back only a few files from $OUT (a run that wrote its ~20 files straight
# into $OUT lost all but 8 of them); every training has its own timeout, so the tar is written
# before the call's limit if the call's timeout is BUDGET + ~160 s.
#   bash experiments/2026-11-30_finetune/device.sh        # on the GPU machine, from the repo root
# (EXTRA: more finetune.py train options, e.g. "--limit 16 --epochs 2 --device cpu" for a dry run here;
#  SETTINGS: "name options|name options", RUNS: "fold0 ... bundle", PEEK: seconds to the nvidia-smi snapshot)
set -u
here=experiments/2026-11-30_finetune
export PYTHONPATH=$PWD/.devcarry/site PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 PYTHONWARNINGS=ignore
budget=${BUDGET:-380}
res=/tmp/results
mkdir -p $res
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c "import torch, e3nn, sevenn, torch_geometric as g; print('torch', torch.__version__, 'e3nn', e3nn.__version__, 'sevenn', sevenn.__version__, 'pyg', g.__version__, 'cuda', torch.cuda.is_available())"
} 2>&1 | tee $res/env.txt
python3 $here/finetune.py graphs .devcarry/data.npz /tmp/graphs.pt --workers 16 2>&1 | tee $res/graphs.log
[ -f /tmp/graphs.pt ] || { tar czf "$OUT/results.tar.gz" -C $res .; exit 1; }
IFS='|' read -ra settings <<< "${SETTINGS:-a --lr-body 1e-4 --seed 0|b --lr-body 3e-4 --seed 1}"
for setting in "${settings[@]}"; do
  set -- $setting
  name=$1
  shift
  for run in ${RUNS:-fold0 fold1 fold2 fold3 fold4 bundle}; do
    save=""
    [ $run = bundle ] && save=--save
    timeout $((budget + 100)) python3 $here/finetune.py train .devcarry/data.npz /tmp/graphs.pt $run $res/$name \
      --budget-s $budget $save "$@" ${EXTRA:-} > $res/${name}_$run.log 2>&1 &
  done
done
sleep ${PEEK:-120}
nvidia-smi >> $res/env.txt 2>&1
wait
for f in $res/*/bundle_*.pt; do [ -f "$f" ] && cp "$f" "$OUT/$(basename "$(dirname "$f")")_$(basename "$f")"; done
tar czf "$OUT/results.tar.gz" -C $res --exclude='*.pt' .
tail -n 3 $res/*.log
