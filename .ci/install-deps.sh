#!/usr/bin/env bash
# Installs the Debian packages the test suite needs on a fresh machine. Idempotent.
# Golden values are committed (their generator scripts need python3-torch only to regenerate them,
# see tests/Engine.Tests/Golden/). The CPU benchmark's anchors, which its smoke test
# (tests/Engine.Tests/Bench) checks our kernels against: OpenBLAS (pthread build) and oneDNN.
# NVRTC 11.8 (Debian non-free: libnvrtc11.2) compiles every kernels-cu file without a GPU; the
# driver library (libcuda1) and cuBLAS 11 (libcublas11) let the binding tests check every bound
# entry point and the no-device error paths; g++ builds the host emulation of the kernels
# (tests/Engine.Tests/Cuda). No recommends: libcuda1 would pull in the kernel module build.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ] && ! grep -q "non-free" "$src"; then
  # NVRTC lives in Debian's non-free component.
  sed -i 's/^Components: main$/Components: main contrib non-free/' "$src"
  updated=0
fi
need=()
for pkg in libopenblas0-pthread libdnnl2 libnvrtc11.2 libcuda1 libcublas11 g++; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ] || [ "${updated:-1}" -eq 0 ]; then
  apt-get update -qq
fi
if [ ${#need[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
