#!/usr/bin/env bash
# Builds nmc with ThreadSanitizer (GCC's, build-tsan/) and runs the
# threaded tests under it: the worker team, determinism across 1-4 threads
# (tick loop, spike exchange, parallel reference pass), and the nmc
# executable simulating on several threads.
#
# The build uses the std::thread backend of runtime/parallel.hpp
# (-DNMC_PARALLEL_BACKEND=std): Debian's libtbb is not instrumented, so TSan
# cannot see TBB's hand-overs and would report every task as a race. The
# backend is the only difference; the tick loop, the exchange and the
# per-worker buffers are the same code the TBB build runs.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${NMC_JOBS:-2}"
# GCC rather than clang-14: clang 14 cannot compile some of the tests (lambdas
# capturing structured bindings, C++20 that arrived in clang 16).
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNMC_PARALLEL_BACKEND=std -DNMC_MPI=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" >/dev/null
cmake --build build-tsan -j "$jobs" --target nmc nmc_thread_tests
# halt_on_error: the first race fails the run (exit 66), in the test binary and
# in every nmc it starts.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
tests='parallel:*,e2e: threads:*,e2e: random networks*,e2e: the vectorised kernels*,distributed:*'
./build-tsan/tests/nmc_thread_tests --no-version --test-case="$tests"
