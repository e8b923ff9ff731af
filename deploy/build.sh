#!/usr/bin/env bash
# Configures and builds hookrelay with CMake + Ninja, showing progress instead of a silent
# wait: ninja's [n/N] with a percentage (one line that updates on a terminal, a line per 10 %
# otherwise), the full output kept in BUILD_DIR/build.log, and the errors shown on failure.
#   usage: deploy/build.sh BUILD_DIR [cmake -D options...] [-- ninja targets...]
#   env:   JOBS (default: number of cores)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: deploy/build.sh BUILD_DIR [cmake options...] [-- targets...]}
shift
cmake_args=()
while [[ $# -gt 0 && "$1" != "--" ]]; do cmake_args+=("$1"); shift; done
[[ "${1:-}" == "--" ]] && shift
targets=("$@")
jobs=${JOBS:-$(nproc)}
# ccache hits across clones and build directories (CI builds a fresh clone).
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true

echo "==> configuring $build (cmake -G Ninja${cmake_args[*]:+ ${cmake_args[*]}})"
mkdir -p "$build"
if ! cmake -S . -B "$build" -G Ninja "${cmake_args[@]}" >"$build/configure.log" 2>&1; then
  tail -n 30 "$build/configure.log" >&2
  echo "error: cmake failed; full log in $build/configure.log" >&2
  exit 1
fi
echo "==> building ${targets[*]:-everything} on $jobs cores (ccache: $(command -v ccache >/dev/null && echo on || echo off); log: $build/build.log)"
tty=false
# mawk (Debian's default awk) reads a pipe in blocks unless told to go line by line.
awk_lines=()
awk -W version 2>&1 | grep -q mawk && awk_lines=(-W interactive)
[[ -t 1 ]] && tty=true
start=$SECONDS
set +e
ninja -C "$build" -j "$jobs" "${targets[@]}" 2>&1 | tee "$build/build.log" |
  awk "${awk_lines[@]}" -v tty="$tty" -v start="$(date +%s)" '
    BEGIN { last = -1 }
    match($0, /^\[[0-9]+\/[0-9]+\]/) {
      split(substr($0, 2, RLENGTH - 2), nn, "/")
      pct = int(nn[1] * 100 / nn[2])
      what = substr($0, RLENGTH + 2)
      sub(/^Building CXX object /, "compiling ", what); sub(/^Linking CXX /, "linking ", what)
      if (tty == "true") { printf "\r\033[K    [%d/%d] %3d %%  %s", nn[1], nn[2], pct, substr(what, 1, 70); fflush() }
      else if (int(pct / 10) != last || nn[1] == nn[2]) {
        last = int(pct / 10)
        printf "    [%d/%d] %3d %%  %ds  %s\n", nn[1], nn[2], pct, systime() - start, substr(what, 1, 80); fflush()
      }
    }
    END { if (tty == "true") printf "\n" }'
status=${PIPESTATUS[0]}
set -e
if [[ $status -ne 0 ]]; then
  grep -E -A5 'error|FAILED' "$build/build.log" | head -80 >&2
  echo "error: build failed; full log in $build/build.log" >&2
  exit 1
fi
echo "==> built in $((SECONDS - start)) s"
