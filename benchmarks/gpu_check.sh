#!/usr/bin/env bash
# One prepared check for a machine with an NVIDIA GPU, no internet and the wheels carried with
# the project; all within 10 minutes:
#   1. install tensorlang[cuda,test] and cupy into a fresh venv from $WHEELS only,
#   2. run the GPU tests (tests marked gpu, the CUDA codegen/kernel/reduction tests, the
#      fake-driver process model),
#   3. tune matmul 4096^3 on the GPU for $TRIALS trials,
#   4. print the benchmark table: tuned SGEMM vs cuBLAS SGEMM (TF32 off, cupy) in one run, a
#      vector add vs device copy bandwidth, and a float16 dense on tensor cores (a fixed
#      topi.cuda.dense_tensorcore config) vs cuBLAS's float16 matmul; then the build time per
#      GPU candidate.
#
#   bash benchmarks/gpu_check.sh                 # WHEELS=shared/wheels TRIALS=48
#   bash benchmarks/gpu_check.sh --dry-run       # no GPU: every step that can run without one, in
#                                                # the current environment (the tests collected,
#                                                # a 2-trial tune on cuda -emulate, the scripts'
#                                                # options), so the real run cannot fail on a typo
#
# Get the wheels beforehand, on a machine with internet (CUDA 13 driver; for a CUDA 12 driver
# use CUDA_MAJOR=12):  bash benchmarks/gpu_check.sh --download
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WHEELS=${WHEELS:-$ROOT/shared/wheels}
TRIALS=${TRIALS:-48}
CUDA_MAJOR=${CUDA_MAJOR:-13}
VENV=${VENV:-/tmp/tensorlang-gpu-venv}
# NVRTC and the CUDA headers it compiles against (cuda_fp16.h, mma.h for tensor cores), as wheels.
# (CUDA 12 ships crt/mma.h in its nvcc wheel.)
if [ "$CUDA_MAJOR" = 12 ]; then CUDA_PKGS=("cuda-python>=12.6,<13" "nvidia-cuda-nvrtc-cu12" "nvidia-cuda-runtime-cu12"
  "nvidia-cuda-cccl-cu12" "nvidia-cuda-nvcc-cu12" "cupy-cuda12x");
else CUDA_PKGS=("cuda-python>=13" "nvidia-cuda-nvrtc" "nvidia-cuda-runtime" "nvidia-cuda-crt" "nvidia-cuda-cccl"
  "cupy-cuda13x"); fi

if [ "${1:-}" = "--download" ]; then
  mkdir -p "$WHEELS"
  python -m pip download -d "$WHEELS" ".[test]" "${CUDA_PKGS[@]}" pip setuptools wheel
  exit $?
fi

start=$(date +%s)
step() { echo; echo "== $1 ($(( $(date +%s) - start )) s)"; }

# The GPU tests (the CUDA codegen, NVRTC, limits, kernels and reductions, the GPU worker and
# records with the fake driver, random template configs against numpy).
GPU_TESTS=(tests/target/cuda tests/topi/test_cuda_dense_tensorcore.py tests/target/test_cuda_kernels.py
           tests/schedule/test_cross_thread_reduction.py tests/schedule/test_gpu_schedules.py tests/autotune/test_gpu_worker.py tests/autotune/test_cuda_records.py
           tests/integration/test_cuda_template_configs.py)

if [ "${1:-}" = "--dry-run" ]; then
  fail=0
  check() { echo "-- $*"; "$@" > /tmp/tensorlang-gpu-dry.out 2>&1 || { tail -20 /tmp/tensorlang-gpu-dry.out; fail=1; }; }
  step "dry run: no GPU needed ($(python -c 'import tensorlang; print(tensorlang.__file__)'))"
  for t in "${GPU_TESTS[@]}"; do [ -e "$t" ] || { echo "missing GPU test path $t"; fail=1; }; done
  check python -m pytest -q --collect-only -p no:cacheprovider "${GPU_TESTS[@]}"
  DRY_LOG=/tmp/tensorlang-gpu-dry.json
  rm -f "$DRY_LOG"
  check timeout 300 tensorlang tune --target="cuda -emulate" examples/matmul.py --trials 2 --tuner xgb --seed 0 \
    --log "$DRY_LOG"
  check tensorlang best "$DRY_LOG"
  check python benchmarks/matmul_cuda.py --help
  check python benchmarks/cuda_emulate_time.py --help
  check timeout 120 python benchmarks/cuda_build_time.py --samples 1
  step "dry run $([ $fail = 0 ] && echo passed || echo FAILED)"
  exit $fail
fi

step "GPU"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi not found"

step "install from $WHEELS (no index)"
python -m venv "$VENV" && . "$VENV/bin/activate" || exit 1
pip install -q --no-index --find-links "$WHEELS" -e ".[test]" "${CUDA_PKGS[@]}" || {
  echo "install failed: are the wheels in $WHEELS? (bash benchmarks/gpu_check.sh --download)"; exit 1; }
python -c "import tensorlang, cuda.bindings.driver, cupy; print('tensorlang', tensorlang.__version__, 'from', tensorlang.__file__)"

step "GPU tests"
timeout 240 python -m pytest -q -p no:cacheprovider "${GPU_TESTS[@]}"
echo "pytest exit $?"

step "tune matmul 4096^3 for $TRIALS trials"
LOG=/tmp/tensorlang-gpu-check.json
rm -f "$LOG"
timeout 300 tensorlang tune --target=cuda examples/matmul.py --trials "$TRIALS" --tuner xgb --seed 0 --log "$LOG"
echo "tune exit $?"
tensorlang best "$LOG"

step "benchmark table"
timeout 120 python benchmarks/matmul_cuda.py --size 4096 --log "$LOG"

step "build time per GPU candidate"
timeout 90 python benchmarks/cuda_build_time.py --samples 12

step "done"
