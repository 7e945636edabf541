#!/usr/bin/env bash
# Installs the Debian packages the test suite needs on a fresh machine. Idempotent.
# Golden values are committed (their generator scripts need python3-torch only to regenerate them,
# see tests/Engine.Tests/Golden/). The CPU benchmark's anchors, which its smoke test
# (tests/Engine.Tests/Bench) checks our kernels against: OpenBLAS (pthread build) and oneDNN.
set -euo pipefail
need=()
for pkg in libopenblas0-pthread libdnnl2; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
# (later issues add: libnvrtc11.2 for compiling CUDA kernels without a GPU)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi
