#!/usr/bin/env bash
# Runs the example clients (deploy/clients/python, deploy/clients/node) against a real
# webhook-registry and delivery-worker on a private redis-server, with a receiver that checks
# every signature with the npm standardwebhooks package:
#   * each client is started 5 s before the registry listens: it must retry UNAVAILABLE and get
#     through within 2.5 s of the registry being ready (same deadline), creating a hook and
#     publishing;
#   * the delivery arrives signed and verified;
#   * the same idempotency key again returns the first event with duplicate = true;
#   * against no registry at all, the client gives up within its deadline with an error.
# usage: tests/deploy/clients.sh BUILD_DIR TOOLS_DIR   (TOOLS_DIR: node_modules with standardwebhooks)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: clients.sh BUILD_DIR TOOLS_DIR}" && pwd)
tools=$(cd "${2:?usage: clients.sh BUILD_DIR TOOLS_DIR}" && pwd)
state=$(mktemp -d "${TMPDIR:-/tmp}/hookrelay-clients.XXXXXX")
# shellcheck source=lib/engine.sh
source "$here/lib/engine.sh"
pids=()
registry_pid=""
cleanup() {
  for pid in "${pids[@]}" $registry_pid; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$state"
}
trap cleanup EXIT
die() {
  fail "$*"
  for f in "$state"/*.log "$state"/*.err; do [[ -s "$f" ]] && { echo "--- $f" >&2; tail -n 15 "$f" | sed 's/^/    | /' >&2; }; done
  exit 1
}

# Debian's python3 has python3-grpcio; another python3 first on PATH (pyenv, venv) may not.
py=""
for p in python3 /usr/bin/python3; do
  "$p" -c 'import grpc' 2>/dev/null && { py=$p; break; }
done
[[ -n "$py" ]] || die "no python3 with grpc (apt-get install python3-grpcio)"
node_dir=$repo/deploy/clients/node
if ! cmp -s "$node_dir/package-lock.json" "$node_dir/node_modules/.hookrelay-lock" 2>/dev/null; then
  echo "    npm ci in deploy/clients/node (@grpc/grpc-js, @grpc/proto-loader)"
  (cd "$node_dir" && timeout 300 npm ci --no-audit --no-fund --loglevel=error >"$state/npm.log" 2>&1) || die "npm ci failed"
  cp "$node_dir/package-lock.json" "$node_dir/node_modules/.hookrelay-lock"
fi

redis_port=$(free_port) grpc_port=$(free_port) reg_metrics=$(free_port) wrk_metrics=$(free_port) recv_port=$(free_port)
key="clients-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
export HOOKRELAY_API_KEY=$key HOOKRELAY_REDIS_URL="redis://127.0.0.1:$redis_port"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$state" >"$state/redis.log" 2>&1 &
pids+=($!)
wait_for 10 "redis-server answering" redis-cli -p "$redis_port" ping || die "no Redis"
"$build/services/worker/delivery-worker" --metrics_address="127.0.0.1:$wrk_metrics" --allow_http \
  --allow_cidrs=127.0.0.0/8 >"$state/worker.log" 2>&1 &
pids+=($!)
start_registry() {
  HOOKRELAY_ADMIN_API_KEY=$key "$build/services/registry/webhook-registry" --grpc_address="127.0.0.1:$grpc_port" \
    --metrics_address="127.0.0.1:$reg_metrics" --allow_http >>"$state/registry.log" 2>&1 &
  registry_pid=$!
}
json() { "$py" -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

# The verifying receiver runs from the start; each client's hook secret is added to its file
# once the client printed it (a delivery that comes first is answered 503 and retried).
secrets_file=$state/secrets.json
echo '{}' >"$secrets_file"
node "$here/receiver.mjs" --tools "$tools" --port "$recv_port" --secrets "$secrets_file" >"$state/receiver.log" 2>&1 &
pids+=($!)
wait_for 10 "the verifying receiver listening" grep -q listening "$state/receiver.log" || die "no receiver"
add_secret() {
  "$py" -c 'import json,sys; f=sys.argv[1]; d=json.load(open(f)); d[sys.argv[2]]=json.load(open(sys.argv[3]))["webhook"]["secret"]; json.dump(d, open(f+".new","w"))' \
    "$secrets_file" "/$1" "$state/$1.out" && mv "$secrets_file.new" "$secrets_file"
}

# run_client NAME CMD...: the client is started while the registry is down; the registry starts
# 5 s after the client reported its first UNAVAILABLE. By then gRPC's default reconnect backoff
# (1 s growing 1.6x) would wait ~4 s more before trying again; the client caps it at 1 s, so it
# must get through within 2.5 s of the registry being ready.
run_client() {
  local name=$1
  shift
  local out="$state/$name.out" err="$state/$name.err"
  "$@" --address "127.0.0.1:$grpc_port" --tenant "$name" --url "http://127.0.0.1:$recv_port/$name" \
    --event-types 'order.*' --type order.created --payload '{"order":{"id":7}}' \
    --idempotency-key "$name-order-7" --deadline 30 >"$out" 2>"$err" &
  local cpid=$!
  wait_for 20 "$name reporting UNAVAILABLE" grep -q "UNAVAILABLE" "$err" || die "$name never retried"
  sleep 5
  start_registry
  wait_for 20 "webhook-registry ready" curl -sf "http://127.0.0.1:$reg_metrics/readyz" || die "registry not ready"
  local ready=$EPOCHREALTIME
  wait "$cpid" || die "$name failed: $(cat "$err")"
  local late
  late=$(awk -v a="$ready" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  awk -v l="$late" 'BEGIN { exit !(l <= 2.5) }' || die "$name got through $late s after the registry was ready (limit 2.5 s)"
  add_secret "$name"
  [[ -n "$registry_pid" ]] && kill "$registry_pid" && wait "$registry_pid" 2>/dev/null
  registry_pid=""
  echo "    $name: $(grep -c UNAVAILABLE "$err") UNAVAILABLE answer(s) retried, through $late s after the registry was ready; created $(json '["webhook"]["id"]' <"$out") and published $(json '["publish"]["event_id"]' <"$out")"
}

step "Python client (python3-grpcio, stubs generated from proto/ by protoc)"
run_client python "$py" "$repo/deploy/clients/python/hookrelay_client.py"
step "Node client (@grpc/grpc-js, @grpc/proto-loader on proto/)"
run_client node node "$node_dir/hookrelay_client.mjs"

step "deliveries, verified by npm standardwebhooks"
start_registry
wait_for 20 "webhook-registry ready" curl -sf "http://127.0.0.1:$reg_metrics/readyz" || die "registry not ready"
for name in python node; do
  dlv=$(json '["publish"]["delivery_ids"][0]' <"$state/$name.out")
  # A first attempt answered 503 (secret not known yet) is retried after 5 s ± 20 %.
  wait_for 30 "the $name delivery at the receiver" grep -q "\"id\":\"$dlv\".*\"verified\":true" "$state/receiver.log" ||
    die "the $name client's delivery $dlv did not arrive verified"
  echo "    $name: delivery $dlv arrived, signature verified"
done

step "the same idempotency key again: the first event, duplicate = true"
for name in python node; do
  if [[ $name == python ]]; then cmd=("$py" "$repo/deploy/clients/python/hookrelay_client.py"); else cmd=(node "$node_dir/hookrelay_client.mjs"); fi
  again=$("${cmd[@]}" --address "127.0.0.1:$grpc_port" --tenant "$name" --type order.created \
    --payload '{"order":{"id":7}}' --idempotency-key "$name-order-7" --deadline 10) || die "$name republish failed"
  [[ "$(json '["publish"]["duplicate"]' <<<"$again")" == True ]] || die "$name: duplicate is not true: $again"
  [[ "$(json '["publish"]["event_id"]' <<<"$again")" == "$(json '["publish"]["event_id"]' <"$state/$name.out")" ]] ||
    die "$name: a different event for the same idempotency key: $again"
  echo "    $name: duplicate = true, event $(json '["publish"]["event_id"]' <<<"$again")"
done

step "no registry: each client gives up within its deadline"
dead=$(free_port)
for name in python node; do
  if [[ $name == python ]]; then cmd=("$py" "$repo/deploy/clients/python/hookrelay_client.py"); else cmd=(node "$node_dir/hookrelay_client.mjs"); fi
  t0=$SECONDS
  if "${cmd[@]}" --address "127.0.0.1:$dead" --tenant t --type order.created --deadline 2 >/dev/null 2>"$state/dead.err"; then
    die "$name succeeded against no registry"
  fi
  ((SECONDS - t0 <= 6)) || die "$name took $((SECONDS - t0)) s with a 2 s deadline"
  echo "    $name: $(tail -n 1 "$state/dead.err") after $((SECONDS - t0)) s"
done
echo "CLIENTS OK: the Python and Node examples retried UNAVAILABLE, published idempotently, met their deadlines"
