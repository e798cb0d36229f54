#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (+ ASan/UBSan) in build-fuzz/ and
# runs each for SECONDS (default 60) from the seed corpus in tests/fuzz/corpus/.
# New corpus entries go to a scratch directory, crashes to build-fuzz/crashes/.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (targets: yaml_model onnx program tennlab dn_program)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ "${#targets[@]}" -eq 0 ] && targets=(yaml_model onnx program tennlab dn_program)
command -v clang++-14 >/dev/null || { echo "fuzz.sh: clang++-14 is needed (apt-get install clang-14)" >&2; exit 1; }
CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNMC_FUZZ=ON -DNMC_BUILD_TESTS=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined" >/dev/null
cmake --build build-fuzz -j "${NMC_JOBS:-2}" --target $(printf 'fuzz_%s ' "${targets[@]}")
mkdir -p build-fuzz/crashes
status=0
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  cp tests/fuzz/corpus/"$t"/* "$work"/
  echo "fuzz.sh: $t for ${seconds}s"
  if ! ./build-fuzz/tests/fuzz/fuzz_"$t" "$work" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 \
       -artifact_prefix=build-fuzz/crashes/"$t"- -print_final_stats=1 2>&1 | tail -12; then
    status=1
  fi
  [ "${PIPESTATUS[0]}" -ne 0 ] && status=1
  rm -rf "$work"
done
exit "$status"
