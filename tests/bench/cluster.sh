#!/usr/bin/env bash
# hookrelay on Redis Cluster: publish and drain on clusters of 1 and 3 masters (loopback),
# with each master's share of the commands and of the Redis CPU, and the Redis CPU per event
# summed over the masters.
#
#   ./tests/bench/cluster.sh [--masters 1,3] [--tenants 1000] [--shards 48] [--events 100000]
#                            [--build-dir DIR] [--no-build] [--out DIR]
#
# For each master count M: M redis-servers in cluster mode (no replicas: a replica doubles
# the writes on the same 2 cores without changing the masters' shares), even slot ranges
# (redis-cli --cluster create), one webhook-registry, one hook per tenant to tests/bench's
# receiver. Publish: publish_load, batches of 10 events round-robin over the tenants, closed
# loop, for --events events. Drain: one delivery-worker delivers them all. Per phase: events/s,
# and per master the commands served (INFO commandstats) and CPU seconds (INFO cpu).
# What this machine cannot show: wall-clock scaling. Every master, the services and the load
# share 2 cores, so 3 masters are not 3× faster here; the shares show how the work divides.
# Writes cluster.json and cluster.md into --out (default build/bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

MASTERS=1,3
TENANTS=1000
SHARDS=48
EVENTS=100000
BUILD=build/bench-release
OUT=build/bench
DO_BUILD=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --masters) MASTERS=$2; shift ;;
    --tenants) TENANTS=$2; shift ;;
    --shards) SHARDS=$2; shift ;;
    --events) EVENTS=$2; shift ;;
    --build-dir) BUILD=$2; shift ;;
    --out) OUT=$2; shift ;;
    --no-build) DO_BUILD=0 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
