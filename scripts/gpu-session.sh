#!/usr/bin/env bash
# One device-tool call that does the GPU checks of the CUDA backend (issue 4), from the repo root
# on the GPU machine, after scripts/gpu-bundle.sh was run here and artifacts/ carried along:
#   run(command="bash scripts/gpu-session.sh", carry=["artifacts/gpu-bundle.tar.xz"])
# Writes under $OUT (or ./gpu-out): devices.txt, tests.txt (full test log; the totals are the last
# lines), bench/ (interleaved engine vs PyTorch rounds and compare.txt).
set -uo pipefail
out=${OUT:-gpu-out}
mkdir -p "$out"
tar -xJf artifacts/gpu-bundle.tar.xz -C /tmp
b=/tmp/gpu-bundle
export ENGINE_KERNEL_CACHE=/tmp/engine-kernels
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv > "$out/nvidia-smi.txt" 2>&1
"$b/engine" devices > "$out/devices.txt" 2>&1
# The whole suite; the cuda rows run here. (The emu rows need g++ and the kernels-cu sources of the
# working tree; they are skipped with a reason where g++ is missing.)
(cd /tmp && "$b/Engine.Tests" -parallel collections > "$out/tests.txt" 2>&1)
echo "tests: $(tail -3 "$out/tests.txt" | tr -d '\033' | grep -o 'Total: .*' )"
grep -E "^\s*\[FAIL\]" "$out/tests.txt" | head -40
bash bench/gpu/run.sh "$b/engine" "$out/bench" 3 > "$out/bench.txt" 2>&1 || echo "bench failed: see bench.txt"
cat "$out/bench/compare.txt" 2>/dev/null
