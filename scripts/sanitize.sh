#!/usr/bin/env bash
# Builds nmc with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
# and runs the whole test suite under them, the nmc executable included.
# ThreadSanitizer runs separately (scripts/tsan.sh) on a build without TBB.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${NMC_JOBS:-2}"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNMC_MPI=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" >/dev/null
cmake --build build-asan -j "$jobs" --target nmc nmc_tests
# The 17-chip case of tests/e2e/chips_test.cpp (67,500 cores: over a minute
# and 5 GB in a release build) runs in the plain suite only: it exercises the
# code the smaller cases do, at a size that would cost CI several times that
# under the sanitizers.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./build-asan/tests/nmc_tests --no-version \
  --test-case-exclude='chips: a model of more than 16*'