[[ $OUT = /* ]] || OUT=$ROOT/$OUT
# shellcheck source=tests/bench/common.sh
source tests/bench/common.sh

step "setup: dependencies"
./deploy/install-deps.sh
install_packages jq iproute2 curl
if [[ $DO_BUILD -eq 1 ]]; then
  step "build: Release into ${BUILD#"$ROOT"/} (log: build.log there)"
  mkdir -p "$BUILD"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOOKRELAY_BUILD_TESTS=ON \
    >"$BUILD/configure.log" 2>&1 || die "configure failed; see $BUILD/configure.log"
  ninja -C "$BUILD" webhook-registry delivery-worker bench_receiver publish_load \
    >"$BUILD/build.log" 2>&1 || die "build failed; see $BUILD/build.log"
fi
REGISTRY_BIN=$BUILD/services/registry/webhook-registry
WORKER_BIN=$BUILD/services/worker/delivery-worker
RECEIVER_BIN=$BUILD/tests/bench/bench_receiver
LOAD_BIN=$BUILD/tests/bench/publish_load
for b in "$REGISTRY_BIN" "$WORKER_BIN" "$RECEIVER_BIN" "$LOAD_BIN"; do
  [[ -x $b ]] || die "missing $b (build it, or drop --no-build)"
done
ulimit -n 65536 2>/dev/null || true
mkdir -p "$OUT"

TMP=$(mktemp -d -t hookrelay-cluster-bench.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

# log_field FILE FIELD: waits (10 s) for "FIELD":N in FILE and prints N.
log_field() {
  local v
  for _ in $(seq 1 200); do
    v=$(grep -o "\"$2\":[0-9]*" "$1" 2>/dev/null | head -1 | cut -d: -f2 || true)
    [[ -n $v ]] && { echo "$v"; return; }
    sleep 0.05
  done
  tail -5 "$1" >&2
  die "$1: no $2"
}
calc() { awk "BEGIN { printf \"%.6g\n\", $* }"; }

PORTS=()
start_cluster() {  # start_cluster M
  local i port dir
  PORTS=()
  for i in $(seq 1 "$1"); do
    port=$(free_port)
    dir=$TMP/redis-$1-$i
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
      --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" \
      --cluster-port "$(free_port)" >"$dir/log" 2>&1 &
    PIDS+=($!)
    PORTS+=("$port")
  done
  for port in "${PORTS[@]}"; do
    for _ in $(seq 1 200); do [[ $(redis-cli -p "$port" PING 2>/dev/null) == PONG ]] && break; sleep 0.05; done
  done
  if [[ $1 -eq 1 ]]; then
    redis-cli -p "${PORTS[0]}" CLUSTER ADDSLOTSRANGE 0 16383 >/dev/null
  else
    local nodes=()
    for port in "${PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${nodes[@]}" --cluster-yes >"$TMP/create-$1.log" 2>&1 ||
      die "redis-cli --cluster create failed: $(tail -3 "$TMP/create-$1.log")"
  fi
  for port in "${PORTS[@]}"; do
    for _ in $(seq 1 400); do
      redis-cli -p "$port" CLUSTER INFO | grep "cluster_state:ok" >/dev/null && break
      sleep 0.05
    done
  done
}
seeds() { local p out=""; for p in "${PORTS[@]}"; do out+="${out:+,}127.0.0.1:$p"; done; echo "$out"; }
reset_stats() { local p; for p in "${PORTS[@]}"; do redis-cli -p "$p" CONFIG RESETSTAT >/dev/null; done; }
# master_stats: "commands cpu_seconds" of each master, one line each.
master_stats() {
  local p
  for p in "${PORTS[@]}"; do
    echo "$(redis-cli -p "$p" INFO commandstats | tr -d '\r' |
      awk -F'[:,=]' '/^cmdstat_/ { s += $3 } END { print s + 0 }') $(redis-cli -p "$p" INFO cpu |
      tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.3f", s }')"
  done
}
# phase_json NAME EVENTS SECONDS BEFORE AFTER: the phase's figures as JSON.
phase_json() {
  paste -d' ' <(echo "$4") <(echo "$5") | awk -v name="$1" -v n="$2" -v s="$3" '
    { c[NR] = $3 - $1; u[NR] = $4 - $2; tc += c[NR]; tu += u[NR]
      if (NR == 1 || c[NR] > cmax) cmax = c[NR]; if (NR == 1 || c[NR] < cmin) cmin = c[NR] }
    END { printf "{\"phase\":\"%s\",\"events\":%d,\"per_s\":%.0f,\"redis_cpu_us_per_event\":%.2f,", name, n, n / s, tu * 1e6 / n
          printf "\"busiest_over_quietest\":%.3f,\"masters\":[", (cmin > 0 ? cmax / cmin : 0)
          for (i = 1; i <= NR; i++) printf "%s{\"commands_share\":%.3f,\"cpu_share\":%.3f}", (i > 1 ? "," : ""), c[i] / tc, (tu > 0 ? u[i] / tu : 0)
          printf "]}\n" }'
}

RESULTS=()
for M in ${MASTERS//,/ }; do
  step "$M master(s): cluster, registry, $TENANTS tenants' hooks"
  start_cluster "$M"
  "$RECEIVER_BIN" --threads=2 >"$TMP/receiver-$M.log" 2>&1 &
  PIDS+=($!)
  receiver=http://127.0.0.1:$(log_field "$TMP/receiver-$M.log" port)
  key=bench-$RANDOM$RANDOM
  HOOKRELAY_ADMIN_API_KEY=$key "$REGISTRY_BIN" --grpc_address=127.0.0.1:0 \
    --metrics_address=127.0.0.1:0 --redis_url="redis://$(seeds)" --allow_http \
    --shards="$SHARDS" >"$TMP/registry-$M.log" 2>&1 &
  registry_pid=$!
  PIDS+=("$registry_pid")
  target=127.0.0.1:$(log_field "$TMP/registry-$M.log" grpc_port)
  "$LOAD_BIN" --target="$target" --api_key="$key" --tenant=t --tenants="$TENANTS" \
    --create_hooks=1 --hook_url="$receiver/hook" >/dev/null || die "creating hooks failed"

  step "$M master(s): publishing $EVENTS events (batches of 10 over $TENANTS tenants)"
  reset_stats
  before=$(master_stats)
  start=$EPOCHREALTIME
  "$LOAD_BIN" --target="$target" --api_key="$key" --tenant=t --tenants="$TENANTS" --batch=10 \
    --concurrency=32 --total="$EVENTS" --seconds=600 >"$TMP/load-$M.json" || die "publish_load failed"
  seconds=$(calc "$EPOCHREALTIME - $start")
  publish=$(phase_json publish "$EVENTS" "$seconds" "$before" "$(master_stats)")

  step "$M master(s): draining with one worker"
  reset_stats
  before=$(master_stats)
  start=$EPOCHREALTIME
  "$WORKER_BIN" --redis_url="redis://$(seeds)" --metrics_address=127.0.0.1:0 \
    --allow_cidrs=127.0.0.0/8 --allow_http --max_in_flight=512 --max_in_flight_per_hook=64 \
    --shards="$SHARDS" >"$TMP/worker-$M.log" 2>&1 &
  worker_pid=$!
  PIDS+=("$worker_pid")
  while true; do
    got=$(curl -sf "$receiver/wait?requests=$EVENTS&ms=1000" | grep -o '[0-9]*' || echo 0)
    (( got >= EVENTS )) && break
    kill -0 "$worker_pid" 2>/dev/null || die "the worker exited: $(tail -3 "$TMP/worker-$M.log")"
  done
  seconds=$(calc "$EPOCHREALTIME - $start")
  drain=$(phase_json drain "$EVENTS" "$seconds" "$before" "$(master_stats)")
  RESULTS+=("{\"masters\":$M,\"shards\":$SHARDS,\"tenants\":$TENANTS,\"publish\":$publish,\"drain\":$drain}")
  echo "    publish: $publish"
  echo "    drain:   $drain"
  kill -TERM "$worker_pid" "$registry_pid" 2>/dev/null || true
  for p in "${PORTS[@]}"; do redis-cli -p "$p" SHUTDOWN NOSAVE >/dev/null 2>&1 || true; done
  wait "$worker_pid" "$registry_pid" 2>/dev/null || true
done

printf '%s\n' "${RESULTS[@]}" | jq -s . >"$OUT/cluster.json"
{
  echo "| masters | phase | events/s | Redis CPU µs/event (all masters) | busiest/quietest master (commands) | commands share per master | CPU share per master |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  jq -r '.[] | . as $r | (.publish, .drain) | [ $r.masters, .phase, .per_s,
      .redis_cpu_us_per_event, .busiest_over_quietest,
      ([.masters[].commands_share * 100 | round | tostring + " %"] | join(" / ")),
      ([.masters[].cpu_share * 100 | round | tostring + " %"] | join(" / ")) ] |
      "| " + (map(tostring) | join(" | ")) + " |"' "$OUT/cluster.json"
} | tee "$OUT/cluster.md"
step "done: $OUT/cluster.json, $OUT/cluster.md"
