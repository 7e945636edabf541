#!/usr/bin/env bash
# Interleaved GPU benchmark: ours and PyTorch alternate for ROUNDS rounds (same shapes, same
# timing method), then compare.py prints the ratios. Run on the GPU machine from the repo root:
#   bench/gpu/run.sh PUBLISHED_ENGINE_BINARY OUT_DIR [ROUNDS]
set -euo pipefail
engine=$1; out=$2; rounds=${3:-3}
mkdir -p "$out"
py=${PYTHON:-python3}
for r in $(seq 1 "$rounds"); do
  "$engine" bench gpu --json "$out/engine-$r.json" >/dev/null
  "$py" "$(dirname "$0")/torch_anchor.py" --json "$out/torch-$r.json" >/dev/null
done
"$py" "$(dirname "$0")/compare.py" "$out" | tee "$out/compare.txt"
