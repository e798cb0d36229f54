#!/usr/bin/env bash
# Builds the benchmarks, runs every section in one go and rewrites
# bench/RESULTS.md and bench/results.json from that run (bench/render_results.py).
# Usage: bench/run.sh [--quick]
#   --quick   small sizes, for CI (under 2 minutes): every section runs and every
#             check is made (Brian2's spike counts must equal nmc's), no timing
#             is asserted, and RESULTS.md is left alone.
# Each section is one function writing its JSON into $work; add a section by
# writing a function and calling it in the list at the bottom.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
  *) echo "bench/run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac
python=/usr/bin/python3
started=$(date +%s)

scripts/build.sh -DNMC_BUILD_BENCH=ON >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: > "$work/commands.tsv"
: > "$work/skipped.tsv"

# record SECTION OUTFILE CMD...: runs CMD (stdout to OUTFILE and to stderr for
# progress) and notes the command line for RESULTS.md.
record() {
  local section=$1 out=$2
  shift 2
  printf '%s\t%s\n' "$section" "$(echo "$*" | sed "s|$work|\$TMP|g")" >> "$work/commands.tsv"
  "$@" | tee "$out" >&2
}
skip() { printf '%s\t%s\n' "$1" "$2" >> "$work/skipped.tsv"; echo "bench/run.sh: $1 skipped: $2" >&2; }
have_python_module() { "$python" -c "import $1" >/dev/null 2>&1; }

section_kernels() {
  if [ "$quick" -eq 1 ]; then
    record kernels "$work/kernels.log" ./build/bench/nmc_bench_kernels --benchmark_min_time=0.01 \
      --benchmark_out="$work/kernels.json" --benchmark_out_format=json
    record reference "$work/reference.log" ./build/bench/nmc_bench_reference --benchmark_filter=one_frame \
      --benchmark_min_time=0.05 --benchmark_out="$work/reference.json" --benchmark_out_format=json
  else
    record kernels "$work/kernels.log" ./build/bench/nmc_bench_kernels \
      --benchmark_out="$work/kernels.json" --benchmark_out_format=json
    record reference "$work/reference.log" ./build/bench/nmc_bench_reference \
      --benchmark_out="$work/reference.json" --benchmark_out_format=json
  fi
}

section_pipeline() {
  local frames=10000
  [ "$quick" -eq 1 ] && frames=200
  record pipeline "$work/pipeline.jsonl" ./build/bench/nmc_bench_pipeline --frames "$frames"
}

# Synthetic full-chip networks; also writes each network and nmc's spike
# counts of its first $brian2_ticks ticks for the Brian2 section.
brian2_ticks=100
section_synthetic() {
  if [ "$quick" -eq 1 ]; then
    brian2_ticks=30
    record synthetic "$work/synthetic.jsonl" ./build/bench/nmc_bench_synthetic --cores 64 --ticks 50 \
      --activity 10 --threads 1,2 --export "$work/synthetic" --check-ticks "$brian2_ticks"
  else
    record synthetic "$work/synthetic.jsonl" ./build/bench/nmc_bench_synthetic --cores 4096 --ticks 300 \
      --activity 5,10,20 --threads 1,2 --export "$work/synthetic" --check-ticks "$brian2_ticks"
  fi
}

# Brian2 runs the same networks (nmc export brian2) in C++ standalone mode on
# 2 OpenMP threads; the script exits 1 unless every neuron's spike count
# equals nmc's, which fails this run.
section_brian2() {
  if ! have_python_module brian2; then
    skip brian2 "Brian2 is not installed (apt-get install python3-brian, or scripts/setup.sh --python)"
    return
  fi
  : > "$work/brian2.jsonl"
  local dir
  for dir in "$work"/synthetic/act*; do
    record brian2 "$dir/export.log" ./build/cli/nmc export brian2 "$dir/program.nmc" -o "$dir/brian2"
    record brian2 "$dir/brian2.log" "$python" "$dir/brian2/run_brian2.py" --device cpp_standalone --threads 2 \
      --ticks "$brian2_ticks" --build-dir "$dir/build" --expect "$dir/nmc_counts.npy" --json "$dir/brian2.json"
    "$python" -c 'import json,sys; r=json.load(open(sys.argv[1])); r["network"]=sys.argv[2]; print(json.dumps(r))' \
      "$dir/brian2.json" "$(basename "$dir")" >> "$work/brian2.jsonl"
  done
}

section_pytorch() {
  if ! have_python_module torch || ! have_python_module onnx; then
    skip pytorch "PyTorch or ONNX for Python is not installed (scripts/setup.sh --python)"
    return
  fi
  local frames=5000
  [ "$quick" -eq 1 ] && frames=512
  record pytorch "$work/pytorch.jsonl" "$python" bench/torch_bench.py --frames "$frames" --threads 2 --batch 256 \
    models/fmnist_small.onnx models/fmnist_1chip.onnx
}

