#!/usr/bin/python3
"""Example hookrelay caller in Python: creates a webhook, then publishes an event with a
deadline, an idempotency key and retries on UNAVAILABLE.

Needs Debian's python3-grpcio, protobuf-compiler and protobuf-compiler-grpc (apt-get install
python3-grpcio protobuf-compiler protobuf-compiler-grpc); the gRPC stubs are generated from
the repository's proto/ at start-up (protoc with grpc_python_plugin), so they always match
the server.

  export HOOKRELAY_API_KEY=hr_...            # a tenant or publisher key (admin works too)
  deploy/clients/python/hookrelay_client.py --address 127.0.0.1:50051 --tenant acme \\
      --url https://example.com/hooks --type order.created --payload '{"id": 1}' \\
      --idempotency-key order-1-created

Prints one JSON object: the webhook (id, signing secret) and the publish result (event id,
delivery ids, duplicate). Without --url it only publishes.
"""
import argparse
import atexit
import json
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile
import time

import grpc

PROTO_ROOT = pathlib.Path(__file__).resolve().parents[3] / "proto"


def load_stubs(proto_root=PROTO_ROOT):
    """Generates registry_pb2 / registry_pb2_grpc from our protos into a temporary directory,
    with protoc and grpc_python_plugin (Debian: protobuf-compiler, protobuf-compiler-grpc)."""
    out = tempfile.mkdtemp(prefix="hookrelay-stubs-")
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    plugin = shutil.which("grpc_python_plugin")
    if not shutil.which("protoc") or not plugin:
        raise RuntimeError("needs protoc and grpc_python_plugin (apt-get install protobuf-compiler protobuf-compiler-grpc)")
    files = [str(p.relative_to(proto_root)) for p in sorted(proto_root.glob("hookrelay/v1/*.proto"))]
    subprocess.run(["protoc", f"-I{proto_root}", f"--python_out={out}", f"--grpc_python_out={out}",
                    f"--plugin=protoc-gen-grpc_python={plugin}", *files], check=True)
    sys.path.insert(0, out)
    from hookrelay.v1 import registry_pb2, registry_pb2_grpc, resources_pb2  # noqa: E402
    return registry_pb2, registry_pb2_grpc, resources_pb2


# The channel's own reconnect backoff (gRPC's default: 1 s, growing 1.6x up to 120 s) decides
# when a refused connection is tried again; until then every call fails fast with UNAVAILABLE.
# Capped at 1 s, a registry that comes back is found within a second, not minutes later.
CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 1000)]


def wait_until_ready(channel, seconds):
    """Waits up to seconds, returning early once the channel is READY. Waiting on the channel, not
    in time.sleep, keeps its connection attempts polled: a synchronous channel whose calls all
    fail fast otherwise notices a finished reconnect only every 5 s."""
    ready = grpc.channel_ready_future(channel)
    try:
        ready.result(timeout=seconds)
    except grpc.FutureTimeoutError:
        ready.cancel()


def call_with_retries(channel, rpc, request, api_key, deadline_s):
    """Calls rpc until it succeeds, retrying only UNAVAILABLE (the registry or its Redis is not
    reachable: nothing was written) with jittered exponential backoff until deadline_s is spent.
    Safe for PublishEvent because the request carries an idempotency key: a retry of a publish
    that did get through returns the first event with duplicate=true."""
    end = time.monotonic() + deadline_s
    backoff = 0.1
    attempt = 0
    while (remaining := end - time.monotonic()) > 0:
        attempt += 1
        try:
            return rpc(request, timeout=remaining, metadata=[("authorization", f"Bearer {api_key}")])
        except grpc.RpcError as err:
            left = end - time.monotonic()
            if err.code() != grpc.StatusCode.UNAVAILABLE or left <= 0:
                raise
            pause = min(backoff * random.uniform(0.5, 1.5), left)
            print(f"attempt {attempt}: UNAVAILABLE ({err.details()}); retrying in {pause:.2f} s",
                  file=sys.stderr)
            wait_until_ready(channel, pause)
            backoff = min(backoff * 2, 2.0)
    raise TimeoutError(f"no answer within the {deadline_s} s deadline")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--address", default="127.0.0.1:50051")
    ap.add_argument("--tenant", required=True)
    ap.add_argument("--url", help="create a webhook to this URL first")
    ap.add_argument("--event-types", default="*", help="comma-separated, e.g. order.*")
    ap.add_argument("--type", required=True, help="event type to publish")
    ap.add_argument("--payload", default="{}", help="JSON payload")
    ap.add_argument("--idempotency-key", help="default: a new random key")
    ap.add_argument("--deadline", type=float, default=10.0, help="seconds for each call, retries included")
    args = ap.parse_args()
    api_key = os.environ.get("HOOKRELAY_API_KEY")
    if not api_key:
        sys.exit("error: set HOOKRELAY_API_KEY")

    registry_pb2, registry_pb2_grpc, resources_pb2 = load_stubs()
    out = {}
    with grpc.insecure_channel(args.address, options=CHANNEL_OPTIONS) as channel:
        stub = registry_pb2_grpc.WebhookRegistryStub(channel)
        if args.url:
            hook = resources_pb2.Webhook(tenant=args.tenant, url=args.url,
                                         event_types=args.event_types.split(","))
            created = call_with_retries(channel, stub.CreateWebhook, registry_pb2.CreateWebhookRequest(webhook=hook),
                                        api_key, args.deadline)
            out["webhook"] = {"id": created.id, "secret": created.signing.secret}
        key = args.idempotency_key or f"py-{random.getrandbits(64):016x}"
        published = call_with_retries(
            channel, stub.PublishEvent,
            registry_pb2.PublishEventRequest(tenant=args.tenant, type=args.type, payload=args.payload,
                                             idempotency_key=key),
            api_key, args.deadline)
        out["publish"] = {"event_id": published.event_id, "delivery_ids": list(published.delivery_ids),
                          "duplicate": published.duplicate, "idempotency_key": key}
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as err:
        sys.exit(f"error: {err.code().name}: {err.details()}")
    except TimeoutError as err:
        sys.exit(f"error: {err}")
