#!/usr/bin/env bash
# Installs what nmc needs, builds it and runs the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --python
scripts/build.sh
ctest --test-dir build --output-on-failure -j 2
