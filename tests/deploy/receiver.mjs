#!/usr/bin/env node
// A webhook receiver for the container smoke tests that checks every request with the public
// `standardwebhooks` npm package, an implementation independent of hookrelay's signer.
//
//   node receiver.mjs --tools DIR --port N [--host 127.0.0.1] [--hold-ms 3000] [--secrets FILE]
//   env HOOKRELAY_RECEIVER_SECRETS='{"/fast":"whsec_...","/slow":"whsec_..."}'
//
// Secrets by path come from the environment, or from --secrets FILE (the same JSON), read again
// for every request so that a test can start the receiver before it knows them. A request for
// a path without a secret yet is answered 503, which the worker retries.
//
// A path starting with /slow is answered after --hold-ms (default 3000), so that a test can
// stop a worker while the request is in flight. One JSON line per event on stdout:
//   {"event":"listening","port":N}
//   {"event":"received","path","id","verified":true|false,"error"?,"type"}   (on arrival)
//   {"event":"answered","path","id","status":204}
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const tools = resolve(opt("--tools", "."));
const host = opt("--host", "127.0.0.1");
const port = Number(opt("--port", "0"));
const holdMs = Number(opt("--hold-ms", "3000"));
const { Webhook } = createRequire(join(tools, "package.json"))("standardwebhooks");
const secretsFile = opt("--secrets", "");
const secretsOf = () =>
  secretsFile
    ? JSON.parse(existsSync(secretsFile) ? readFileSync(secretsFile, "utf8") || "{}" : "{}")
    : JSON.parse(process.env.HOOKRELAY_RECEIVER_SECRETS ?? "{}");
const log = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const id = req.headers["webhook-id"] ?? "";
    const secret = secretsOf()[req.url];
    const line = { event: "received", path: req.url, id, verified: false };
    if (!secret) {
      log({ ...line, error: `no secret for ${req.url} yet: 503` });
      res.writeHead(503).end();
      return;
    }
    try {
      const payload = new Webhook(secret).verify(body, req.headers);
      line.verified = true;
      line.type = payload.type;
    } catch (err) {
      line.error = err.message;
    }
    log(line);
    const status = line.verified ? 204 : 401;
    setTimeout(() => {
      res.writeHead(status).end();
      log({ event: "answered", path: req.url, id, status });
    }, req.url.startsWith("/slow") ? holdMs : 0);
  });
});
server.listen(port, host, () => log({ event: "listening", port: server.address().port }));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
