#!/usr/bin/env bash
# hookrelay benchmark harness (issue 8): hookrelay's figures as ratios to this machine's
# limits, all measured in the same run, on loopback.
#
#   ./tests/bench/run.sh            full run: each figure the median of 3 runs (< 15 min)
#   ./tests/bench/run.sh --quick    one short run of each (smoke check)
#   options: --build-dir DIR (default build/bench-release), --out DIR (default build/bench),
#            --no-build (use the binaries already in --build-dir),
#            --only STEPS (comma-separated subset of limits,drain,publish,e2e,fanout,control,
#            instructions; or
#            latency: only step 4's publish → delivered latency at 1,000/s),
#            --perf (record each worker and registry with `perf record -g` into --out/perf/),
#            --workers N (delivery-workers for the drain and end-to-end steps, default 1),
#            --shards S (the services' --shards, default 16; every event is one tenant's)
#
# Steps: 1 limits (wrk → receiver, redis-benchmark XADD; wrk and XADD -P1 again at the end),
# 2 drain of a pre-filled stream, 3 gRPC publish, 4 end to end (one PublishEvent per event;
# then the highest rate again with PublishEvents of 10), 5 fan-out, 1M backlog,
# memory, 7 delivery control (ordered over 1,000 keys, rate-limited: rate and Redis cost). Ratios are paired: each sample over the limit measured just before it (wrk before
# each drain and around the hold, XADD -P1 before each publish run, a 200k drain before the
# 1M one); *_run keys divide by the median of both ends' limits. Writes results.json and
# results.md (the Markdown table, also printed) into --out. Exits non-zero only when the
# harness itself fails; a missed target is reported in the table, not as a failure.
#
# The receiver is tests/bench/receiver.cc (204 to every POST, keep-alive): wrk, the worker
# and the end-to-end runs all hit it. It counts deliveries and measures publish-to-delivered
# latency from the send time publish_load stamps into each event's payload (same clock, 10 µs
# resolution), so latency is what a subscriber sees from the moment the caller published.
# nginx-light answering 204 is measured with wrk too, as a reference for other machines.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

QUICK=0
BUILD=build/bench-release
OUT=build/bench
DO_BUILD=1
WORKERS=1
SHARDS=16
ONLY=limits,drain,publish,e2e,fanout,control,instructions
PERF=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --build-dir) BUILD=$2; shift ;;
    --out) OUT=$2; shift ;;
    --no-build) DO_BUILD=0 ;;
    --only) ONLY=$2; shift ;;
    --perf) PERF=1 ;;
    --workers) WORKERS=$2; shift ;;
    --shards) SHARDS=$2; shift ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
