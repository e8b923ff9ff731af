#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: unit, integration and e2e tests (ctest
# labels) against a standalone redis-server, the integration and e2e tests again against a
# Redis Cluster of 3 masters × 1 replica (which refuses commands that span hash slots and
# answers MOVED for another master's keys), the worker, queue
# and http suites under ThreadSanitizer, the bounded fuzzers, then the deploy checks (which
# build and run the container image, and bring the compose stack up, when this machine can
# run a Docker engine). Extra arguments go to ctest (only that ctest run then happens), e.g.
#   ./tests/run.sh -L unit
#   ./tests/run.sh --sanitize=thread     unit + integration suites under ThreadSanitizer
#   ./tests/run.sh --sanitize=address    the same under AddressSanitizer + UBSan
# Environment: BUILD_DIR (default build, or build-tsan / build-asan), JOBS (default: number
# of cores), HOOKRELAY_TEST_REDIS=cluster (run the ctest runs against the cluster only;
# cluster1: a single-node cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
sanitize=""
if [[ "${1:-}" == --sanitize=* ]]; then
  sanitize=${1#--sanitize=}
  shift
  [[ "$sanitize" == thread || "$sanitize" == address ]] ||
    { echo "error: --sanitize takes thread or address" >&2; exit 2; }
fi
# ccache hits across clones and build directories (CI builds a fresh clone).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
jobs="${JOBS:-$(nproc)}"

./deploy/install-deps.sh --test

# sanitized_run MODE CTEST_ARGS...: builds the tests with the sanitizer MODE into their own
# directory (only the tests CTEST_ARGS select) and runs them.
sanitized_run() {
  local mode=$1 dir="build-${1:0:1}san"
  shift
  [[ -n "${BUILD_DIR:-}" && -n "$sanitize" ]] && dir=$BUILD_DIR
  echo "==> configuring the ${mode} sanitizer build ($dir)"
  mkdir -p "$dir"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOOKRELAY_BUILD_TESTS=ON \
    -DHOOKRELAY_SANITIZE="$mode" >"$dir/configure.log"
  local targets  # the selected tests' executables: each test is named after its own,
  # but a fuzzer's corpus replay (<name>_fuzz_corpus runs <name>_fuzz_replay)
  targets=$(ctest --test-dir "$dir" -N "$@" | awk '/Test +#/ {print $3}' |
    sed 's/_fuzz_corpus$/_fuzz_replay/')
  JOBS=$jobs ./deploy/build.sh "$dir" -- $targets
  echo "==> running $(echo "$targets" | wc -w) test binaries under the ${mode} sanitizer"
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
  ASAN_OPTIONS="detect_leaks=1 ${ASAN_OPTIONS:-}" UBSAN_OPTIONS="print_stacktrace=1" \
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600 "$@"
}

if [[ -n "$sanitize" ]]; then
  args=("$@")
  [[ ${#args[@]} -eq 0 ]] && args=(-L "unit|integration")
  sanitized_run "$sanitize" "${args[@]}"
  exit $?
fi

build="${BUILD_DIR:-build}"
JOBS=$jobs ./deploy/build.sh "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOOKRELAY_BUILD_TESTS=ON

# The independent Standard Webhooks verifier the e2e tests run (npm, pinned).
if [[ ! -d "$build/tools/node_modules/standardwebhooks" || ! -d "$build/tools/node_modules/svix" ]]; then
  echo "==> installing npm standardwebhooks@1.1.1 into $build/tools"
  mkdir -p "$build/tools"
  (cd "$build/tools" && npm install --no-audit --no-fund --no-save --loglevel=error \
    standardwebhooks@1.1.1 svix@1.76.1 >/dev/null)
fi

status=0
if [[ $# -gt 0 || -n "${HOOKRELAY_TEST_REDIS:-}" ]]; then
  echo "==> running tests${HOOKRELAY_TEST_REDIS:+ (redis: $HOOKRELAY_TEST_REDIS)}"
  ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@" || status=$?
  exit $status
fi

echo "==> running tests (standalone redis-server)"
ctest --test-dir "$build" --output-on-failure -j "$jobs" || status=1
echo "==> running the integration and e2e tests again on a Redis Cluster (3 masters × 1 replica)"
HOOKRELAY_TEST_REDIS=cluster ctest --test-dir "$build" --output-on-failure -j "$jobs" \
  -L "integration|e2e" || status=1
sanitized_run thread -L tsan || status=1

if [[ -x tests/fuzz/run.sh ]]; then
  echo "==> fuzzing the template engine, renderers, escapers and HTTP response parser (bounded)"
  tests/fuzz/run.sh "$root/$build" || status=1
fi
if [[ -x tests/deploy/check.sh ]]; then
  echo "==> deploy checks"
  tests/deploy/check.sh "$root/$build" || status=1
fi
if [[ $status -ne 0 ]]; then
  echo "FAILED: see the output above" >&2
fi
exit $status
