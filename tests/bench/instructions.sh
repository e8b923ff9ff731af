#!/usr/bin/env bash
# Counts the CPU instructions the delivery-worker spends per delivery, under
# `valgrind --tool=callgrind`: a figure that does not move with the machine's noise, for
# judging a change too small for the wall-clock benchmark to see (run it on the binaries
# before and after, and compare). Kernel time is not counted, and valgrind runs SHA-256
# without the CPU's SHA instructions, so HMAC weighs more here than on the real machine.
#
#   ./tests/bench/instructions.sh [--build-dir DIR] [--tasks N] [--out FILE]
#
# Uses the Release binaries run.sh builds (default build/bench-release; build them first).
# Starts a private redis-server, the registry (to create one hook), bench_fill for N tasks
# (default 5000) and the receiver, drains them with the worker under callgrind, and prints
# {"tasks":N,"instructions":I,"per_delivery":I/N} (start-up included; compare like with like).
# --out keeps the callgrind profile for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=build/bench-release
TASKS=5000
OUT=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) BUILD=$2; shift ;;
    --tasks) TASKS=$2; shift ;;
    --out) OUT=$2; shift ;;
    *) echo "instructions.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for bin in services/registry/webhook-registry services/worker/delivery-worker \
  tests/bench/bench_receiver tests/bench/publish_load tests/bench/bench_fill; do
  [[ -x $BUILD/$bin ]] || { echo "instructions.sh: $BUILD/$bin missing (run ./tests/bench/run.sh once, or build it)" >&2; exit 1; }
done
# shellcheck source=tests/bench/common.sh
source tests/bench/common.sh
step() { echo "==> $*" >&2; }  # progress on stderr: stdout is the figure run.sh reads
install_packages valgrind redis-server redis-tools curl iproute2

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

REDIS_PORT=$(free_port)
REDIS_URL=redis://127.0.0.1:$REDIS_PORT
step "redis-server on port $REDIS_PORT"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$TMP" \
  >"$TMP/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done

GRPC_PORT=$(free_port)
step "registry on port $GRPC_PORT, one hook"
HOOKRELAY_ADMIN_API_KEY=bench-key "$BUILD/services/registry/webhook-registry" \
  --grpc_address="127.0.0.1:$GRPC_PORT" --metrics_address=127.0.0.1:0 --redis_url="$REDIS_URL" \
  --allow_http >"$TMP/registry.log" 2>&1 &
REGISTRY_PID=$!
PIDS+=("$REGISTRY_PID")
"$BUILD/tests/bench/bench_receiver" --threads=2 >"$TMP/receiver.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do [[ -s $TMP/receiver.out ]] && break; sleep 0.05; done
RECEIVER=http://127.0.0.1:$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$TMP/receiver.out")
created=0
for _ in $(seq 1 100); do
  if "$BUILD/tests/bench/publish_load" --target="127.0.0.1:$GRPC_PORT" --api_key=bench-key \
    --tenant=bench --create_hooks=1 --hook_url="$RECEIVER/hook" >/dev/null 2>&1; then
    created=1
    break
  fi
  sleep 0.1
done
[[ $created == 1 ]] || { echo "instructions.sh: creating the hook failed: $(tail -3 "$TMP/registry.log")" >&2; exit 1; }
kill "$REGISTRY_PID"

step "bench_fill: $TASKS tasks"
"$BUILD/tests/bench/bench_fill" --redis_url="$REDIS_URL" --count="$TASKS" >/dev/null

step "delivery-worker under callgrind drains them (about $(( TASKS / 500 + 5 )) s)"
PROFILE=${OUT:-$TMP/callgrind.out}
valgrind --tool=callgrind --callgrind-out-file="$PROFILE" \
  "$BUILD/services/worker/delivery-worker" --redis_url="$REDIS_URL" --metrics_address=127.0.0.1:0 \
  --allow_cidrs=127.0.0.0/8 --allow_http --max_in_flight=256 --max_in_flight_per_hook=256 \
  --consumer_name=callgrind >"$TMP/worker.log" 2>&1 &
WORKER_PID=$!
PIDS+=("$WORKER_PID")
got=$(curl -sf "$RECEIVER/wait?requests=$TASKS&ms=600000" | sed 's/[^0-9]//g')
[[ $got -ge $TASKS ]] || { echo "instructions.sh: only $got of $TASKS deliveries arrived" >&2; exit 1; }
sleep 1  # the last batch's records and acks
kill -TERM "$WORKER_PID"
wait "$WORKER_PID" || true

total=$(callgrind_annotate "$PROFILE" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
echo "{\"tasks\":$TASKS,\"instructions\":$total,\"per_delivery\":$(( total / TASKS ))}"
