#!/usr/bin/env bash
# Configures and builds nmc in build/ (Release, Ninja, warnings as errors).
# Extra arguments go to cmake's configure step, e.g. -DNMC_BUILD_BENCH=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${NMC_JOBS:-2}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DNMC_WERROR=ON "$@"
cmake --build build -j "$jobs"
