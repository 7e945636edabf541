#!/usr/bin/env bash
# Installs the Debian packages the test suite needs on a fresh machine. Idempotent.
# Nothing yet beyond the .NET SDK: golden values are committed (their generator scripts need
# python3-torch only to regenerate them, see tests/Engine.Tests/Golden/).
set -euo pipefail
need=()
# (later issues add: libnvrtc11.2 for compiling CUDA kernels without a GPU)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi
