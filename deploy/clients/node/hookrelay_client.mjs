#!/usr/bin/env node
// Example hookrelay caller in Node: creates a webhook, then publishes an event with a
// deadline, an idempotency key and retries on UNAVAILABLE. Uses @grpc/grpc-js, with the
// service and messages generated at start-up from the repository's proto/ by
// @grpc/proto-loader, so they always match the server.
//
//   (cd deploy/clients/node && npm ci)
//   export HOOKRELAY_API_KEY=hr_...            # a tenant or publisher key (admin works too)
//   node deploy/clients/node/hookrelay_client.mjs --address 127.0.0.1:50051 --tenant acme \
//       --url https://example.com/hooks --type order.created --payload '{"id":1}' \
//       --idempotency-key order-1-created
//
// Prints one JSON object: the webhook (id, signing secret) and the publish result (event id,
// delivery ids, duplicate). Without --url it only publishes.
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const protoRoot = join(dirname(fileURLToPath(import.meta.url)), "../../../proto");

export function loadRegistry(root = protoRoot) {
  const definition = protoLoader.loadSync("hookrelay/v1/registry.proto", {
    includeDirs: [root],
    keepCase: true, // field names as in the .proto (snake_case)
    longs: String,
    enums: String,
    defaults: true,
  });
  return grpc.loadPackageDefinition(definition).hookrelay.v1.WebhookRegistry;
}

// The channel's own reconnect backoff (gRPC's default: 1 s, growing 1.6x up to 120 s) decides
// when a refused connection is tried again; until then every call fails fast with UNAVAILABLE.
// Capped at 1 s, a registry that comes back is found within a second, not minutes later.
export const CHANNEL_OPTIONS = { "grpc.initial_reconnect_backoff_ms": 100, "grpc.max_reconnect_backoff_ms": 1000 };

// Calls client[method] until it succeeds, retrying only UNAVAILABLE (the registry or its Redis
// is not reachable: nothing was written) with jittered exponential backoff until deadlineMs is
// spent. Safe for PublishEvent because the request carries an idempotency key: a retry of
// a publish that did get through returns the first event with duplicate = true.
export async function callWithRetries(client, method, request, apiKey, deadlineMs) {
  const end = Date.now() + deadlineMs;
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${apiKey}`);
  let backoff = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Promise((resolve, reject) =>
        client[method](request, metadata, { deadline: new Date(end) }, (err, res) => (err ? reject(err) : resolve(res))),
      );
    } catch (err) {
      const left = end - Date.now();
      if (err.code !== grpc.status.UNAVAILABLE || left <= 0) throw err;
      const pause = Math.min(backoff * (0.5 + Math.random()), left);
      console.error(`attempt ${attempt}: UNAVAILABLE (${err.details}); retrying in ${(pause / 1000).toFixed(2)} s`);
      // Waits on the channel, not a timer: the next attempt goes out as soon as it is READY.
      await new Promise((r) => client.waitForReady(Date.now() + pause, () => r()));
      backoff = Math.min(backoff * 2, 2000);
    }
  }
}

async function main() {
  const { values: a } = parseArgs({
    options: {
      address: { type: "string", default: "127.0.0.1:50051" },
      tenant: { type: "string" },
      url: { type: "string" },
      "event-types": { type: "string", default: "*" },
      type: { type: "string" },
      payload: { type: "string", default: "{}" },
      "idempotency-key": { type: "string" },
      deadline: { type: "string", default: "10" },
    },
  });
  if (!a.tenant || !a.type) throw new Error("--tenant and --type are required");
  const apiKey = process.env.HOOKRELAY_API_KEY;
  if (!apiKey) throw new Error("set HOOKRELAY_API_KEY");
  const deadlineMs = Number(a.deadline) * 1000;

  const WebhookRegistry = loadRegistry();
  const client = new WebhookRegistry(a.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  const out = {};
  try {
    if (a.url) {
      const webhook = { tenant: a.tenant, url: a.url, event_types: a["event-types"].split(",") };
      const created = await callWithRetries(client, "CreateWebhook", { webhook }, apiKey, deadlineMs);
      out.webhook = { id: created.id, secret: created.signing.secret };
    }
    const key = a["idempotency-key"] ?? `node-${randomBytes(8).toString("hex")}`;
    const request = { tenant: a.tenant, type: a.type, payload: a.payload, idempotency_key: key };
    const published = await callWithRetries(client, "PublishEvent", request, apiKey, deadlineMs);
    out.publish = {
      event_id: published.event_id,
      delivery_ids: published.delivery_ids,
      duplicate: published.duplicate,
      idempotency_key: key,
    };
  } finally {
    client.close();
  }
  console.log(JSON.stringify(out));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`error: ${err.code !== undefined ? `${grpc.status[err.code]}: ${err.details}` : err.message}`);
    process.exit(1);
  });
}
