#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (-fsanitize=fuzzer,address,undefined)
# and runs each for a bounded time, in parallel, starting from the seed corpus in
# tests/fuzz/corpus/<target>. Exits non-zero on a crash, a sanitizer report, a timeout
# (one input taking over 10 s) or a leak; the reproducer is left in <work>/artifacts/.
#
# Usage: tests/fuzz/run.sh [BUILD_DIR]      (default: build; work dir BUILD_DIR/fuzz)
# Environment: FUZZ_SECONDS per target (default 30), CXX_FUZZ (default clang++).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
build="${1:-${BUILD_DIR:-build}}"
[[ "$build" = /* ]] || build="$root/$build"
work="$build/fuzz"
seconds="${FUZZ_SECONDS:-30}"
cxx="${CXX_FUZZ:-clang++}"
targets=(template render url_template escape response_parser)

if ! command -v "$cxx" >/dev/null; then
  echo "error: $cxx not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
launcher=()
if command -v ccache >/dev/null; then launcher=(ccache); fi
mkdir -p "$work/gen" "$work/obj" "$work/artifacts"

echo "==> fuzz: generating protos"
protoc --proto_path="$root/proto" --cpp_out="$work/gen" hookrelay/v1/resources.proto

flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
       -fno-sanitize-recover=undefined -I"$root" -I"$work/gen" -w)
sources=("$work/gen/hookrelay/v1/resources.pb.cc" "$root"/libs/render/*.cc "$root/libs/core/json_text.cc"
         "$root/libs/http/response_parser.cc")
for t in "${targets[@]}"; do sources+=("$root/tests/fuzz/${t}_fuzzer.cc"); done

rm -f "$work"/obj/*.o
echo "==> fuzz: compiling ${#sources[@]} files with $("$cxx" --version | head -1)"
compile() {  # source → object named after its path
  local obj="$work/obj/$(echo "${1#"$root"/}" | tr '/' '_').o"
  # shellcheck disable=SC2086
  $launcher_str "$cxx" $flags_str -c "$1" -o "$obj"
}
export -f compile
export root work cxx flags_str="${flags[*]}" launcher_str="${launcher[*]}"
printf '%s\0' "${sources[@]}" | xargs -0 -P 2 -I{} bash -c 'compile "$1"' _ {}

libs=$(pkg-config --libs absl_statusor absl_strings absl_str_format absl_time protobuf)
common=()
for obj in "$work"/obj/*.o; do
  [[ "$obj" == *_fuzzer.cc.o ]] || common+=("$obj")
done
for t in "${targets[@]}"; do
  # shellcheck disable=SC2086
  "$cxx" -fsanitize=fuzzer,address,undefined "${common[@]}" \
    "$work/obj/tests_fuzz_${t}_fuzzer.cc.o" $libs -o "$work/${t}_fuzzer"
done

echo "==> fuzz: running ${targets[*]} for ${seconds}s each"
status=0
run_pids=()
for t in "${targets[@]}"; do
  mkdir -p "$work/corpus/$t"
  cp -n "$root/tests/fuzz/corpus/$t"/* "$work/corpus/$t/" 2>/dev/null || true
  dict=()
  if [[ -f "$root/tests/fuzz/$t.dict" ]]; then dict=(-dict="$root/tests/fuzz/$t.dict"); fi
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$work/${t}_fuzzer" "$work/corpus/$t" "${dict[@]}" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/${t}-" >"$work/$t.log" 2>&1 &
  run_pids+=($!)
done
for i in "${!targets[@]}"; do
  t=${targets[$i]}
  if wait "${run_pids[$i]}"; then
    execs=$(grep -oE 'number_of_executed_units: *[0-9]+' "$work/$t.log" | grep -o '[0-9]*$' || true)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+' "$work/$t.log" | tail -1 || true)
    slowest=$(grep -oE 'slowest_unit_time_sec: *[0-9]+' "$work/$t.log" | grep -o '[0-9]*$' || true)
    echo "fuzz $t: ok, ${execs:-?} executions in ${seconds}s (${cov:-no coverage line}," \
      "slowest input ${slowest:-?}s)"
  else
    status=1
    echo "fuzz $t: FAILED; log $work/$t.log, reproducer in $work/artifacts/" >&2
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$work/$t.log" | head -20 >&2 || true
  fi
done
exit $status
