#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: unit, integration and e2e tests (ctest
# labels), then the deploy checks (which build and run the container image, and bring the
# compose stack up, when this machine can run a Docker engine). Extra arguments go to ctest,
# e.g. ./tests/run.sh -L unit
# Environment: BUILD_DIR (default build), JOBS (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build="${BUILD_DIR:-build}"
# ccache hits across clones and build directories (CI builds a fresh clone).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
jobs="${JOBS:-$(nproc)}"

./deploy/install-deps.sh --test

JOBS=$jobs ./deploy/build.sh "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOOKRELAY_BUILD_TESTS=ON

# The independent Standard Webhooks verifier the e2e tests run (npm, pinned).
if [[ ! -d "$build/tools/node_modules/standardwebhooks" || ! -d "$build/tools/node_modules/svix" ]]; then
  echo "==> installing npm standardwebhooks@1.1.1 into $build/tools"
  mkdir -p "$build/tools"
  (cd "$build/tools" && npm install --no-audit --no-fund --no-save --loglevel=error \
    standardwebhooks@1.1.1 svix@1.76.1 >/dev/null)
fi

echo "==> running tests"
status=0
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@" || status=$?

if [[ -x tests/fuzz/run.sh && $# -eq 0 ]]; then
  echo "==> fuzzing the template engine and renderers (bounded)"
  tests/fuzz/run.sh "$root/$build" || status=1
fi
if [[ -x tests/deploy/check.sh && $# -eq 0 ]]; then
  echo "==> deploy checks"
  tests/deploy/check.sh "$root/$build" || status=1
fi
if [[ $status -ne 0 ]]; then
  echo "FAILED: see the output above" >&2
fi
exit $status
