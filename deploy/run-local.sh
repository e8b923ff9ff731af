#!/usr/bin/env bash
# Runs hookrelay locally: installs what is missing, builds, starts a private redis-server,
# webhook-registry, a delivery-worker and a demo receiver on loopback, creates a webhook,
# publishes an event and shows the signed request the receiver got. Ctrl-C stops it all.
#   ./deploy/run-local.sh          keep running (hookctl commands are printed to try)
#   ./deploy/run-local.sh --smoke  exit 0 once the delivery is verified, non-zero otherwise
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=false
[[ "${1:-}" == "--smoke" ]] && smoke=true
build="${BUILD_DIR:-build}"
bin="$build/services"

./deploy/install-deps.sh
./deploy/build.sh "$build" -- webhook-registry delivery-worker hookctl

work=$(mktemp -d -t hookrelay-local.XXXXXX)
pids=()
cleanup() {
  echo "==> stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fail() { echo "error: $*" >&2; for f in "$work"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done; exit 1; }
wait_for() {  # wait_for <seconds> <what> <command...>
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "$what did not come up"
    sleep 0.1
  done
}

redis_port=$(free_port); grpc_port=$(free_port); reg_metrics=$(free_port)
wrk_metrics=$(free_port); recv_port=$(free_port)
export HOOKRELAY_REDIS_URL="redis://127.0.0.1:$redis_port"
export HOOKRELAY_API_KEY="local-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"

echo "==> redis-server on 127.0.0.1:$redis_port"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  >"$work/redis.log" 2>&1 &
pids+=($!)
wait_for 10 redis-server redis-cli -p "$redis_port" ping

echo "==> webhook-registry on 127.0.0.1:$grpc_port (metrics :$reg_metrics)"
HOOKRELAY_ADMIN_API_KEY="$HOOKRELAY_API_KEY" "$bin/registry/webhook-registry" \
  --grpc_address="127.0.0.1:$grpc_port" --metrics_address="127.0.0.1:$reg_metrics" \
  --allow_http >"$work/registry.log" 2>&1 &
pids+=($!)
wait_for 20 webhook-registry curl -sf "http://127.0.0.1:$reg_metrics/readyz"

echo "==> delivery-worker (metrics :$wrk_metrics)"
"$bin/worker/delivery-worker" --metrics_address="127.0.0.1:$wrk_metrics" \
  --allow_cidrs=127.0.0.0/8 --allow_http >"$work/worker.log" 2>&1 &
pids+=($!)
wait_for 20 delivery-worker curl -sf "http://127.0.0.1:$wrk_metrics/readyz"

hookctl=("$bin/hookctl/hookctl" "--address=127.0.0.1:$grpc_port")
echo "==> creating a webhook for tenant 'demo' -> http://127.0.0.1:$recv_port/webhook"
hook_json=$("${hookctl[@]}" --json create-webhook --tenant demo \
  --url "http://127.0.0.1:$recv_port/webhook" --event-types 'review.*') || fail "create-webhook failed"
hook_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$hook_json")
secret=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["signing"]["secret"])' <<<"$hook_json")
echo "    webhook $hook_id (its signing secret is shown only at creation)"

HOOKRELAY_DEMO_SECRET="$secret" python3 -u deploy/demo_receiver.py "$recv_port" \
  >"$work/receiver.log" 2>&1 &
pids+=($!)
wait_for 10 "demo receiver" grep -q listening "$work/receiver.log"

echo "==> publishing review.created"
pub=$("${hookctl[@]}" --json publish --tenant demo --type review.created \
  --payload '{"review":{"id":42,"title":"Fix the login bug","author":"ana"}}') || fail "publish failed"
delivery=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["delivery_ids"][0])' <<<"$pub")

wait_for 20 "the delivery" grep -q "^signature:" "$work/receiver.log"
echo "==> the receiver got:"
sed 's/^/    /' "$work/receiver.log" | grep -v listening
wait_for 10 "a SUCCEEDED delivery record" \
  bash -c "'${hookctl[0]}' '${hookctl[1]}' get-delivery --tenant demo --id $delivery | grep -q SUCCEEDED"
echo "==> delivery record:"
"${hookctl[@]}" get-delivery --tenant demo --id "$delivery" | sed 's/^/    /'
grep -q "signature: VERIFIED" "$work/receiver.log" || fail "the receiver could not verify the signature"

if $smoke; then
  echo "smoke test passed: delivery $delivery verified and recorded as SUCCEEDED"
  exit 0
fi
cat <<EOT

hookrelay is running. In another shell:
  export HOOKRELAY_API_KEY=$HOOKRELAY_API_KEY
  ${hookctl[*]} publish --tenant demo --type review.updated --payload '{"x":1}'
  ${hookctl[*]} get-delivery --tenant demo --id $delivery
  curl -s http://127.0.0.1:$wrk_metrics/metrics | grep hookrelay_worker_attempts_total
Receiver output: tail -f $work/receiver.log   Logs: $work/*.log
Press Ctrl-C to stop everything.
EOT
tail -n 0 -f "$work/receiver.log" &
pids+=($!)
wait
