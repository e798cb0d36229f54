#!/usr/bin/env bash
# Installs everything nmc needs on a fresh Debian 12 machine (run as root or
# with sudo available). Safe to run again: apt-get skips what is present.
#
#   scripts/setup.sh           build + runtime dependencies and Fashion-MNIST
#   scripts/setup.sh --python  also PyTorch/ONNX/numpy for training and export,
#                              and Brian2 for the peer benchmark
set -euo pipefail

want_python=0
for arg in "$@"; do
  case "$arg" in
    --python) want_python=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup.sh: run as root or install sudo" >&2; exit 1; }
  sudo_cmd=(sudo)
fi

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost-graph-dev libeigen3-dev libtbb-dev libyaml-cpp-dev libfmt-dev
  doctest-dev libcli11-dev nlohmann-json3-dev zlib1g-dev libbenchmark-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  libopenmpi-dev openmpi-bin
  clang-14 libclang-rt-14-dev
  dataset-fashion-mnist
)
if [ "$want_python" -eq 1 ]; then
  packages+=(python3 python3-numpy python3-torch python3-onnx python3-yaml python3-brian)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup.sh: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
