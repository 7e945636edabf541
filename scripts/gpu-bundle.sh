#!/usr/bin/env bash
# Builds what a GPU machine without the .NET SDK needs, as one archive under the device tool's
# 64 MiB carry limit: the test runner and the `engine` CLI published self-contained into one
# folder (they share the runtime files), plus the kernels and bench scripts, xz-compressed.
#   scripts/gpu-bundle.sh            -> artifacts/gpu-bundle.tar.xz
# On the GPU machine:  tar -xJf artifacts/gpu-bundle.tar.xz -C /tmp && /tmp/gpu-bundle/Engine.Tests
#                      /tmp/gpu-bundle/engine devices
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/gpu-bundle
rm -rf "$out" && mkdir -p "$out"
dotnet publish tests/Engine.Tests -c Release -r linux-x64 --self-contained -o "$out" -p:DebugType=none >/dev/null
dotnet publish src/Cli -c Release -r linux-x64 --self-contained -o "$out" -p:DebugType=none >/dev/null
cp -r bench/gpu "$out/bench-gpu"
tar -C artifacts -cJf artifacts/gpu-bundle.tar.xz gpu-bundle
ls -la artifacts/gpu-bundle.tar.xz
