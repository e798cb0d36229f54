#!/usr/bin/env bash
# nmc simulate under mpirun: the report of every rank count (1, 2, 3), mode
# (cores, frames) and thread count (1, 2) must equal the single-process
# report in every count, energy and accuracy field, for fmnist_small on one
# chip and on four; a bad program and an unwritable report must fail on
# every rank with exit 1 and one message. Run by ctest when nmc is built
# with MPI (tests/CMakeLists.txt).
# Usage: mpi_reports.sh NMC SOURCE_DIR [FRAMES]
set -euo pipefail
nmc="$1"
src="$2"
frames="${3:-300}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mpi=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
py=python3
command -v "$py" >/dev/null || py=/usr/bin/python3

# The fields of the report that may differ: timings and the distribution itself.
same_report() {  # same_report A B
  "$py" - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
free = {"program", "wall_s", "sim_frames_per_s", "threads", "ranks", "mpi_mode", "per_rank"}
diff = sorted(k for k in set(a) | set(b) if k not in free and a.get(k) != b.get(k))
if diff:
    print("differs in", diff, file=sys.stderr)
    for k in diff[:5]:
        print(f"  {k}: {a.get(k)!r} vs {b.get(k)!r}", file=sys.stderr)
    sys.exit(1)
for k in ("synaptic_events", "spikes", "energy_uj", "accuracy"):
    assert a[k] == b[k]
assert a["reference_agreement"] == 1.0, a["reference_agreement"]
PY
}

"$nmc" compile "$src/models/fmnist_small.onnx" -o "$tmp/one.nmc" > /dev/null
"$nmc" compile "$src/models/fmnist_small.onnx" --chips 4 -o "$tmp/four.nmc" > /dev/null
checked=0
for prog in one four; do
  "$nmc" simulate "$tmp/$prog.nmc" --frames "$frames" --threads 1 --report "$tmp/$prog.single.json" > /dev/null
  for mode in cores frames; do
    for ranks in 1 2 3; do
      for threads in 1 2; do
        out="$tmp/$prog.$mode.$ranks.$threads.json"
        "${mpi[@]}" -n "$ranks" "$nmc" simulate "$tmp/$prog.nmc" --frames "$frames" --threads "$threads" \
          --mpi-mode "$mode" --report "$out" > "$tmp/stdout" 2> "$tmp/stderr" ||
          { echo "FAIL: $prog $mode ranks=$ranks threads=$threads exited $?"; cat "$tmp/stderr"; exit 1; }
        same_report "$out" "$tmp/$prog.single.json" ||
          { echo "FAIL: $prog $mode ranks=$ranks threads=$threads: report differs from one process"; exit 1; }
        "$py" -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['ranks']==$ranks and r['mpi_mode']=='$mode' and len(r['per_rank'])==$ranks, r.get('per_rank')" "$out"
        [ "$(grep -c '^program ' "$tmp/stdout")" -eq 1 ] || { echo "FAIL: the text report is not printed once"; exit 1; }
        checked=$((checked + 1))
      done
    done
  done
done

# Failures: every rank stops, exit 1 (2 for usage), one message.
fails() {  # fails WHAT CODE PATTERN ARGS...
  local what=$1 code=$2 pattern=$3
  shift 3
  local rc=0
  timeout 120 "${mpi[@]}" -n 3 "$nmc" simulate "$@" > /dev/null 2> "$tmp/stderr" || rc=$?
  [ "$rc" -eq "$code" ] || { echo "FAIL: $what: exit $rc, expected $code"; cat "$tmp/stderr"; exit 1; }
  [ "$(grep -c '^nmc: ' "$tmp/stderr")" -eq 1 ] || { echo "FAIL: $what: not one message"; cat "$tmp/stderr"; exit 1; }
  grep -q "$pattern" "$tmp/stderr" || { echo "FAIL: $what: message lacks '$pattern'"; cat "$tmp/stderr"; exit 1; }
  grep -q '  hint: ' "$tmp/stderr" || { echo "FAIL: $what: no hint"; exit 1; }
  checked=$((checked + 1))
}
echo "not a program" > "$tmp/bad.nmc"
fails "bad program" 1 "bad.nmc" "$tmp/bad.nmc" --frames 10
fails "unwritable report" 1 "/nonexistent/r.json" "$tmp/one.nmc" --frames 10 --report /nonexistent/r.json
[ ! -e "$tmp/r.json" ]
fails "spikes over ranks" 2 "spikes" "$tmp/one.nmc" --frames 10 --spikes "$tmp/s.csv"
[ ! -e "$tmp/s.csv" ] || { echo "FAIL: a spike file was left behind"; exit 1; }
echo "$checked passed, 0 failed"
