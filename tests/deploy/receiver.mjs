#!/usr/bin/env node
// A webhook receiver for the container smoke tests that checks every request with the public
// `standardwebhooks` npm package, an implementation independent of hookrelay's signer.
//
//   node receiver.mjs --tools DIR --port N [--host 127.0.0.1] [--hold-ms 3000]
//   env HOOKRELAY_RECEIVER_SECRETS='{"/fast":"whsec_...","/slow":"whsec_..."}'
//
// A path starting with /slow is answered after --hold-ms (default 3000), so that a test can
// stop a worker while the request is in flight. One JSON line per event on stdout:
//   {"event":"listening","port":N}
//   {"event":"received","path","id","verified":true|false,"error"?,"type"}   (on arrival)
//   {"event":"answered","path","id","status":204}
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
const secrets = JSON.parse(process.env.HOOKRELAY_RECEIVER_SECRETS ?? "{}");
const log = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const id = req.headers["webhook-id"] ?? "";
    const secret = secrets[req.url];
    const line = { event: "received", path: req.url, id, verified: false };
    try {
      if (!secret) throw new Error(`no secret configured for ${req.url}`);
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
