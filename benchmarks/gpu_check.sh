#!/usr/bin/env bash
# One prepared check for a machine with an NVIDIA GPU and no internet; all within 10 minutes:
#   1. install tensorlang into a venv over the machine's own Python packages (the device image
#      holds cuda-bindings, NVRTC, cupy, numpy, llvmlite, scikit-learn, pytest, xdist and
#      hypothesis; ../.library/device/KINDS.md) plus the few it lacks, carried as wheels in
#      $WHEELS (xgboost-cpu, jsonschema and its parts: about 7 MB, well within what travels),
#   2. run the GPU tests (tests marked gpu, the CUDA codegen/kernel/reduction tests, the
#      fake-driver process model),
#   3. tune matmul 4096^3 on the GPU for $TRIALS trials,
#   4. print the benchmark table: tuned SGEMM vs cuBLAS SGEMM (TF32 off, cupy) in one run, a
#      vector add vs device copy bandwidth, and a float16 dense on tensor cores (a fixed
#      topi.cuda.dense_tensorcore config) vs cuBLAS's float16 matmul; then the build time per
#      GPU candidate.
#
#   bash benchmarks/gpu_check.sh --download      # here, with the package registry: the wheels the
#                                                # device image lacks, for its Python ($PYVER, 3.12)
#   bash benchmarks/gpu_check.sh                 # there: WHEELS=shared/wheels TRIALS=48
#   bash benchmarks/gpu_check.sh --dry-run       # no GPU: every step that can run without one, in
#                                                # the current environment (the tests collected,
#                                                # a 2-trial tune on cuda -emulate, the scripts'
#                                                # options), so the real run cannot fail on a typo
#
# shared/ is git-ignored and travels with the working tree to the device machine (64 MiB in all).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WHEELS=${WHEELS:-$ROOT/shared/wheels}
TRIALS=${TRIALS:-48}
PYVER=${PYVER:-3.12}
VENV=${VENV:-/tmp/tensorlang-gpu-venv}
# What tensorlang needs that the device image does not hold (pure-Python or manylinux wheels).
MISSING=("xgboost-cpu>=2.0" "jsonschema>=4.18" "jsonschema-specifications" "referencing" "rpds-py")

if [ "${1:-}" = "--download" ]; then
  mkdir -p "$WHEELS"
  python -m pip download --no-deps --only-binary=:all: --python-version "$PYVER" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$WHEELS" "${MISSING[@]}" || exit 1
  du -sh "$WHEELS"
  exit 0
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
  ls "$WHEELS"/xgboost_cpu-*.whl > /dev/null 2>&1 || echo "note: no wheels in $WHEELS yet; before the GPU run: bash $0 --download"
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

step "install: the image's packages, tensorlang and the wheels in $WHEELS (no index)"
python3 -m venv --system-site-packages "$VENV" && . "$VENV/bin/activate" || exit 1
ls "$WHEELS"/*.whl > /dev/null 2>&1 || echo "no wheels in $WHEELS (bash benchmarks/gpu_check.sh --download, here)"
pip install -q --no-index --no-deps "$WHEELS"/*.whl 2>&1 | tail -3
if ! pip install -q --no-index --no-deps --no-build-isolation -e . > /tmp/tensorlang-gpu-install.out 2>&1; then
  # (an image whose setuptools cannot build an editable install): the tree itself, and the command
  # through its entry module
  tail -2 /tmp/tensorlang-gpu-install.out
  echo "pip could not install tensorlang: running it from $ROOT instead"
  export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
  tensorlang() { python "$ROOT/tensorlang_entry.py" "$@"; }
fi
python - <<'PY' || exit 1
import importlib
for name in ("numpy", "llvmlite", "xgboost", "sklearn", "jsonschema", "cuda.bindings.driver", "cupy", "pytest"):
    try:
        m = importlib.import_module(name)
        print(f"  {name} {getattr(m, '__version__', '')}")
    except Exception as exc:  # noqa: BLE001 - report every missing piece, then stop
        raise SystemExit(f"missing on this machine: {name} ({exc}); carry its wheel in shared/wheels")
import tensorlang
print("tensorlang", tensorlang.__version__, "from", tensorlang.__file__)
PY

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