[[ $OUT = /* ]] || OUT=$ROOT/$OUT

if [[ $QUICK -eq 1 ]]; then
  RUNS=1 WRK_S=3 XADD_N1=100000 XADD_N16=300000 DRAIN_N=50000 RSS_N=50000 BACKLOG_N=100000
  PUB_S=3 PROBE_S=3 HOLD_S=10 LAT_S=4 PROBES=3
else
  RUNS=3 WRK_S=5 XADD_N1=200000 XADD_N16=1000000 DRAIN_N=200000 RSS_N=100000 BACKLOG_N=1000000
  PUB_S=6 PROBE_S=5 HOLD_S=30 LAT_S=8 PROBES=4
fi
# Step 7: tasks per drain; the limited hook's rate and its drain's tasks (4 s of the rate).
CONTROL_N=20000 CONTROL_RATE=1000 CONTROL_LIMITED_N=4000
PREFIX=hookrelay:
API_KEY=bench-$RANDOM$RANDOM
# shellcheck source=tests/bench/common.sh
source tests/bench/common.sh

# ---------------------------------------------------------------- setup and build
step "setup: dependencies"
./deploy/install-deps.sh
install_packages wrk nginx-light jq iproute2 libgtest-dev libgmock-dev
if [[ $DO_BUILD -eq 1 ]]; then
  step "build: Release into ${BUILD#$ROOT/} (log: build.log there)"
  mkdir -p "$BUILD"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOOKRELAY_BUILD_TESTS=ON \
    >"$BUILD/configure.log" 2>&1 || { tail -20 "$BUILD/configure.log" >&2; die "configure failed"; }
  ninja -C "$BUILD" webhook-registry delivery-worker bench_receiver publish_load bench_fill \
    >"$BUILD/build.log" 2>&1 || { grep -E -A5 'error|FAILED' "$BUILD/build.log" | head -60 >&2
                                  die "build failed; see $BUILD/build.log"; }
fi
REGISTRY_BIN=$BUILD/services/registry/webhook-registry
WORKER_BIN=$BUILD/services/worker/delivery-worker
RECEIVER_BIN=$BUILD/tests/bench/bench_receiver
LOAD_BIN=$BUILD/tests/bench/publish_load
FILL_BIN=$BUILD/tests/bench/bench_fill
for b in "$REGISTRY_BIN" "$WORKER_BIN" "$RECEIVER_BIN" "$LOAD_BIN" "$FILL_BIN"; do
  [[ -x $b ]] || die "missing $b (build it, or drop --no-build)"
done
# The stream of the benchmark tenant's shard (every step publishes for tenant "bench").
STREAM=$("$FILL_BIN" --shards="$SHARDS" --print_stream_of=bench) || die "bench_fill failed"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---------------------------------------------------------------- processes
TMP=$(mktemp -d -t hookrelay-bench.XXXXXX)
declare -A PID_OF=()
cleanup() {
  local name pid
  for name in "${!PID_OF[@]}"; do kill -TERM "${PID_OF[$name]}" 2>/dev/null || true; done
  for name in "${!PID_OF[@]}"; do
    pid=${PID_OF[$name]}
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  [[ -n ${BENCH_KEEP_TMP:-} ]] && cp -r "$TMP" "$OUT/tmp"; rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

# start NAME CMD...: runs CMD in the background, output in $TMP/NAME.log.
start() {
  local name=$1; shift
  "$@" >"$TMP/$name.log" 2>&1 &
  PID_OF[$name]=$!
}
# perf_attach NAME: with --perf, samples NAME (all its threads, so call it once the process
# is up) with `perf record -g` until it is stopped.
PERF_SEQ=0
perf_attach() {
  [[ $PERF -eq 1 ]] || return 0
  PERF_SEQ=$(( PERF_SEQ + 1 ))
  mkdir -p "$OUT/perf"
  perf record -F 499 --call-graph "${BENCH_PERF_CALLGRAPH:-fp}" -o "$OUT/perf/$1.$PERF_SEQ.data" -p "${PID_OF[$1]}" \
    >"$TMP/perf-$1.log" 2>&1 &
  PID_OF[perf-$1]=$!
}
# stop NAME: SIGTERM, then SIGKILL after 15 s.
stop() {
  local name=$1 pid=${PID_OF[$1]:-}
  [[ -n $pid ]] || return 0
  if [[ -n ${PID_OF[perf-$name]:-} ]]; then  # perf writes its file on SIGTERM too
    kill -TERM "${PID_OF[perf-$name]}" 2>/dev/null || true
    wait "${PID_OF[perf-$name]}" 2>/dev/null || true
    unset "PID_OF[perf-$name]"
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "PID_OF[$name]"
}
# log_field NAME FIELD: waits (10 s) for "FIELD":N in NAME's log and prints N.
log_field() {
  local v
  for _ in $(seq 1 200); do
    v=$(grep -o "\"$2\":[0-9]*" "$TMP/$1.log" 2>/dev/null | head -1 | cut -d: -f2 || true)
    [[ -n $v ]] && { echo "$v"; return; }
    kill -0 "${PID_OF[$1]}" 2>/dev/null || break
    sleep 0.05
  done
  tail -5 "$TMP/$1.log" >&2
  die "$1 did not report $2"
}
now_s() { echo "$EPOCHREALTIME"; }
cpu_s() {  # CPU seconds (user + system) of PID and its children threads
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}
hwm_mb() { awk '/VmHWM/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"; }
calc() { awk "BEGIN { printf \"%.6g\n\", $* }"; }
# ratio A B: A / B, or null when either is missing (a step left out with --only).
ratio() { [[ -n $1 && -n $2 && $2 != 0 ]] && calc "$1 / $2" || echo null; }

# ---------------------------------------------------------------- results
RESULTS=$TMP/results.json
echo '{}' >"$RESULTS"
put() {  # put KEY VALUE: a number (or null); put KEY VALUE str: a string
  local tmp=$TMP/r.tmp
  if [[ ${3:-} == str ]]; then
    jq --arg k "$1" --arg v "$2" 'setpath($k | split("."); $v)' "$RESULTS" >"$tmp"
  else
    jq --arg k "$1" --argjson v "${2:-null}" 'setpath($k | split("."); $v)' "$RESULTS" >"$tmp"
  fi
  mv "$tmp" "$RESULTS"
}
get() { jq -r --arg k "$1" 'getpath($k | split(".")) // empty' "$RESULTS"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
  if (NR == 0) print "null"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# ---------------------------------------------------------------- services
REDIS_DIR=$TMP/redis
mkdir -p "$REDIS_DIR"
REDIS_PORT=$(free_port)
REDIS_URL=redis://127.0.0.1:$REDIS_PORT
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
# start_redis: on the current port, or on a fresh one if another process took it meanwhile.
start_redis() {
  local attempt
  for attempt in 1 2 3 4 5; do
    start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$REDIS_DIR" --dbfilename dump.rdb
    for _ in $(seq 1 600); do
      [[ $(rcli PING 2>/dev/null) == PONG ]] && return
      kill -0 "${PID_OF[redis]}" 2>/dev/null || break
      sleep 0.05
    done
    grep -q "Address already in use" "$TMP/redis.log" || break
    echo "    port $REDIS_PORT was taken; trying another" >&2
    REDIS_PORT=$(free_port)
    REDIS_URL=redis://127.0.0.1:$REDIS_PORT
  done
  die "redis-server did not start (log: $(tail -3 "$TMP/redis.log"))"
}
used_memory() { rcli INFO memory | awk -F: '/^used_memory:/ { print $2 + 0 }'; }
# Stream entries not yet acknowledged: group lag + pending (the whole stream before a group).
backlog() {
  local out
  out=$(rcli XINFO GROUPS "$STREAM" 2>/dev/null) || { rcli XLEN "$STREAM"; return; }
  [[ -z $out ]] && { rcli XLEN "$STREAM"; return; }
  awk 'p { s += $1; p = 0 } /^(pending|lag)$/ { p = 1 } END { print s + 0 }' <<<"$out"
}
snapshot() { rcli SAVE >/dev/null; cp "$REDIS_DIR/dump.rdb" "$REDIS_DIR/$1.rdb"; }
restore() {
  rcli SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  wait "${PID_OF[redis]}" 2>/dev/null || true
  cp "$REDIS_DIR/$1.rdb" "$REDIS_DIR/dump.rdb"
  start_redis
  for _ in $(seq 1 600); do
    [[ $(rcli INFO persistence | awk -F: '/^loading:/ { print $2 + 0 }') == 0 ]] && break
    sleep 0.05
  done
  rm -f "$REDIS_DIR/dump.rdb"
}
flush() { rcli FLUSHALL >/dev/null; }
# cmdstats N: Redis time by command since the last CONFIG RESETSTAT, per N items (deliveries
# or events): {"evalsha": {"calls": c, "us": u}, ...}, the busiest first.
cmdstats() {
  rcli INFO commandstats | tr -d '\r' | awk -F'[:,=]' -v n="$1" '/^cmdstat_/ {
      sub("cmdstat_", "", $1); printf "%s %.4f %.3f\n", $1, $3 / n, $5 / n }' |
    sort -k3 -g -r | jq -R -s -c 'split("\n") | map(select(length > 0) | split(" ")) |
      map({key: .[0], value: {calls: (.[1] | tonumber), us: (.[2] | tonumber)}}) | from_entries'
}

RECEIVER_URL=
start_receiver() {
  start receiver "$RECEIVER_BIN" --threads=2
  RECEIVER_PORT=$(log_field receiver port)
  RECEIVER_URL=http://127.0.0.1:$RECEIVER_PORT
}
rstats() { curl -sf "$RECEIVER_URL/stats"; }
rreset() { curl -sf "$RECEIVER_URL/reset" >/dev/null; }
received() { rstats | jq .requests; }
# wait_received N [MS]: the receiver's count once it reaches N, or after MS (default 1000)
# ms. One call a second rather than a poll loop of curl | jq: forking those ten times a
# second took about a third of a core from the processes being measured.
wait_received() {
  local out
  out=$(curl -sf "$RECEIVER_URL/wait?requests=$1&ms=${2:-1000}") || return 1
  [[ $out =~ ([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}

REGISTRY=
start_registry() {
  HOOKRELAY_ADMIN_API_KEY=$API_KEY start registry "$REGISTRY_BIN" --grpc_address=127.0.0.1:0 \
    --metrics_address=127.0.0.1:0 --redis_url="$REDIS_URL" --allow_http --shards="$SHARDS"
  REGISTRY=127.0.0.1:$(log_field registry grpc_port)
  perf_attach registry
}
WORKER_METRICS=()
WORKER_NAMES=()
# start_worker MAX_IN_FLIGHT [COUNT]: COUNT (default --workers) delivery-workers in one
# consumer group; the single benchmark hook may use every slot of each.
start_worker() {
  local i name
  WORKER_METRICS=(); WORKER_NAMES=()
  for i in $(seq 1 "${2:-$WORKERS}"); do
    name=worker$( (( i > 1 )) && echo "$i" || true)
    start "$name" "$WORKER_BIN" --redis_url="$REDIS_URL" --metrics_address=127.0.0.1:0 \
      --allow_cidrs=127.0.0.0/8 --allow_http --max_in_flight="$1" --max_in_flight_per_hook="$1" \
      --shards="$SHARDS" \
      --consumer_name="bench-$i"
    WORKER_NAMES+=("$name")
    WORKER_METRICS+=("http://127.0.0.1:$(log_field "$name" metrics_port)/metrics")
    perf_attach "$name"
  done
}
stop_workers() {
  local name
  for name in "${WORKER_NAMES[@]}"; do stop "$name"; done
  WORKER_NAMES=()
}
# metric NAME: the sum of a counter over the running workers.
metric() {
  local url
  for url in "${WORKER_METRICS[@]}"; do curl -sf "$url"; done |
    awk -v m="$1" '$1 == m { s += $2 } END { print s + 0 }'
}
workers_cpu() {
  local name t=0
  for name in "${WORKER_NAMES[@]}"; do t=$(calc "$t + $(cpu_s "${PID_OF[$name]}")"); done
  echo "$t"
}
# create_hooks N TENANT: N webhooks (standard signing, envelope) to the receiver.
# Further arguments go to publish_load (e.g. --hook_rate_limit=N, --hook_ordered).
create_hooks() {
  "$LOAD_BIN" --target="$REGISTRY" --api_key="$API_KEY" --tenant="$2" --create_hooks="$1" \
    --hook_url="$RECEIVER_URL/hook" "${@:3}" >/dev/null || die "creating hooks failed"
}
load() { "$LOAD_BIN" --target="$REGISTRY" --api_key="$API_KEY" "$@" || die "publish_load failed"; }
# load_cpu ARGS: load, plus the registry's and Redis's CPU µs per event published.
load_cpu() {
  local g0 r0 out
  rcli CONFIG RESETSTAT >/dev/null
  g0=$(cpu_s "${PID_OF[registry]}"); r0=$(cpu_s "${PID_OF[redis]}")
  out=$(load "$@")
  jq -c --argjson g "$(calc "$(cpu_s "${PID_OF[registry]}") - $g0")" \
    --argjson r "$(calc "$(cpu_s "${PID_OF[redis]}") - $r0")" \
    --argjson st "$(cmdstats "$(jq '[.events, 1] | max' <<<"$out")")" \
    --argjson conns "$(rcli INFO stats | tr -d '\r' | awk -F: '/^total_connections_received/ { print $2 + 0 }')" \
    '. + {cpu_us_per_event_registry: ($g / ([.events, 1] | max) * 1e6),
          cpu_us_per_event_redis: ($r / ([.events, 1] | max) * 1e6),
          cpu_us_per_event_load: (.load_cpu_s / ([.events, 1] | max) * 1e6),
          redis_per_event: $st, redis_connections_opened: $conns}' <<<"$out"
}

# ---------------------------------------------------------------- 1. limits
# wrk_receiver: requests/s of one wrk run against the receiver (1 KB POST, 204 answers).
wrk_receiver() {
  local out
  out=$(wrk -t2 -c64 -d"${WRK_S}s" -s "$TMP/post.lua" "$RECEIVER_URL/hook")
  grep -q "Non-2xx" <<<"$out" && die "wrk saw non-2xx answers from the receiver"
  awk '/^Requests\/sec/ { print $2 }' <<<"$out"
}
XADD_VALUE=$(head -c 1024 /dev/zero | tr '\0' 'v')
xadd() {  # xadd CLIENTS PIPELINE REQUESTS: XADDs/s of one redis-benchmark run
  redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c "$1" -P "$2" -n "$3" --csv \
    XADD benchstream '*' f "$XADD_VALUE" | awk -F'","' 'NR == 2 { print $2 + 0 }'
  rcli DEL benchstream >/dev/null
}

cat >"$TMP/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"pad":"' .. string.rep("x", 1014) .. '"}'
EOF

limits() {
  step "1. limits: wrk -t2 -c64 -d${WRK_S}s POST 1 KB → bench_receiver (x$RUNS)"
  local v=() n=() r=() p1=() p16=() c1=() out i
  for i in $(seq 1 "$RUNS"); do v+=("$(wrk_receiver)"); done
  put limits.wrk_rps "$(median "${v[@]}")"
  put limits.wrk_runs "$(printf '%s\n' "${v[@]}" | jq -s .)"

  step "1. limits: wrk → nginx-light return 204 (reference, one run)"
  local ngx_port ngx=$TMP/nginx
  ngx_port=$(free_port)
  mkdir -p "$ngx"
  cat >"$ngx/nginx.conf" <<EOF
daemon off;
worker_processes 2;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_buffer_size 16k;
  client_body_temp_path $ngx/body;
  proxy_temp_path $ngx/proxy;
  fastcgi_temp_path $ngx/fastcgi;
  uwsgi_temp_path $ngx/uwsgi;
  scgi_temp_path $ngx/scgi;
  server { listen 127.0.0.1:$ngx_port; location / { return 204; } }
}
EOF
  start nginx nginx -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/error.log"
  local up=0
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$ngx_port/" && { up=1; break; }
    sleep 0.05
  done
  [[ $up == 1 ]] || die "nginx did not answer on port $ngx_port: $(tail -3 "$ngx/error.log" "$TMP/nginx.log" 2>/dev/null)"
  out=$(wrk -t2 -c64 -d"${WRK_S}s" -s "$TMP/post.lua" "http://127.0.0.1:$ngx_port/hook")
  n+=("$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")")
  stop nginx
  put limits.wrk_nginx_rps "$(median "${n[@]}")"

  step "1. limits: redis-benchmark XADD 1 KB -c50 -P1 and -P16 (x$RUNS), one client (x1)"
  for i in $(seq 1 "$RUNS"); do
    p1+=("$(xadd 50 1 "$XADD_N1")")
    p16+=("$(xadd 50 16 "$XADD_N16")")
  done
  c1+=("$(xadd 1 1 $(( XADD_N1 / 10 )))")
  put limits.xadd_p1_rps "$(median "${p1[@]}")"
  put limits.xadd_p1_runs "$(printf '%s\n' "${p1[@]}" | jq -s .)"
  put limits.xadd_p16_rps "$(median "${p16[@]}")"
  put limits.xadd_c1_rps "$(median "${c1[@]}")"
}

# ---------------------------------------------------------------- 2. drain
# drain_once N MAX_IN_FLIGHT PREFIX: a worker drains the N tasks in the stream into the
# receiver; puts PREFIX.{rps,seconds,cpu_*,...} (the caller takes medians).
DRAIN_LINE=
drain_once() {
  local n=$1 mif=$2 t0 t1 r0 c0 redis0 got ok rcv_pid=${PID_OF[receiver]}
  rreset
  rcli CONFIG RESETSTAT >/dev/null
  redis0=$(cpu_s "${PID_OF[redis]}")
  r0=$(cpu_s "$rcv_pid")
  t0=$(now_s)
  start_worker "$mif"
  local deadline=$(( EPOCHSECONDS + 900 )) last=-1 last_t=$EPOCHSECONDS
  while true; do
    got=$(wait_received "$n")
    if (( got != last )); then last=$got; last_t=$EPOCHSECONDS; fi
    (( EPOCHSECONDS - last_t < 30 )) || die "drain stalled at $got of $n deliveries for 30 s"
    if (( got >= n )); then  # every delivery arrived; done once every ack is in too
      [[ $(backlog) == 0 ]] && break
      sleep 0.02
    fi
    (( EPOCHSECONDS < deadline )) || die "drain of $n did not finish in 900 s (received $got)"
    kill -0 "${PID_OF[worker]}" 2>/dev/null ||
      die "delivery-worker exited during the drain: $(tail -3 "$TMP/worker.log")"
  done
  t1=$(now_s)
  ok=$(metric hookrelay_worker_deliveries_succeeded_total)
  # Mean time an HTTP attempt took, as the worker saw it (request sent → answer read).
  local http_ms
  http_ms=$(calc "1000 * $(metric hookrelay_worker_attempt_duration_seconds_sum) / ($(metric hookrelay_worker_attempt_duration_seconds_count) + 1e-9)")
  local stats
  stats=$(cmdstats "$n")
  local cpu_w cpu_r cpu_v hwm secs
  cpu_w=$(workers_cpu); cpu_r=$(calc "$(cpu_s "${PID_OF[redis]}") - $redis0")
  cpu_v=$(calc "$(cpu_s "$rcv_pid") - $r0"); hwm=$(hwm_mb "${PID_OF[worker]}")
  stop_workers
  secs=$(calc "$t1 - $t0")
  DRAIN_LINE=$(jq -nc --argjson n "$n" --argjson s "$secs" --argjson ok "${ok:-0}" \
    --argjson got "$got" --argjson w "$cpu_w" --argjson r "$cpu_r" --argjson v "$cpu_v" \
    --argjson m "$hwm" --argjson mif "$mif" --argjson st "$stats" --argjson http "$http_ms" \
    '{tasks: $n, http_attempt_ms_mean: $http, max_in_flight: $mif, seconds: $s, rps: ($n / $s), succeeded: $ok,
      received: $got, cpu_s_worker: $w, cpu_s_redis: $r, cpu_s_receiver: $v, worker_rss_mb: $m,
      cpu_us_per_delivery: ((($w + $r + $v) / $n) * 1e6), redis_per_delivery: $st}')
  echo "    $(jq -c '{rps: (.rps | floor), seconds, cpu_s_worker, cpu_s_redis, cpu_s_receiver, worker_rss_mb, http_attempt_ms_mean}' <<<"$DRAIN_LINE")"
}

drain() {
  step "2. drain: fill the stream with $DRAIN_N tasks for one hook (1 KB, standard signing)"
  flush
  start_registry
  create_hooks 1 bench
  stop registry
  local m0 m1 fill
  m0=$(used_memory)
  fill=$("$FILL_BIN" --redis_url="$REDIS_URL" --shards="$SHARDS" --count="$DRAIN_N") || die "bench_fill failed"
  m1=$(used_memory)
  [[ $(rcli XLEN "$STREAM") == "$DRAIN_N" ]] || die "stream holds $(rcli XLEN "$STREAM"), want $DRAIN_N"
  put drain.fill_events_per_s "$(jq '.events / .seconds' <<<"$fill")"
  put redis.bytes_per_pending_200k "$(calc "($m1 - $m0) / $DRAIN_N")"
  snapshot drain
  local i lines=() w
  for i in $(seq 1 "$RUNS"); do
    step "2. drain: wrk → receiver, then the worker (max_in_flight 256) drains $DRAIN_N → receiver, run $i/$RUNS"
    [[ $i -gt 1 ]] && restore drain
    w=$(wrk_receiver)
    drain_once "$DRAIN_N" 256
    lines+=("$(jq -c --argjson w "$w" '. + {wrk_rps: $w, ratio_wrk: (.rps / $w)}' <<<"$DRAIN_LINE")")
    echo "    wrk just before: $w req/s; drain = $(jq -r '.ratio_wrk * 1000 | round / 10' <<<"${lines[-1]}") % of it"
  done
  local all
  all=$(printf '%s\n' "${lines[@]}" | jq -s .)
  put drain.runs "$all"
  for k in rps seconds cpu_s_worker cpu_s_redis cpu_s_receiver cpu_us_per_delivery; do
    put "drain.$k" "$(median $(jq -r ".[].$k" <<<"$all"))"
  done
  put drain.succeeded "$(jq '[.[].succeeded] | min' <<<"$all")"
  put drain.redis_per_delivery "$(jq '.[0].redis_per_delivery' <<<"$all")"
  put worker.rss_mb_256 "$(median $(jq -r '.[].worker_rss_mb' <<<"$all"))"
  put drain.ratio_wrk_paired "$(median $(jq -r '.[].ratio_wrk' <<<"$all"))"

  step "5. memory: drain $RSS_N with max_in_flight 2048 → worker RSS"
  restore drain
  if [[ $RSS_N -lt $DRAIN_N ]]; then  # fewer tasks are enough to fill 2,048 slots
    rcli XTRIM "$STREAM" MAXLEN "$RSS_N" >/dev/null
  fi
  drain_once "$(rcli XLEN "$STREAM")" 2048
  put drain.rps_2048 "$(jq .rps <<<"$DRAIN_LINE")"
  put worker.rss_mb_2048 "$(jq .worker_rss_mb <<<"$DRAIN_LINE")"

  step "5. scale: drain $DRAIN_N again (the reference), then fill a $BACKLOG_N-entry backlog and drain it"
  restore drain
  drain_once "$DRAIN_N" 256
  put backlog.reference_run "$DRAIN_LINE"
  restore drain
  local have
  have=$(rcli XLEN "$STREAM")
  if (( BACKLOG_N < have )); then rcli XTRIM "$STREAM" MAXLEN "$BACKLOG_N" >/dev/null; have=$BACKLOG_N; fi
  m0=$(used_memory)
  if (( BACKLOG_N > have )); then
    "$FILL_BIN" --redis_url="$REDIS_URL" --shards="$SHARDS" --count=$(( BACKLOG_N - have )) >/dev/null || die "bench_fill failed"
    m1=$(used_memory)
    put redis.bytes_per_pending "$(calc "($m1 - $m0) / ($BACKLOG_N - $have)")"
  fi
  put redis.used_memory_mb_backlog "$(calc "$(used_memory) / 1048576")"
  drain_once "$BACKLOG_N" 256
  put backlog.tasks "$BACKLOG_N"
  put backlog.rps "$(jq .rps <<<"$DRAIN_LINE")"
  put backlog.seconds "$(jq .seconds <<<"$DRAIN_LINE")"
  put backlog.ratio_drain_paired "$(ratio "$(get backlog.rps)" "$(get backlog.reference_run.rps)")"
  put backlog.run "$DRAIN_LINE"
  rm -f "$REDIS_DIR"/*.rdb
  flush
}

# ---------------------------------------------------------------- 3. publish
publish() {
  step "3. publish: PublishEvent, 256 outstanding, ${PUB_S}s (x$RUNS)"
  flush
  start_registry
  local i out one=() many=() half=()
  local x
  for i in $(seq 1 "$RUNS"); do
    x=$(xadd 50 1 "$XADD_N1")
    flush; create_hooks 1 bench
    out=$(load_cpu --concurrency=256 --seconds="$PUB_S")
    out=$(jq -c --argjson x "$x" '. + {xadd_p1_rps: $x, ratio_xadd: (.rps / $x)}' <<<"$out")
    one+=("$out")
    echo "    $(jq -c '{rps, p50_ms, p99_ms, errors, cpu_us_per_event_registry, cpu_us_per_event_redis,
      cpu_us_per_event_load, xadd_p1_just_before: .xadd_p1_rps, ratio_xadd}' <<<"$out")"
  done
  out=$(printf '%s\n' "${one[@]}" | jq -s .)
  put publish.runs "$out"
  [[ $(jq '[.[].errors] | add' <<<"$out") == 0 ]] || echo "    warning: publish errors: $(jq -r '.[0].first_error' <<<"$out")"
  put publish.rps "$(median $(jq -r '.[].rps' <<<"$out"))"
  put publish.p50_ms "$(median $(jq -r '.[].p50_ms' <<<"$out"))"
  put publish.p99_ms "$(median $(jq -r '.[].p99_ms' <<<"$out"))"
  put publish.cpu_us_per_event_registry "$(median $(jq -r '.[].cpu_us_per_event_registry' <<<"$out"))"
  put publish.cpu_us_per_event_redis "$(median $(jq -r '.[].cpu_us_per_event_redis' <<<"$out"))"
  put publish.redis_per_event "$(jq '.[0].redis_per_event' <<<"$out")"
  put publish.ratio_xadd_paired "$(median $(jq -r '.[].ratio_xadd' <<<"$out"))"
  put registry.rss_mb_256 "$(hwm_mb "${PID_OF[registry]}")"

  step "3. publish: PublishEvents batches of 100, 16 outstanding, ${PUB_S}s (x$RUNS)"
  for i in $(seq 1 "$RUNS"); do
    flush; create_hooks 1 bench
    out=$(load_cpu --concurrency=16 --batch=100 --seconds="$PUB_S")
    many+=("$out")
    echo "    $(jq -c '{rps, p50_ms, p99_ms, errors, cpu_us_per_event_registry, cpu_us_per_event_redis}' <<<"$out")"
  done
  out=$(printf '%s\n' "${many[@]}" | jq -s .)
  put publish.batch100_runs "$out"
  put publish.batch100_events_per_s "$(median $(jq -r '.[].rps' <<<"$out"))"
  put publish.batch100_p99_ms "$(median $(jq -r '.[].p99_ms' <<<"$out"))"

  local rate
  rate=$(calc "int($(get publish.rps) / 2)")
  step "3. publish: open loop at half the max, $rate/s, ${PUB_S}s (x$RUNS)"
  for i in $(seq 1 "$RUNS"); do
    flush; create_hooks 1 bench
    out=$(load --rate="$rate" --seconds="$PUB_S")
    half+=("$out")
    echo "    $(jq -c '{rps, p50_ms, p99_ms, errors, behind}' <<<"$out")"
  done
  out=$(printf '%s\n' "${half[@]}" | jq -s .)
  put publish.half_runs "$out"
  put publish.half_rate "$rate"
  put publish.p50_ms_half "$(median $(jq -r '.[].p50_ms' <<<"$out"))"
  put publish.p99_ms_half "$(median $(jq -r '.[].p99_ms' <<<"$out"))"

  step "5. memory: registry with 2,048 calls outstanding"
  flush; create_hooks 1 bench
  out=$(load --concurrency=2048 --seconds="$PUB_S")
  put publish.rps_2048_outstanding "$(jq .rps <<<"$out")"
  put registry.rss_mb_2048 "$(hwm_mb "${PID_OF[registry]}")"
  stop registry
  flush
}

# ---------------------------------------------------------------- 4. end to end
# e2e_once RATE SECONDS: fresh stream, worker and hook; open-loop publishing at RATE; waits
# for every published delivery at the receiver. Sets E2E_LINE (JSON) and returns 0 if the
# rate was held: no errors, every call answered within 1 s of the schedule's end, zero loss,
# the stream backlog never above max(2000, 1 s of rate), publish RPC p99 and publish →
# delivered p99 ≤ 1 s (no queue anywhere, registry included, grew past a second of work).
E2E_LINE=
E2E_PROBES=()
E2E_BATCH=1  # events per call: 1 = PublishEvent, more = PublishEvents
e2e_once() {
  local rate=$1 secs=$2 out want got deadline t_end
  stop_workers
  flush
  create_hooks 1 bench
  start_worker 256
  rreset
  local g0 r0 v0
  g0=$(cpu_s "${PID_OF[registry]}"); r0=$(cpu_s "${PID_OF[redis]}"); v0=$(cpu_s "${PID_OF[receiver]}")
  rcli CONFIG RESETSTAT >/dev/null
  out=$(load --rate="$rate" --seconds="$secs" --batch="$E2E_BATCH" --redis_url="$REDIS_URL" \
    --shards="$SHARDS") ||
    die "publish_load failed"
  want=$(jq .deliveries <<<"$out")
  t_end=$(now_s)
  deadline=$(( EPOCHSECONDS + 15 ))
  while got=$(wait_received "$want"); (( got < want )) && (( EPOCHSECONDS < deadline )); do :; done
  local drained
  drained=$(calc "$(now_s) - $t_end")
  local cpu
  cpu=$(jq -nc --argjson g "$(calc "$(cpu_s "${PID_OF[registry]}") - $g0")" \
    --argjson r "$(calc "$(cpu_s "${PID_OF[redis]}") - $r0")" \
    --argjson v "$(calc "$(cpu_s "${PID_OF[receiver]}") - $v0")" \
    --argjson w "$(workers_cpu)" --argjson l "$(jq .load_cpu_s <<<"$out")" \
    '{registry: $g, redis: $r, receiver: $v, worker: $w, load: $l}')
  E2E_LINE=$(jq -c --argjson got "$got" --argjson rcv "$(rstats)" --argjson tail "$drained" \
    --argjson cpu "$cpu" --argjson st "$(cmdstats "$(jq '[.events, 1] | max' <<<"$out")")" \
    '. + {received: $got, lost: ([.deliveries - $got, 0] | max), drain_tail_s: $tail, cpu_s: $cpu,
          redis_per_event: $st,
          e2e_p50_ms: $rcv.p50_ms, e2e_p90_ms: $rcv.p90_ms, e2e_p99_ms: $rcv.p99_ms,
          e2e_max_ms: $rcv.max_ms}' <<<"$out")
  E2E_LINE=$(jq -c --argjson rate "$rate" --argjson secs "$secs" \
    '. + {held: (.errors == 0 and .behind == 0 and .lost == 0
                 and .events >= 0.98 * $rate * $secs and .elapsed_s <= $secs + 1
                 and .max_backlog <= ([2000, $rate] | max) and .e2e_p99_ms <= 1000
                 and .p99_ms <= 1000)}' \
    <<<"$E2E_LINE")
  E2E_PROBES+=("$E2E_LINE")
  echo "    $rate/s for ${secs}s: $(jq -c '{held, rps: (.rps | floor), errors, behind, lost,
    max_backlog, e2e_p50_ms, e2e_p99_ms, rpc_p99_ms: .p99_ms}' <<<"$E2E_LINE")"
  [[ $(jq .errors <<<"$E2E_LINE") == 0 ]] || echo "    first error: $(jq -r .first_error <<<"$E2E_LINE")"
  [[ $(jq .held <<<"$E2E_LINE") == true ]]
}

# e2e_search_hold KEY HI [SECS PCT]: the highest rate in (0, HI] that passes PROBES short
# probes, then held for SECS (default HOLD_S) at PCT % of it (default 90; 85 % less per
# failed try, 3 tries), with wrk just before and after the hold. Puts KEY.max_rps,
# KEY.ratio_wrk_paired and the runs; sets E2E_HELD_RPS.
E2E_HELD_RPS=0
e2e_search_hold() {
  local key=$1 lo=0 hi=$2 secs=${3:-$HOLD_S} pct=${4:-90} rate i held=0 w=()
  E2E_PROBES=()
  step "4. end to end$(e2e_calls): search the highest rate, ${PROBE_S}s probes in (0, $hi]"
  for i in $(seq 1 "$PROBES"); do
    rate=$(( (lo + hi) / 2 ))
    if e2e_once "$rate" "$PROBE_S"; then lo=$rate; else hi=$rate; fi
  done
  # A short probe passes a little above what holds for longer: hold below it.
  lo=$(( lo > 0 ? lo * pct / 100 : hi / 4 ))
  for i in 1 2 3; do
    step "4. end to end$(e2e_calls): wrk → receiver, then hold $lo/s for ${secs}s, then wrk again"
    w=("$(wrk_receiver)")
    if e2e_once "$lo" "$secs"; then held=1; fi
    w+=("$(wrk_receiver)")
    echo "    wrk before and after: ${w[0]}, ${w[1]} req/s"
    (( held )) && break
    lo=$(( lo * 85 / 100 ))
  done
  put "$key.wrk_around_hold" "$(printf '%s\n' "${w[@]}" | jq -s .)"
  put "$key.hold" "$E2E_LINE"
  put "$key.probes" "$(printf '%s\n' "${E2E_PROBES[@]}" | jq -s .)"
  put "$key.held" "$held"
  put "$key.max_rps" "$( (( held )) && echo "$lo" || echo 0)"
  put "$key.ratio_wrk_paired" "$(ratio "$(get "$key.max_rps")" "$(median "${w[@]}")")"
  put "$key.lost" "$(jq .lost <<<"$E2E_LINE")"
  E2E_HELD_RPS=$lo
}
e2e_calls() { (( E2E_BATCH > 1 )) && echo " (PublishEvents of $E2E_BATCH)" || true; }
# e2e_ceiling KEY: where the search starts. Neither the worker's drain rate nor (much more
# than) the registry's publish rate KEY can be exceeded; open-loop publishing may beat the
# closed loop a little. 40,000/s for a step left out with --only.
e2e_ceiling() {
  local d p
  d=$(get drain.rps); p=$(get "$1")
  jq -n --argjson d "${d:-null}" --argjson p "${p:-null}" \
    '[$d // 40000, 1.5 * ($p // 40000)] | min | floor'
}

e2e() {
  step "4. end to end: registry → Redis → worker → receiver"
  start_registry
  local lo i
  e2e_search_hold e2e "$(e2e_ceiling publish.rps)"
  lo=$E2E_HELD_RPS

  local half=$(( lo / 2 )) lines=() out
  step "4. end to end: latency at half capacity, $half/s, ${LAT_S}s (x$RUNS)"
  for i in $(seq 1 "$RUNS"); do e2e_once "$half" "$LAT_S" || true; lines+=("$E2E_LINE"); done
  out=$(printf '%s\n' "${lines[@]}" | jq -s .)
  put e2e.half_rate "$half"
  put e2e.half_runs "$out"
  put e2e.p50_ms_half "$(median $(jq -r '.[].e2e_p50_ms' <<<"$out"))"
  put e2e.p99_ms_half "$(median $(jq -r '.[].e2e_p99_ms' <<<"$out"))"
  put e2e.lost_half "$(jq '[.[].lost] | add' <<<"$out")"

  latency_1k
  put registry.rss_mb_e2e "$(hwm_mb "${PID_OF[registry]}")"

  # The same pipeline when publishers send PublishEvents of 10 (an outbox relay, a batch
  # job): what one gRPC call per event costs, against what Redis, the worker and the
  # receiver can carry. Half as long a hold, at 85 % of the best probe (near saturation a
  # failed 30 s hold cost a minute): it keeps the full run under 15 minutes with the build.
  E2E_BATCH=10
  e2e_search_hold e2e_batch10 "$(e2e_ceiling publish.batch100_events_per_s)" \
    $(( (HOLD_S + 1) / 2 )) 85
  E2E_BATCH=1
  stop_workers
}

# Publish → delivered latency at 1,000/s (part of step 4; `--only latency` runs it alone).
latency_1k() {
  local lines=() out i
  step "4. end to end: latency at 1,000/s, ${LAT_S}s (x$RUNS)"
  for i in $(seq 1 "$RUNS"); do e2e_once 1000 "$LAT_S" || true; lines+=("$E2E_LINE"); done
  out=$(printf '%s\n' "${lines[@]}" | jq -s .)
  put e2e.runs_1k "$out"
  put e2e.p50_ms_1k "$(median $(jq -r '.[].e2e_p50_ms' <<<"$out"))"
  put e2e.p99_ms_1k "$(median $(jq -r '.[].e2e_p99_ms' <<<"$out"))"
  put e2e.lost_1k "$(jq '[.[].lost] | add' <<<"$out")"
  stop_workers
}
latency() {
  [[ ,$ONLY, == *,e2e,* ]] && return  # step 4 measured it
  start_registry
  latency_1k
}

# ---------------------------------------------------------------- 5. fan-out
fanout() {
  step "5. fan-out: one event to 1,000 hooks"
  stop_workers
  flush
  local t0 out got
  t0=$(now_s)
  create_hooks 1000 fan
  put fanout.create_hooks_s "$(calc "$(now_s) - $t0")"
  start_worker 256
  # The first publish loads the tenant's 1,000 hooks into the registry's index; measured too.
  local run
  for run in cold warm; do
    rreset
    out=$(load --tenant=fan --total=1 --concurrency=1 --seconds=30)
    for _ in $(seq 1 30); do got=$(wait_received 1000); (( got >= 1000 )) && break; done
    (( got >= 1000 )) || die "fan-out: $got of 1000 deliveries arrived in 30 s"
    put "fanout.$run.publish_ms" "$(jq .p50_ms <<<"$out")"
    put "fanout.$run.deliver_all_ms" "$(rstats | jq --argjson s "$(jq .start_ns <<<"$out")" '(.last_ns - $s) / 1e6')"
    put "fanout.$run.deliveries" "$(jq .deliveries <<<"$out")"
  done
  put fanout.publish_ms "$(get fanout.warm.publish_ms)"
  put fanout.deliver_all_ms "$(get fanout.warm.deliver_all_ms)"
  stop_workers
  stop registry
}

# ---------------------------------------------------------------- 7. delivery control
# The same drain three ways: a plain hook (the reference), an ordered hook with the events
# spread over 1,000 ordering keys (one delivery per key out at a time: the stream holds only
# the keys' heads), and a hook rate-limited to CONTROL_RATE/s with 4 s of backlog (Redis's
# cost of the limit per delivery: the reservation scripts, and the retry-set writes of the
# deliveries put back beyond what the worker holds).
control() {
  local mode n
  stop_workers
  for mode in plain ordered limited; do
    step "7. delivery control: drain $CONTROL_N tasks, $mode hook"
    flush
    start_registry
    case $mode in
      plain) create_hooks 1 bench ;;
      ordered) create_hooks 1 bench --hook_ordered ;;
      limited) create_hooks 1 bench --hook_rate_limit="$CONTROL_RATE" ;;
    esac
    stop registry
    n=$([[ $mode == limited ]] && echo "$CONTROL_LIMITED_N" || echo "$CONTROL_N")
    "$FILL_BIN" --redis_url="$REDIS_URL" --shards="$SHARDS" --count="$n" \
      $([[ $mode == ordered ]] && echo --ordering_keys=1000) >/dev/null || die "bench_fill failed"
    drain_once "$n" 256
    put "control.$mode" "$(jq -c '. + {redis_us_per_delivery: ([.redis_per_delivery[].us] | add),
      redis_calls_per_delivery: ([.redis_per_delivery[].calls] | add)}' <<<"$DRAIN_LINE")"
  done
}

# ---------------------------------------------------------------- report
machine_facts() {
  put machine.nproc "$(nproc)"
  put machine.model "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" str
  put machine.kernel "$(uname -r)" str
  put machine.date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" str
  put machine.git_commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" str
  put machine.git_dirty "$( [[ -n $(git status --porcelain 2>/dev/null | head -1) ]] && echo true || echo false)"
  put machine.mode "$( [[ $QUICK -eq 1 ]] && echo quick || echo full)" str
  put machine.runs_per_figure "$RUNS"
  put machine.mem_total_mb "$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)"
}

report() {
  put machine.loadavg_end "$(cut -d' ' -f1 /proc/loadavg)"
  put machine.duration_s "$(( $(date +%s) - T0 ))"
  mkdir -p "$OUT"
  cp "$RESULTS" "$OUT/results.json"
  jq -r -f /dev/stdin "$RESULTS" >"$OUT/results.md" <<'EOF'
def r(x): if x == null then "n/a" else (x * 100 | round / 100 | tostring) end;
def i(x): if x == null then "n/a" else (x | round | tostring) end;
def pct(x): if x == null then "n/a" else ((x * 1000 | round) / 10 | tostring) + " %" end;
def also(paired; run; what): if paired == null or run == null then "" else "; \(pct(run)) of \(what)" end;
def before(paired; what): if paired == null then "" else " \(what)" end;
def met(c): if c then "yes" else "**no**" end;
def spread(runs): if (runs // []) | length < 2 then "" else " (runs \(runs | map(.rps | round | tostring) | join(", ")))" end;
def ends(what; a; b): if a == null or b == null then "" else " (\(what)start \(i(a)), end \(i(b)))" end;
# A held end-to-end rate, its ratios and losses (open parenthesis: the row may add to it).
def held(e): "\(i(e.max_rps)) /s = \(pct(e.ratio_wrk)) of wrk\(before(e.ratio_wrk_paired; "around the hold"))\(also(e.ratio_wrk_paired; e.ratio_wrk_run; "the run's wrk")) (lost \(e.lost // "n/a")";
def us_per_event(run; k): if run == null or run.cpu_s[k] == null then "n/a" else (run.cpu_s[k] / run.events * 1e6 | round | tostring) end;
def us_each(x): if x == null or .drain.runs == null then null else (x / .drain.runs[0].tasks * 1e7 | round) / 10 end;
"hookrelay benchmark — \(.machine.date), \(.machine.nproc) × \(.machine.model), kernel \(.machine.kernel), \(.machine.shards // 1) shards, commit \(.machine.git_commit)\(if .machine.git_dirty then "+dirty" else "" end), \(.machine.mode) run (median of \(.machine.runs_per_figure)), load average \(.machine.loadavg_start) → \(.machine.loadavg_end)",
"",
"| figure | value | target | met? |",
"| --- | --- | --- | --- |",
"| wrk -t2 -c64, 1 KB POST → receiver (204) | \(i(.limits.wrk_rps)) req/s\(ends(""; .limits.wrk_rps_start; .limits.wrk_rps_end)) | limit | |",
"| wrk → nginx-light `return 204` (reference) | \(i(.limits.wrk_nginx_rps)) req/s | limit | |",
"| redis-benchmark XADD 1 KB -c50 -P1 / -P16 / 1 client | \(i(.limits.xadd_p1_rps)) / \(i(.limits.xadd_p16_rps)) / \(i(.limits.xadd_c1_rps)) /s\(ends("-P1 "; .limits.xadd_p1_rps_start; .limits.xadd_p1_rps_end)) | limit | |",
"| drain \(.drain.runs[0].tasks // "n/a") tasks, 1 hook → deliveries/s (signed, acked) | \(i(.drain.rps)) /s = \(pct(.drain.ratio_wrk)) of wrk\(before(.drain.ratio_wrk_paired; "just before each run"))\(spread(.drain.runs))\(also(.drain.ratio_wrk_paired; .drain.ratio_wrk_run; "the run's wrk")) | ≥ 40 % | \(met(.drain.ratio_wrk >= 0.4)) |",
"| drain CPU µs per delivery: worker / redis / receiver | \(us_each(.drain.cpu_s_worker)) / \(us_each(.drain.cpu_s_redis)) / \(us_each(.drain.cpu_s_receiver)) | | |",
"| PublishEvent, 256 outstanding → events/s | \(i(.publish.rps)) /s = \(pct(.publish.ratio_xadd)) of XADD -P1\(before(.publish.ratio_xadd_paired; "just before each run"))\(also(.publish.ratio_xadd_paired; .publish.ratio_xadd_run; "the run's XADD -P1")) (p50 \(r(.publish.p50_ms)) ms, p99 \(r(.publish.p99_ms)) ms)\(spread(.publish.runs)) | ≥ 30 % | \(met(.publish.ratio_xadd >= 0.3)) |",
"| PublishEvents, batches of 100 → events/s | \(i(.publish.batch100_events_per_s)) /s | | |",
"| PublishEvent p99 at half load (\(i(.publish.half_rate))/s, open loop) | \(r(.publish.p99_ms_half)) ms (p50 \(r(.publish.p50_ms_half))) | ≤ 2 ms | \(met((.publish.p99_ms_half // infinite) <= 2)) |",
"| end to end, highest rate held \(i(.e2e.hold.send_s)) s, zero loss | \(held(.e2e))) | ≥ 15 % | \(met(.e2e.ratio_wrk >= 0.15 and .e2e.lost == 0)) |",
"| end to end CPU µs per event at that rate: registry / Redis / worker / receiver / load generator | \(us_per_event(.e2e.hold; "registry")) / \(us_per_event(.e2e.hold; "redis")) / \(us_per_event(.e2e.hold; "worker")) / \(us_per_event(.e2e.hold; "receiver")) / \(us_per_event(.e2e.hold; "load")) | | |",
"| end to end with PublishEvents of 10, held \(i(.e2e_batch10.hold.send_s)) s, zero loss | \(held(.e2e_batch10)); CPU µs per event: registry \(us_per_event(.e2e_batch10.hold; "registry")), load generator \(us_per_event(.e2e_batch10.hold; "load"))) | | |",
"| publish → delivered p50 at half capacity (\(i(.e2e.half_rate))/s) | \(r(.e2e.p50_ms_half)) ms | ≤ 1 ms | \(met((.e2e.p50_ms_half // infinite) <= 1)) |",
"| publish → delivered p99 at half capacity | \(r(.e2e.p99_ms_half)) ms | ≤ 5 ms | \(met((.e2e.p99_ms_half // infinite) <= 5)) |",
"| publish → delivered p99 at 1,000/s | \(r(.e2e.p99_ms_1k)) ms (p50 \(r(.e2e.p50_ms_1k))) | ≤ 2 ms | \(met((.e2e.p99_ms_1k // infinite) <= 2)) |",
"| worker RSS (VmHWM), 256 / 2,048 in flight | \(r(.worker.rss_mb_256)) / \(r(.worker.rss_mb_2048)) MB | ≤ 100 MB at 2,048 | \(met((.worker.rss_mb_2048 // infinite) <= 100)) |",
"| registry RSS (VmHWM), 256 / 2,048 calls outstanding | \(r(.registry.rss_mb_256)) / \(r(.registry.rss_mb_2048)) MB | | |",
"| \(.backlog.tasks // "n/a")-entry backlog drain vs \(.drain.runs[0].tasks // "n/a") | \(i(.backlog.rps)) /s = \(pct(.backlog.ratio_drain))\(before(.backlog.ratio_drain_paired; "of the \(.backlog.reference_run.tasks // "n/a") drained just before (\(i(.backlog.reference_run.rps)) /s)"))\(also(.backlog.ratio_drain_paired; .backlog.ratio_drain_run; "step 2's drain")) | ≥ 90 % | \(met(.backlog.ratio_drain >= 0.9)) |",
"| Redis memory per pending delivery (event, record, indexes, task) | \(i(.redis.bytes_per_pending // .redis.bytes_per_pending_200k)) B | | |",
"| worker instructions per delivery under callgrind (5,000 tasks, start-up included) | \(i(.worker.instructions_per_delivery)) | | |",
"| ordered delivery, \(.control.ordered.tasks // "n/a") tasks over 1,000 keys → deliveries/s; Redis calls / µs per delivery | \(i(.control.ordered.rps)) /s (plain hook: \(i(.control.plain.rps)) /s); \(r(.control.ordered.redis_calls_per_delivery)) / \(r(.control.ordered.redis_us_per_delivery)) (plain: \(r(.control.plain.redis_calls_per_delivery)) / \(r(.control.plain.redis_us_per_delivery))) | | |",
"| rate limit \(.control.rate // "n/a")/s, \(.control.limited.tasks // "n/a") tasks → deliveries/s; Redis calls / µs per delivery (EVALSHA: reservations and promotion) | \(i(.control.limited.rps)) /s; \(r(.control.limited.redis_calls_per_delivery)) / \(r(.control.limited.redis_us_per_delivery)) (EVALSHA \(r(.control.limited.redis_per_delivery.evalsha.calls)) / \(r(.control.limited.redis_per_delivery.evalsha.us)); plain: \(r(.control.plain.redis_per_delivery.evalsha.calls)) / \(r(.control.plain.redis_per_delivery.evalsha.us))) | | |",
"| fan-out: one event to 1,000 hooks: publish / all delivered | \(r(.fanout.publish_ms)) / \(r(.fanout.deliver_all_ms)) ms (cold index: \(r(.fanout.cold.publish_ms)) / \(r(.fanout.cold.deliver_all_ms))) | | |",
"",
"Reproduce: `./tests/bench/run.sh` (full, < 15 min) or `--quick`; figures in build/bench/results.json."
EOF
  echo
  cat "$OUT/results.md"
  echo
  echo "results: ${OUT#$ROOT/}/results.json, ${OUT#$ROOT/}/results.md ($(get machine.duration_s) s)"
}

# The limits once more at the end: this machine is shared, and a limit measured only in the
# first minute can be off by a fifth for the rest of the run. The limit the ratios use is the
# median of the samples from both ends; the table shows each end's median too.
limits_again() {
  step "1. limits again, at the end of the run: wrk → receiver and XADD -P1 (x$RUNS)"
  local v=() p1=() i
  for i in $(seq 1 "$RUNS"); do v+=("$(wrk_receiver)"); done
  for i in $(seq 1 "$RUNS"); do p1+=("$(xadd 50 1 "$XADD_N1")"); done
  put limits.wrk_rps_start "$(get limits.wrk_rps)"
  put limits.xadd_p1_rps_start "$(get limits.xadd_p1_rps)"
  put limits.wrk_rps_end "$(median "${v[@]}")"
  put limits.xadd_p1_rps_end "$(median "${p1[@]}")"
  put limits.wrk_runs_end "$(printf '%s\n' "${v[@]}" | jq -s .)"
  put limits.xadd_p1_runs_end "$(printf '%s\n' "${p1[@]}" | jq -s .)"
  put limits.wrk_rps "$(median $(jq -r '.[]' <<<"$(get limits.wrk_runs)") "${v[@]}")"
  put limits.xadd_p1_rps "$(median $(jq -r '.[]' <<<"$(get limits.xadd_p1_runs)") "${p1[@]}")"
}

# Each ratio two ways: *_run divides by the run's limit (the median of both ends' samples);
# *_paired, the headline, divides each sample by the limit measured seconds before it (wrk
# before each drain and around the hold, XADD -P1 before each publish run, a 200k drain
# before the 1M one), so a machine that speeds up or slows down mid-run moves both alike.
ratios() {
  put drain.ratio_wrk_run "$(ratio "$(get drain.rps)" "$(get limits.wrk_rps)")"
  put publish.ratio_xadd_run "$(ratio "$(get publish.rps)" "$(get limits.xadd_p1_rps)")"
  put e2e.ratio_wrk_run "$(ratio "$(get e2e.max_rps)" "$(get limits.wrk_rps)")"
  put e2e_batch10.ratio_wrk_run "$(ratio "$(get e2e_batch10.max_rps)" "$(get limits.wrk_rps)")"
  put backlog.ratio_drain_run "$(ratio "$(get backlog.rps)" "$(get drain.rps)")"
  local k
  for k in drain.ratio_wrk publish.ratio_xadd e2e.ratio_wrk e2e_batch10.ratio_wrk \
    backlog.ratio_drain; do
    put "$k" "$(jq -r --arg k "$k" 'getpath(($k + "_paired") | split(".")) // getpath(($k + "_run") | split(".")) // null' "$RESULTS")"
  done
}

# 6. The worker's CPU instructions per delivery under callgrind (instructions.sh): a figure
# the machine's noise does not move.
instructions() {
  step "6. instructions: the worker under callgrind drains 5,000 tasks"
  local out
  out=$(tests/bench/instructions.sh --build-dir "$BUILD" --tasks 5000) || die "instructions.sh failed"
  put worker.instructions_per_delivery "$(jq -r .per_delivery <<<"$out")"
}

put machine.loadavg_start "$(cut -d' ' -f1 /proc/loadavg)"
put machine.shards "$SHARDS"
machine_facts
start_redis
start_receiver
put control.rate "$CONTROL_RATE"
for s in limits drain publish e2e latency fanout control instructions; do
  if [[ ,$ONLY, == *,$s,* ]]; then "$s"; fi
done
if [[ ,$ONLY, == *,limits,* ]]; then limits_again; fi
ratios
report