# The DANNA-style grid simulator on a synthetic program configuring every element,
# then on a compiled one (grid_fmnist laid out in stripes).
section_grid() {
  local cycles=20000
  if [ "$quick" -eq 1 ]; then
    record grid "$work/grid.jsonl" ./build/bench/nmc_bench_grid --size 100 --cycles 200
    cycles=500
  else
    record grid "$work/grid.jsonl" ./build/bench/nmc_bench_grid
  fi
  record grid_program /dev/null ./build/cli/nmc compile examples/grid_fmnist.yaml --target danna --layout stripes \
    --tiles 2x12 -o "$work/grid_fmnist.dn"
  record grid_program "$work/grid_program.jsonl" ./build/bench/nmc_bench_grid --program "$work/grid_fmnist.dn" \
    --cycles "$cycles"
}

# Distributed simulation: MPI ranks beside TBB threads on the same cores, for
# the one-chip model (nmc simulate, reference check included, both modes) and
# a 16-chip synthetic board (nmc_bench_distributed, cores mode). Spike and
# event totals must be equal across every row of a table (render checks).
section_mpi() {
  if ! command -v mpirun >/dev/null || ! grep -q '^NMC_MPI:BOOL=ON' build/CMakeCache.txt; then
    skip mpi "nmc is built without MPI or mpirun is missing (scripts/setup.sh installs OpenMPI)"
    return
  fi
  local mpi=(mpirun --oversubscribe --bind-to none)
  [ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
  local frames=10000 chips=16 ticks=30
  [ "$quick" -eq 1 ] && frames=200 chips=2 ticks=5
  record mpi /dev/null ./build/cli/nmc compile models/fmnist_1chip.onnx -o "$work/chip.nmc"
  local p="$work/chip.nmc" t=bench/timed_json.py
  : > "$work/mpi_model.jsonl"
  record mpi "$work/mpi_model.1" "$python" "$t" threads=1 -- ./build/cli/nmc simulate "$p" --frames "$frames" --threads 1 --json
  record mpi "$work/mpi_model.2" "$python" "$t" threads=2 -- ./build/cli/nmc simulate "$p" --frames "$frames" --threads 2 --json
  record mpi "$work/mpi_model.2c" "$python" "$t" threads=2,cores -- ./build/cli/nmc simulate "$p" --frames "$frames" --threads 2 --thread-mode cores --json
  record mpi "$work/mpi_model.3" "$python" "$t" ranks=1,frames -- "${mpi[@]}" -n 1 ./build/cli/nmc simulate "$p" --frames "$frames" --threads 1 --mpi-mode frames --json
  record mpi "$work/mpi_model.4" "$python" "$t" ranks=2,frames -- "${mpi[@]}" -n 2 ./build/cli/nmc simulate "$p" --frames "$frames" --threads 1 --mpi-mode frames --json
  record mpi "$work/mpi_model.5" "$python" "$t" ranks=2,cores -- "${mpi[@]}" -n 2 ./build/cli/nmc simulate "$p" --frames "$frames" --threads 1 --mpi-mode cores --json
  cat "$work"/mpi_model.1 "$work"/mpi_model.2 "$work"/mpi_model.2c "$work"/mpi_model.[3-9] > "$work/mpi_model.jsonl"
  local b=./build/bench/nmc_bench_distributed
  record mpi "$work/mpi_board.1" "$b" --chips "$chips" --ticks "$ticks" --threads 1
  record mpi "$work/mpi_board.2" "$b" --chips "$chips" --ticks "$ticks" --threads 2
  record mpi "$work/mpi_board.3" "${mpi[@]}" -n 1 "$b" --chips "$chips" --ticks "$ticks" --threads 1
  record mpi "$work/mpi_board.4" "${mpi[@]}" -n 2 "$b" --chips "$chips" --ticks "$ticks" --threads 1
  cat "$work"/mpi_board.[0-9] > "$work/mpi_board.jsonl"
}

# How cost grows with chips: the synthetic one-chip network made wider
# (bench/growth_bench.cpp: 1, 6, 24 and 97 times, which fill 1, 4, 16 and 64
# chips), compiled for the fewest chips it fits and simulated at 1 and 2 threads.
section_growth() {
  local scales="1 6 24 97" frames=12
  [ "$quick" -eq 1 ] && scales="1 2" frames=3
  : > "$work/growth.jsonl"
  for k in $scales; do
    record growth "$work/growth.$k" ./build/bench/nmc_bench_growth --scale "$k" --frames "$frames" --threads 1,2
    cat "$work/growth.$k" >> "$work/growth.jsonl"
  done
}

section_kernels
section_pipeline
section_synthetic
section_brian2
section_pytorch
section_grid
section_mpi
section_growth

elapsed=$(( $(date +%s) - started ))
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
out_md=bench/RESULTS.md out_json=bench/results.json
[ "$quick" -eq 1 ] && out_md="$work/RESULTS.md" out_json="$work/results.json"  # rendered, then dropped
"$python" bench/render_results.py "$work" --cpu "$cpu" --cores "$(nproc)" --elapsed-s "$elapsed" \
  --markdown "$out_md" --json "$out_json"
if ! grep -q '^# Hand-run comparisons' "$out_md"; then
  echo "bench/run.sh: $out_md lacks the hand-run comparisons of bench/manual_results.md" >&2
  exit 1
fi
if [ "$quick" -eq 1 ]; then
  echo "bench/run.sh --quick: every section ran and rendered in ${elapsed} s (Brian2 spike counts checked unless skipped)"
else
  echo "bench/run.sh: wrote bench/RESULTS.md and bench/results.json (${elapsed} s)"
fi
