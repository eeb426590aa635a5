#!/usr/bin/env bash
# Issue 9 ablations: one CGCNN run per (setting, target, fold, seed), on the CPU, one at a time.
#   bash run_ablation.sh SETTING "FOLDS" "SEEDS" [TARGETS]
# e.g. bash run_ablation.sh recipe_a "0 1" "0"
# The CGCNN settings start from the paper settings (experiment=mp_elastic_paper: 3 conv, n_h 2,
# h 128, batch 128, 300 epochs, best val MAE) and change only what their line below says;
# chgnet_mlp is the MLP head on frozen CHGNet features (conf/model/chgnet_mlp.yaml). The
# split is fixed (data.seed=42); `seed` changes initial weights and batch order only.
# A finished run is skipped; an interrupted one resumes from its last.ckpt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
setting=$1; folds=$2; seeds=$3; targets=${4:-"log10_g_vrh log10_k_vrh"}
recipe="model.loss=l1 model.optimizer.name=adamw model.optimizer.weight_decay=0.01 \
model.scheduler={name:warmup_cosine,warmup_epochs:10} model.net.dropout=0.1"
base=experiment=mp_elastic_paper
case $setting in
  paper)      extra="" ;;
  recipe_a)   extra="$recipe" ;;
  recipe_tl)  extra="$recipe model.init_from=cgcnn_formation_energy model.optimizer.pretrained_lr_scale=0.3" ;;
  chgnet_mlp) base=model=chgnet_mlp; extra="" ;;
  chgnet_mlp_wide) base=model=chgnet_mlp; extra="model.net.hidden=512 model.net.n_layers=3 model.net.dropout=0.2" ;;
  chgnet_mlp_long) base=model=chgnet_mlp; extra="trainer.max_epochs=300 callbacks.early_stopping.patience=60 \
model.scheduler={name:warmup_cosine,warmup_epochs:10}" ;;
  chgnet_mlp_l2) base=model=chgnet_mlp; extra="model.optimizer.lr=0.0003 model.optimizer.weight_decay=0.05" ;;
  *) echo "unknown setting $setting" >&2; exit 2 ;;
esac
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} WANDB_MODE=${WANDB_MODE:-disabled}
for seed in $seeds; do
  for fold in $folds; do
    for target in $targets; do
      out="$here/runs/$target/${setting}_fold${fold}_seed${seed}"
      [ -f "$out/metrics.json" ] && continue
      mkdir -p "$(dirname "$out")"
      # shellcheck disable=SC2086
      .venv/bin/python train.py "$base" task_name="$setting" data.target="$target" \
        data.fold="$fold" data.seed=42 seed="$seed" logger=csv trainer.enable_progress_bar=false \
        $extra hydra.run.dir="$out" > "$out.log" 2>&1 || { echo "failed: $out (see $out.log)"; continue; }
      rm -f "$out/checkpoints/last.ckpt"
      echo "$(date -u +%FT%TZ) $setting $target fold $fold seed $seed: $(grep -o '"test/mae": [0-9.]*' "$out/metrics.json")"
    done
  done
done
