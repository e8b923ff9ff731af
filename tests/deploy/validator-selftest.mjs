#!/usr/bin/env node
// Proves that validate-manifests.mjs catches what it claims to: takes a good rendering,
// breaks it in one way per copy, validates all copies in one run, and expects each copy to
// fail with the expected message.
//
// usage: node validator-selftest.mjs --tools DIR RENDERED.yaml
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve, dirname } from "node:path";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const toolsDir = resolve(args[args.indexOf("--tools") + 1]);
const input = args[args.length - 1];
const require = createRequire(join(toolsDir, "package.json"));
const YAML = require("yaml");
const here = dirname(fileURLToPath(import.meta.url));

const good = YAML.parseAllDocuments(readFileSync(input, "utf8")).map((d) => d.toJSON()).filter(Boolean);
const find = (objs, kind, suffix) => objs.find((o) => o.kind === kind && o.metadata.name.endsWith(suffix));
const worker = (objs) => find(objs, "Deployment", "-worker").spec.template.spec;
const registry = (objs) => find(objs, "Deployment", "-registry").spec.template.spec;

const CASES = [
  ["unknown container field", "unknown field", (o) => { worker(o).containers[0].imagePullPolicyy = "Always"; }],
  ["unknown spec field", "unknown field", (o) => { find(o, "Deployment", "-worker").spec.replica = 2; }],
  ["replicas as a string", "must be integer", (o) => { find(o, "Deployment", "-registry").spec.replicas = "2"; }],
  ["no readiness probe", "no readinessProbe", (o) => { delete worker(o).containers[0].readinessProbe; }],
  ["no liveness probe", "no livenessProbe", (o) => { delete registry(o).containers[0].livenessProbe; }],
  ["no memory limit", "no resources.limits.memory", (o) => { delete worker(o).containers[0].resources.limits.memory; }],
  ["no image", "no image", (o) => { delete worker(o).containers[0].image; }],
  ["latest image", "no pinned tag", (o) => { worker(o).containers[0].image = "hookrelay:latest"; }],
  ["root user", "runAsNonRoot is not true", (o) => { worker(o).containers[0].securityContext.runAsNonRoot = false; worker(o).securityContext.runAsNonRoot = false; }],
  ["writable root fs", "readOnlyRootFilesystem is not true", (o) => { registry(o).containers[0].securityContext.readOnlyRootFilesystem = false; }],
  ["capabilities kept", "capabilities.drop does not include ALL", (o) => { registry(o).containers[0].securityContext.capabilities.drop = []; }],
  ["unknown flag", "has no flag --max_inflight", (o) => { worker(o).containers[0].args.push("--max_inflight=3"); }],
  ["short grace period", "not longer than the drain timeout", (o) => { worker(o).terminationGracePeriodSeconds = 20; }],
  ["registry http probe without TLS", "must use gRPC health probes", (o) => { registry(o).containers[0].readinessProbe = { httpGet: { path: "/readyz", port: "metrics" } }; }],
  ["registry gRPC liveness probe", "liveness must not use gRPC health", (o) => { registry(o).containers[0].livenessProbe = { grpc: { port: 50051 } }; }],
  ["service port typo", "is not a named container port", (o) => { find(o, "Service", "-registry").spec.ports[0].targetPort = "grcp"; }],
  ["Redis password as an argument", "Redis password in plain text", (o) => { worker(o).containers[0].args.push("--redis_password=hunter2"); }],
  ["Redis URL with a password in a literal env", "Redis password in plain text", (o) => {
    registry(o).containers[0].env = registry(o).containers[0].env.map((e) => (e.name === "HOOKRELAY_REDIS_URL" ? { name: e.name, value: "redis://:hunter2@redis:6379" } : e));
  }],
  ["Redis CA file not mounted", "is not on a read-only volume mount", (o) => { worker(o).containers[0].args.push("--redis_ca_file=/etc/hookrelay/redis-tls/ca.crt"); }],
  ["missing secret", "neither rendered nor declared external", (o) => { worker(o).containers[0].env[0].valueFrom.secretKeyRef.name = "nope"; }],
  ["second autoscaler", "one autoscaler per Deployment", (o) => {
    const w = find(o, "Deployment", "-worker");
    delete w.spec.replicas;
    o.push({ apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "extra" }, spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: w.metadata.name }, minReplicas: 1, maxReplicas: 2 } });
    o.push({ apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", metadata: { name: "extra" }, spec: { scaleTargetRef: { name: w.metadata.name }, triggers: [{ type: "prometheus", metadata: { serverAddress: "http://p:9090", query: "sum(hookrelay_stream_lag)", threshold: "10" } }] } });
  }],
  ["ScaledObject without lag query", "does not query hookrelay_stream_lag", (o) => {
    const w = find(o, "Deployment", "-worker");
    delete w.spec.replicas;
    o.push({ apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", metadata: { name: "extra" }, spec: { scaleTargetRef: { name: w.metadata.name }, triggers: [{ type: "prometheus", metadata: { serverAddress: "http://p:9090", query: "up", threshold: "10" } }] } });
  }],
  ["NetworkPolicy port typo", "is not a named container port", (o) => {
    o.push({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "extra" }, spec: { podSelector: { matchLabels: find(o, "Deployment", "-worker").spec.selector.matchLabels }, ingress: [{ ports: [{ port: "metrix" }] }] } });
  }],
  ["spread selecting other pods", "does not select the workload's own pods", (o) => {
    worker(o).topologySpreadConstraints[0].labelSelector.matchLabels["app.kubernetes.io/component"] = "registry";
  }],
  ["selector mismatch", "selector matches no workload", (o) => { find(o, "PodDisruptionBudget", "-worker").spec.selector.matchLabels["app.kubernetes.io/component"] = "wrker"; }],
];

const dir = mkdtempSync(join(tmpdir(), "hookrelay-selftest-"));
const files = CASES.map(([name, , mutate], i) => {
  const objs = structuredClone(good);
  mutate(objs);
  const f = join(dir, `case${i}.yaml`);
  writeFileSync(f, objs.map((o) => YAML.stringify(o)).join("---\n"));
  return f;
});
const r = spawnSync(process.execPath, [join(here, "validate-manifests.mjs"), "--tools", toolsDir, ...files], { encoding: "utf8" });
rmSync(dir, { recursive: true, force: true });
let bad = 0;
CASES.forEach(([name, expect], i) => {
  const lines = r.stderr.split("\n").filter((l) => l.includes(`[${files[i]}]`));
  if (lines.some((l) => l.includes(expect))) console.log(`  ok caught: ${name}`);
  else {
    bad++;
    console.error(`  FAIL not caught: ${name} (expected "${expect}"), got:\n    ${lines.join("\n    ") || "(nothing)"}`);
  }
});
if (r.status === 0) {
  bad++;
  console.error("  FAIL the validator exited 0 on broken manifests");
}
process.exit(bad ? 1 : 0);
