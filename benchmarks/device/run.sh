#!/usr/bin/env bash
# The GPU measurements of predicting, in one call of the device tool (one H100 or H200, 16 cores),
# from the repo root there; needs .devcarry (benchmarks/device/carry.sh) carried along. Each part
# has its own timeout, so whatever finished comes back in $OUT even when a later part runs long:
#   env.txt         GPU, driver, torch, the installed stack
#   check.txt       same_on_gpu.py: the GPU's predictions against the CPU's, every bundled pair
#   throughput.txt  benchmarks/predict.py --gpu: fast and default pairs at 10k and 50k structures
#                   (structures/s, GPU busy %, peak host and GPU memory)
#   accurate.txt    the accurate pair at ACCURATE_N structures
#   ddp.txt         the default pair through the DDP path (trainer.strategy=ddp, every GPU)
#   hessian.txt     benchmarks/strain_hessian.py --device cuda
#   stages.txt      stages.py: where each pair's time goes (the profile, if a goal is missed)
# PARTS picks and orders them (default: all, in the order above); SIZES, ACCURATE_N, WORKERS and
# SECONDS_<PART> (a part's timeout) change the sizes. All parts take about 9 minutes at most (install
# 20 s, then 75 + 210 + 90 + 45 + 45 + 45 s of timeouts): call the tool with timeout_s 590. A dry run on a CPU machine, with a Python
# that has the device image's packages: PYTHON=... DRY=1 bash benchmarks/device/run.sh
set -u
python=${PYTHON:-python3}
out=${OUT:-/tmp/device-out}
mkdir -p "$out"
site=/tmp/moduli-site
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore WANDB_MODE=disabled MODULI_DATA_DIR=$PWD/.devcarry/data
export MODULI_CACHE_DIR=/tmp/moduli-cache
# the carried wheels and moduli itself (not editable: the package data must be found) in one folder
rm -rf $site
$python -m pip install -q --no-index --no-deps --no-compile --no-build-isolation --target $site \
  .devcarry/wheels/*.whl . > "$out/env.txt" 2>&1 || { echo "install failed"; cat "$out/env.txt"; exit 1; }
rm -rf build src/*.egg-info
export PYTHONPATH=$site:$PWD/.devcarry/site
workers=${WORKERS:-$(( $(nproc) - 1 ))}
if [ -n "${DRY:-}" ]; then
  accelerator=cpu; gpu_flag=""; check_args=(--accelerator cpu --set features_on=device --n 12); devices=2
  sizes=${SIZES:-300 600}; accurate_n=${ACCURATE_N:-24}; hessian_device=cpu; hessian_n=8; stages_n=64
else
  accelerator=gpu; gpu_flag=--gpu; check_args=(--n 120); devices=-1
  sizes=${SIZES:-10000 50000}; accurate_n=${ACCURATE_N:-1000}; hessian_device=cuda; hessian_n=96; stages_n=768
fi
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  echo "cores $(nproc), workers $workers"
  $python -c "import torch, torch_geometric, lightning, e3nn, sevenn, pymatgen.core, moduli
print('python', __import__('sys').version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available(),
      'pyg', torch_geometric.__version__, 'lightning', lightning.__version__, 'e3nn', e3nn.__version__,
      'sevenn', sevenn.__version__, 'moduli', moduli.__version__)"
} >> "$out/env.txt" 2>&1
part() {  # part NAME DEFAULT_SECONDS COMMAND...: COMMAND's output into $out/NAME.txt, within its timeout
  local name=$1 seconds=$2 limit
  shift 2
  limit=$(eval echo "\${SECONDS_${name^^}:-$seconds}")
  echo "== $name ($limit s at most): $*" | tee "$out/$name.txt"
  local start=$SECONDS
  timeout "$limit" "$@" >> "$out/$name.txt" 2>&1
  echo "== $name: exit $? after $((SECONDS - start)) s" | tee -a "$out/$name.txt"
  grep -v "^==\|^moduli: \|[Ww]arn" "$out/$name.txt" | tail -n 8
}
for name in ${PARTS:-check throughput accurate ddp hessian stages}; do
  case $name in
    check) part check 75 $python benchmarks/device/same_on_gpu.py "${check_args[@]}" --workers "$workers" ;;
    throughput) part throughput 210 $python benchmarks/predict.py $gpu_flag --formats jsonl --sizes $sizes \
        --workers "$workers" --pair mp-elastic-k-fast mp-elastic-g-fast --pair mp-elastic-k mp-elastic-g \
        trainer.accelerator=$accelerator ;;
    accurate) part accurate 90 $python benchmarks/predict.py $gpu_flag --formats jsonl --sizes "$accurate_n" \
        --workers "$workers" --pair mp-elastic-k-accurate mp-elastic-g-accurate trainer.accelerator=$accelerator ;;
    ddp) part ddp 45 $python benchmarks/predict.py $gpu_flag --formats jsonl --sizes "${sizes%% *}" \
        --workers "$workers" --pair mp-elastic-k mp-elastic-g trainer.accelerator=$accelerator \
        trainer.strategy=ddp trainer.devices=$devices ;;
    hessian) part hessian 45 $python benchmarks/strain_hessian.py --device $hessian_device --n $hessian_n \
        --batch 16 48 96 --threads 8 ;;
    stages) part stages 45 $python benchmarks/device/stages.py --device $hessian_device --n $stages_n \
        --models default accurate fast ;;
    *) echo "unknown part $name" ;;
  esac
done
