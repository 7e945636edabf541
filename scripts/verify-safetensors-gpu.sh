#!/usr/bin/env bash
# Checks our safetensors files against the real `safetensors` package (with torch), on a machine
# that has both (a GPU machine with a PyTorch install; the CUDA rows of the round-trip tests run
# there too). Prints PASS or FAIL as its last line; exit 0 only on PASS.
#   bash scripts/verify-safetensors-gpu.sh [BUNDLE_DIR]
# BUNDLE_DIR: an unpacked scripts/gpu-bundle.sh bundle (default /tmp/gpu-bundle if it exists);
# without one, the tests are built and run with `dotnet test` from this checkout.
# PYTHON: the interpreter that has torch and safetensors (default: python3 on PATH).
# What runs (tests/Engine.Tests/Checkpoint/SafeTensorsInteropTests, with skips counted as failures):
#   - safetensors.torch.load_file (on cuda when torch sees a GPU) reads a file SafeTensors.Save
#     wrote and must find exactly the values we wrote, and safe_open(...).metadata() our metadata;
#   - safetensors.torch.save_file writes F32/F64/F16/BF16/I64/I32/U8/BOOL tensors and metadata,
#     and SafeTensors.Load (with conversions) must give exactly torch's values;
#   - the numpy reference reader (byte-identical re-serialization) on our file;
# then SafeTensorsWriteTests (round trips on cpu, cuda and, where g++ exists, emu).
set -uo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-$(command -v python3 || true)}
bundle=${1:-}
[ -z "$bundle" ] && [ -x /tmp/gpu-bundle/Engine.Tests ] && bundle=/tmp/gpu-bundle
fail() { echo "$*"; echo "FAIL"; exit 1; }
[ -n "$bundle" ] && { bundle=$(cd "$bundle" && pwd) || fail "no folder $1"; }

[ -n "$py" ] || fail "no python3 on PATH (set PYTHON)"
ref=tests/Engine.Tests/Checkpoint/safetensors_ref.py
[ -n "$bundle" ] && ref="$bundle/Checkpoint/safetensors_ref.py"
"$py" "$ref" check-package || fail "$py has no usable torch + safetensors: this check needs both"
"$py" -c 'import safetensors, torch; print("safetensors", safetensors.__version__, "torch", torch.__version__, "cuda", torch.cuda.is_available())'

export ENGINE_TEST_PYTHON="$py"
log=$(mktemp)
if [ -n "$bundle" ]; then
    (cd /tmp && "$bundle/Engine.Tests" -noColor -failSkips -class Engine.Tests.Checkpoint.SafeTensorsInteropTests) > "$log" 2>&1
    rc_interop=$?
    (cd /tmp && "$bundle/Engine.Tests" -noColor -class Engine.Tests.Checkpoint.SafeTensorsWriteTests) >> "$log" 2>&1
    rc_write=$?
else
    command -v dotnet >/dev/null || fail "neither a test bundle nor dotnet: run scripts/gpu-bundle.sh and pass its unpacked folder"
    dotnet build tests/Engine.Tests -c Release > "$log" 2>&1 || { tail -30 "$log"; fail "build failed"; }
    dotnet test tests/Engine.Tests -c Release --no-build -- --filter-class "Engine.Tests.Checkpoint.SafeTensorsInteropTests" >> "$log" 2>&1
    rc_interop=$?
    grep -qiE "skipped: [1-9]" "$log" && rc_interop=1
    dotnet test tests/Engine.Tests -c Release --no-build -- --filter-class "Engine.Tests.Checkpoint.SafeTensorsWriteTests" >> "$log" 2>&1
    rc_write=$?
fi
grep -E "\[FAIL\]|\[SKIP\]|failed |skipped |SKIP:|FAIL:|Total:|total:|succeeded:|skipped:" "$log"
echo "full log: $log"
[ $rc_interop -eq 0 ] || fail "interop tests failed or were skipped"
[ $rc_write -eq 0 ] || fail "round-trip tests failed"
if "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    grep -E 'row: "cuda"' "$log" | grep -qiE "SKIP|skipped" && fail "the cuda rows were skipped on a machine where torch sees a GPU"
fi
echo "PASS"
