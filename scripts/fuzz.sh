#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (+ ASan/UBSan) in build-fuzz/ and
# runs each one over its committed seed corpus (tests/fuzz/corpus/TARGET/) and
# its past crash inputs (tests/fuzz/regressions/TARGET/). New corpus entries go
# to a scratch directory, crashes to build-fuzz/crashes/. Exits 1 if any
# target crashed, leaked, hung or ran out of memory.
#
# Usage: scripts/fuzz.sh [--ci] [SECONDS] [TARGET...]
#   SECONDS  time per target (default 60; --ci: 30)
#   TARGET   names of tests/fuzz/fuzz_TARGET.cpp (default: every one there)
#   --ci     a fixed seed (-seed=1) so a CI failure can be replayed, and a
#            summary line per target; the campaign length is NMC_FUZZ_SECONDS
#            or SECONDS.
# Example campaign: nice -n 19 scripts/fuzz.sh 600 onnx
set -euo pipefail
cd "$(dirname "$0")/.."

ci=0
if [ "${1:-}" = "--ci" ]; then ci=1; shift; fi
seconds="${1:-${NMC_FUZZ_SECONDS:-$([ "$ci" -eq 1 ] && echo 30 || echo 60)}}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  for src in tests/fuzz/fuzz_*.cpp; do
    t=$(basename "$src" .cpp)
    targets+=("${t#fuzz_}")
  done
fi
command -v clang++-14 >/dev/null || { echo "fuzz.sh: clang++-14 is needed (apt-get install clang-14)" >&2; exit 1; }
CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNMC_FUZZ=ON -DNMC_BUILD_TESTS=OFF -DNMC_MPI=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined" >/dev/null
cmake --build build-fuzz -j "${NMC_JOBS:-2}" --target $(printf 'fuzz_%s ' "${targets[@]}")
mkdir -p build-fuzz/crashes

seed_args=()
[ "$ci" -eq 1 ] && seed_args=(-seed=1)
status=0
summary=()
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  inputs=()
  for d in tests/fuzz/corpus/"$t" tests/fuzz/regressions/"$t"; do
    [ -d "$d" ] && inputs+=("$d")
  done
  echo "fuzz.sh: $t for ${seconds}s over ${inputs[*]:-an empty corpus}"
  log="build-fuzz/fuzz_$t.log"
  # The scratch directory comes first: libFuzzer writes new entries only there,
  # never into the committed corpus.
  rc=0
  ./build-fuzz/tests/fuzz/fuzz_"$t" "$work" "${inputs[@]}" "${seed_args[@]}" -max_total_time="$seconds" \
    -rss_limit_mb=4096 -timeout=10 -artifact_prefix=build-fuzz/crashes/"$t"- -print_final_stats=1 \
    >"$log" 2>&1 || rc=$?
  tail -12 "$log"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$rc" -ne 0 ]; then
    status=1
    summary+=("$t: FAILED (exit $rc, see $log and build-fuzz/crashes/$t-*)")
  else
    summary+=("$t: ok, ${runs:-?} runs in ${seconds}s, $(ls "$work" | wc -l) new corpus entries")
  fi
  rm -rf "$work"
done
echo
printf 'fuzz.sh: %s\n' "${summary[@]}"
exit "$status"
