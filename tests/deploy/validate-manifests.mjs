#!/usr/bin/env node
// Validates rendered Helm manifests (multi-document YAML files):
//   1. each object against the Kubernetes OpenAPI schema (kubernetes-models validate():
//      types, required fields, formats, enums), and the Prometheus Operator and KEDA CRD
//      schemas;
//   2. strictly: every field must be declared by the Kubernetes types (kubernetes-types, or
//      @kubernetes-models/prometheus-operator and @kubernetes-models/keda for the CRDs) -
//      unknown fields fail;
//   3. hookrelay's operational rules: every container has an image, resource requests and
//      limits, liveness and readiness probes, runs as non-root on a read-only root filesystem
//      with all capabilities dropped; selectors, ports, Secrets and HPA targets resolve; the
//      worker's grace period exceeds its drain timeout; flags are ones the services define;
//      one autoscaler per Deployment (HPA or KEDA ScaledObject), which then sets no replicas;
//      NetworkPolicies select pods and name ports those pods declare; topology spread
//      constraints select the pods of their own workload.
//
// usage: node validate-manifests.mjs --tools DIR [--external-secrets a,b] [--alerts FILE] FILE...
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { TypeShapes } from "./lib/tsshape.mjs";

const args = process.argv.slice(2);
let toolsDir = "";
let externalSecrets = new Set();
let alertsFile = "";
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--tools") toolsDir = resolve(args[++i]);
  else if (args[i] === "--external-secrets") externalSecrets = new Set(args[++i].split(",").filter(Boolean));
  else if (args[i] === "--alerts") alertsFile = args[++i];
  else files.push(args[i]);
}
if (!toolsDir || !files.length) {
  console.error("usage: validate-manifests.mjs --tools DIR [--external-secrets a,b] [--alerts FILE] FILE...");
  process.exit(2);
}
const require = createRequire(join(toolsDir, "package.json"));
const YAML = require("yaml");

// kind -> [kubernetes-models module, class, TS module, TS type]
const KINDS = {
  "apps/v1/Deployment": ["kubernetes-models/apps/v1/Deployment", "Deployment", "kubernetes-types/apps/v1", "Deployment"],
  "apps/v1/StatefulSet": ["kubernetes-models/apps/v1/StatefulSet", "StatefulSet", "kubernetes-types/apps/v1", "StatefulSet"],
  "v1/Service": ["kubernetes-models/v1/Service", "Service", "kubernetes-types/core/v1", "Service"],
  "v1/Secret": ["kubernetes-models/v1/Secret", "Secret", "kubernetes-types/core/v1", "Secret"],
  "v1/ConfigMap": ["kubernetes-models/v1/ConfigMap", "ConfigMap", "kubernetes-types/core/v1", "ConfigMap"],
  "v1/ServiceAccount": ["kubernetes-models/v1/ServiceAccount", "ServiceAccount", "kubernetes-types/core/v1", "ServiceAccount"],
  "v1/Pod": ["kubernetes-models/v1/Pod", "Pod", "kubernetes-types/core/v1", "Pod"],
  "policy/v1/PodDisruptionBudget": ["kubernetes-models/policy/v1/PodDisruptionBudget", "PodDisruptionBudget", "kubernetes-types/policy/v1", "PodDisruptionBudget"],
  "autoscaling/v2/HorizontalPodAutoscaler": ["kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler", "HorizontalPodAutoscaler", "kubernetes-types/autoscaling/v2", "HorizontalPodAutoscaler"],
  "monitoring.coreos.com/v1/ServiceMonitor": ["@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor", "ServiceMonitor", "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor", "IServiceMonitor"],
  "networking.k8s.io/v1/NetworkPolicy": ["kubernetes-models/networking.k8s.io/v1/NetworkPolicy", "NetworkPolicy", "kubernetes-types/networking/v1", "NetworkPolicy"],
  "keda.sh/v1alpha1/ScaledObject": ["@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject", "ScaledObject", "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject", "IScaledObject"],
  "monitoring.coreos.com/v1/PrometheusRule": ["@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule", "PrometheusRule", "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule", "IPrometheusRule"],
};
const alias = (key) => key.replace(/[^A-Za-z0-9]/g, "_");
const shapes = new TypeShapes(
  toolsDir,
  Object.fromEntries(Object.entries(KINDS).map(([k, v]) => [alias(k), [v[2], v[3]]])),
);

// Flags the services define (the chart must pass no other), read from their ABSL_FLAG
// definitions so this list cannot fall behind the code: main.cc's own, and those of the shared
// flag files it includes (e.g. libs/store/redis_flags.h -> redis_flags.cc, the --redis_* flags).
const repoRoot = resolve(new URL(".", import.meta.url).pathname, "../..");
const flagsIn = (file) =>
  [...readFileSync(join(repoRoot, file), "utf8").matchAll(/ABSL_FLAG\(\s*[^,]+,\s*(\w+)\s*,/g)].map(
    (m) => m[1],
  );
const flagsOf = (main) => {
  const shared = [...readFileSync(join(repoRoot, main), "utf8").matchAll(/^#include "(libs\/[\w/]+_flags)\.h"/gm)]
    .map((m) => `${m[1]}.cc`)
    .filter((f) => existsSync(join(repoRoot, f)));
  return [main, ...shared].flatMap(flagsIn);
};
const FLAGS = {
  "webhook-registry": flagsOf("services/registry/main.cc"),
  "delivery-worker": flagsOf("services/worker/main.cc"),
};
for (const [bin, list] of Object.entries(FLAGS)) {
  if (list.length < 5) throw new Error(`cannot read the flags of ${bin} (found ${list.length})`);
}

const durationSeconds = (d) => {
  const m = String(d).match(/^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/);
  if (!m) return NaN;
  let total = 0;
  for (const [, n, u] of String(d).matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(n) * { ms: 0.001, s: 1, m: 60, h: 3600 }[u];
  }
  return total;
};
const canonical = (v) =>
  JSON.stringify(v, (k, x) =>
    x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((k2) => [k2, x[k2]])) : x,
  );
const matches = (selector, labels) =>
  selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

let failures = 0;
let currentFile = "";
const fail = (where, msg) => {
  failures++;
  console.error(`  FAIL [${currentFile}] ${where}: ${msg}`);
};

for (const file of files) {
  currentFile = file;
  const docs = YAML.parseAllDocuments(readFileSync(file, "utf8"));
  const objects = [];
  for (const d of docs) {
    if (d.errors.length) {
      fail(file, `YAML: ${d.errors.map((e) => e.message).join("; ")}`);
      continue;
    }
    const o = d.toJSON();
    if (o) objects.push(o);
  }
  const before = failures;
  const counts = {};
  const byKind = (k) => objects.filter((o) => o.kind === k);
  const names = new Set();

  for (const o of objects) {
    const key = `${o.apiVersion}/${o.kind}`;
    const where = `${o.kind}/${o.metadata?.name}`;
    counts[o.kind] = (counts[o.kind] ?? 0) + 1;
    if (names.has(`${o.kind}/${o.metadata?.name}`)) fail(where, "duplicate object name");
    names.add(`${o.kind}/${o.metadata?.name}`);
    const spec = KINDS[key];
    if (!spec) {
      fail(where, `no schema known for ${key} (add it to validate-manifests.mjs)`);
      continue;
    }
    // 1. OpenAPI schema (kubernetes-models).
    try {
      const Model = require(spec[0])[spec[1]];
      new Model(o).validate();
    } catch (e) {
      fail(where, `schema: ${e.message}`);
    }
    // 2. Strict field check against the TS types.
    for (const err of shapes.check(o, alias(key), where)) fail(where, `strict: ${err}`);
    // Labels are strings (a YAML number or bool here is rejected by the API server).
    for (const [k, v] of Object.entries(o.metadata?.labels ?? {})) {
      if (typeof v !== "string") fail(where, `label ${k} is not a string`);
    }
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(o.metadata?.name ?? "") || o.metadata.name.length > 63) {
      fail(where, "metadata.name is not a valid DNS-1123 name of at most 63 characters");
    }
  }

  // 3. Operational rules for every pod template.
  const workloads = objects.filter((o) => ["Deployment", "StatefulSet", "DaemonSet", "Pod"].includes(o.kind));
  for (const w of workloads) {
    const where = `${w.kind}/${w.metadata.name}`;
    const isTestHook = w.kind === "Pod" && w.metadata.annotations?.["helm.sh/hook"];
    const podSpec = w.kind === "Pod" ? w.spec : w.spec.template.spec;
    const podLabels = w.kind === "Pod" ? w.metadata.labels : w.spec.template.metadata?.labels;
    if (w.kind !== "Pod" && !matches(w.spec.selector?.matchLabels, podLabels)) {
      fail(where, "spec.selector.matchLabels does not match the pod template labels");
    }
    const psc = podSpec.securityContext ?? {};
    for (const c of [...(podSpec.initContainers ?? []), ...podSpec.containers]) {
      const cw = `${where} container ${c.name}`;
      if (!c.image) fail(cw, "no image");
      else if (/:latest$/.test(c.image) || !/[:@]/.test(c.image.split("/").pop())) fail(cw, `image ${c.image} has no pinned tag or digest`);
      for (const part of ["requests", "limits"]) {
        for (const r of ["cpu", "memory"]) {
          if (c.resources?.[part]?.[r] === undefined) fail(cw, `no resources.${part}.${r}`);
        }
      }
      if (!isTestHook) {
        if (!c.livenessProbe) fail(cw, "no livenessProbe");
        if (!c.readinessProbe) fail(cw, "no readinessProbe");
      }
      const sc = c.securityContext ?? {};
      if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) fail(cw, "runAsNonRoot is not true");
      if ((sc.runAsUser ?? psc.runAsUser) === 0) fail(cw, "runs as UID 0");
      if (sc.readOnlyRootFilesystem !== true) fail(cw, "readOnlyRootFilesystem is not true");
      if (sc.allowPrivilegeEscalation !== false) fail(cw, "allowPrivilegeEscalation is not false");
      if (sc.privileged === true) fail(cw, "privileged");
      if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail(cw, "capabilities.drop does not include ALL");
      if ((sc.capabilities?.add ?? []).length) fail(cw, `adds capabilities ${sc.capabilities.add}`);
      // Secrets referenced by env must exist (rendered here, or named as external).
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref) checkSecretKey(cw, ref.name, ref.key);
      }
      // Probe ports must be declared container ports.
      const portNames = new Set((c.ports ?? []).map((p) => p.name));
      const portNums = new Set((c.ports ?? []).map((p) => p.containerPort));
      for (const pn of ["livenessProbe", "readinessProbe", "startupProbe"]) {
        const p = c[pn];
        const port = p?.httpGet?.port ?? p?.grpc?.port ?? p?.tcpSocket?.port;
        if (port !== undefined && !(portNames.has(port) || portNums.has(port))) fail(cw, `${pn} uses undeclared port ${port}`);
      }
      // Flags: only the ones the binary defines.
      const bin = (c.command ?? [])[0]?.split("/").pop();
      if (FLAGS[bin]) {
        for (const a of c.args ?? []) {
          const m = String(a).match(/^--([a-z_]+)(=|$)/);
          if (!m) fail(cw, `argument ${a} is not a --flag=value`);
          else if (!FLAGS[bin].includes(m[1])) fail(cw, `${bin} has no flag --${m[1]}`);
        }
        for (const e of c.env ?? []) {
          const m = e.name.match(/^HOOKRELAY_([A-Z_]+)$/);
          if (m && !FLAGS[bin].includes(m[1].toLowerCase())) fail(cw, `${bin} has no flag for ${e.name}`);
        }
      }
      if (FLAGS[bin]) checkRedisSettings(cw, c);
      if (bin === "delivery-worker") {
        const drainArg = (c.args ?? []).map(String).find((a) => a.startsWith("--drain_timeout="));
        const drain = drainArg ? durationSeconds(drainArg.split("=")[1]) : 25;
        const grace = podSpec.terminationGracePeriodSeconds ?? 30;
        if (!(grace > drain)) fail(cw, `terminationGracePeriodSeconds ${grace} is not longer than the drain timeout ${drain}s`);
      }
      if (bin === "webhook-registry") {
        const tls = (c.args ?? []).map(String).some((a) => a.startsWith("--tls_cert_file="));
        if (!tls && !c.readinessProbe?.grpc) fail(cw, "registry without TLS must use gRPC health probes for readiness");
        if (tls && c.readinessProbe?.grpc) fail(cw, "gRPC probes cannot reach a TLS port");
        // gRPC health follows Redis: as a liveness probe it would restart every registry in a Redis outage.
        if (c.livenessProbe?.grpc || c.startupProbe?.grpc) fail(cw, "registry liveness must not use gRPC health (it follows Redis)");
      }
    }
    for (const v of podSpec.volumes ?? []) {
      if (v.secret) {
        if (v.secret.items) for (const it of v.secret.items) checkSecretKey(`${where} volume ${v.name}`, v.secret.secretName, it.key);
        else checkSecretKey(`${where} volume ${v.name}`, v.secret.secretName, null);
      }
    }
    for (const c of podSpec.containers) {
      for (const m of c.volumeMounts ?? []) {
        const known = (podSpec.volumes ?? []).some((v) => v.name === m.name) ||
          (w.spec.volumeClaimTemplates ?? []).some((t) => t.metadata.name === m.name);
        if (!known) fail(`${where} container ${c.name}`, `volumeMount ${m.name} has no volume`);
      }
    }
    const sa = podSpec.serviceAccountName;
    if (sa && sa !== "default" && !objects.some((o) => o.kind === "ServiceAccount" && o.metadata.name === sa)) {
      fail(where, `serviceAccountName ${sa} is not rendered`);
    }
  }

  // The Redis password reaches the services only through a Secret: never in an argument or a
  // literal env value (both show in `kubectl get -o yaml` and `ps`). PEM files named by the
  // --redis_*_file flags must lie on a read-only volume mount.
  function checkRedisSettings(cw, c) {
    for (const a of (c.args ?? []).map(String)) {
      if (a.startsWith("--redis_password=")) fail(cw, "Redis password in plain text (an argument); use HOOKRELAY_REDIS_PASSWORD from a secretKeyRef");
      if (/^--redis_url=.*@/.test(a)) fail(cw, "Redis password in plain text (credentials in --redis_url); keep the URL in a Secret");
      const file = a.match(/^--redis_(?:ca|cert|key)_file=(.+)$/)?.[1];
      if (file && !(c.volumeMounts ?? []).some((m) => m.readOnly === true && file.startsWith(`${m.mountPath.replace(/\/$/, "")}/`))) {
        fail(cw, `${a.split("=")[0]} ${file} is not on a read-only volume mount`);
      }
    }
    for (const e of c.env ?? []) {
      if (e.name === "HOOKRELAY_REDIS_PASSWORD" && e.value !== undefined) fail(cw, "Redis password in plain text (a literal env value); use a secretKeyRef");
      if (e.name === "HOOKRELAY_REDIS_URL" && e.value !== undefined && /@/.test(e.value)) {
        fail(cw, "Redis password in plain text (credentials in a literal HOOKRELAY_REDIS_URL); use a secretKeyRef");
      }
    }
  }

  function checkSecretKey(where, name, key) {
    if (externalSecrets.has(name)) return;
    const s = objects.find((o) => o.kind === "Secret" && o.metadata.name === name);
    if (!s) return fail(where, `Secret ${name} is neither rendered nor declared external`);
    if (key && !(key in (s.data ?? {})) && !(key in (s.stringData ?? {}))) fail(where, `Secret ${name} has no key ${key}`);
  }

  const templates = workloads.map((w) => ({
    w,
    labels: w.kind === "Pod" ? w.metadata.labels : w.spec.template.metadata?.labels,
    containers: w.kind === "Pod" ? w.spec.containers : w.spec.template.spec.containers,
  }));
  for (const s of byKind("Service")) {
    const where = `Service/${s.metadata.name}`;
    const targets = templates.filter((t) => t.w.kind !== "Pod" && matches(s.spec.selector, t.labels));
    if (!targets.length) {
      fail(where, "selector matches no workload");
      continue;
    }
    for (const p of s.spec.ports) {
      if (typeof p.targetPort === "string") {
        const ok = targets.every((t) => t.containers.some((c) => (c.ports ?? []).some((cp) => cp.name === p.targetPort)));
        if (!ok) fail(where, `targetPort ${p.targetPort} is not a named container port of the selected pods`);
      }
    }
  }
  for (const p of byKind("PodDisruptionBudget")) {
    if (!templates.some((t) => matches(p.spec.selector?.matchLabels, t.labels))) fail(`PodDisruptionBudget/${p.metadata.name}`, "selector matches no workload");
  }
  for (const h of byKind("HorizontalPodAutoscaler")) {
    const ref = h.spec.scaleTargetRef;
    const target = objects.find((o) => o.kind === ref.kind && o.metadata.name === ref.name);
    if (!target) fail(`HorizontalPodAutoscaler/${h.metadata.name}`, `scaleTargetRef ${ref.kind}/${ref.name} is not rendered`);
    else if (target.spec.replicas !== undefined) fail(`${target.kind}/${target.metadata.name}`, "sets spec.replicas although an HPA scales it");
    if (h.spec.minReplicas > h.spec.maxReplicas) fail(`HorizontalPodAutoscaler/${h.metadata.name}`, "minReplicas > maxReplicas");
  }
  const scalers = [
    ...byKind("HorizontalPodAutoscaler").map((h) => [`HorizontalPodAutoscaler/${h.metadata.name}`, h.spec.scaleTargetRef]),
    ...byKind("ScaledObject").map((so) => [`ScaledObject/${so.metadata.name}`, so.spec.scaleTargetRef]),
  ];
  for (const [i, [where, ref]] of scalers.entries()) {
    const other = scalers.findIndex(([, r], j) => j !== i && r.name === ref.name && (r.kind ?? "Deployment") === (ref.kind ?? "Deployment"));
    if (other >= 0 && other > i) fail(where, `${ref.name} is also scaled by ${scalers[other][0]}: one autoscaler per Deployment`);
  }
  for (const so of byKind("ScaledObject")) {
    const where = `ScaledObject/${so.metadata.name}`;
    const ref = so.spec.scaleTargetRef;
    const target = objects.find((o) => o.kind === (ref.kind ?? "Deployment") && o.metadata.name === ref.name);
    if (!target) fail(where, `scaleTargetRef ${ref.kind ?? "Deployment"}/${ref.name} is not rendered`);
    else if (target.spec.replicas !== undefined) fail(`${target.kind}/${target.metadata.name}`, "sets spec.replicas although a ScaledObject scales it");
    if ((so.spec.minReplicaCount ?? 0) > (so.spec.maxReplicaCount ?? 100)) fail(where, "minReplicaCount > maxReplicaCount");
    for (const t of so.spec.triggers ?? []) {
      if (t.type === "prometheus" && !/^https?:\/\/./.test(t.metadata?.serverAddress ?? "")) fail(where, "the prometheus trigger has no serverAddress URL");
      if (t.type === "prometheus" && !/hookrelay_stream_lag/.test(t.metadata?.query ?? "")) fail(where, "the prometheus trigger does not query hookrelay_stream_lag");
      if (t.type === "prometheus" && !(Number(t.metadata?.threshold) > 0)) fail(where, "the prometheus trigger's threshold is not a positive number");
      if (["cpu", "memory"].includes(t.type) && target) {
        const cs = target.spec.template.spec.containers;
        if (!cs.every((c) => c.resources?.requests?.[t.type])) fail(where, `a ${t.type} trigger needs ${t.type} requests on every container`);
      }
    }
  }
  for (const np of byKind("NetworkPolicy")) {
    const where = `NetworkPolicy/${np.metadata.name}`;
    const selected = templates.filter((t) => t.w.kind !== "Pod" && matches(np.spec.podSelector?.matchLabels, t.labels));
    if (!selected.length) {
      fail(where, "podSelector matches no workload");
      continue;
    }
    for (const rule of np.spec.ingress ?? []) {
      for (const p of rule.ports ?? []) {
        if (typeof p.port !== "string") continue;
        const ok = selected.every((t) => t.containers.some((c) => (c.ports ?? []).some((cp) => cp.name === p.port)));
        if (!ok) fail(where, `ingress port ${p.port} is not a named container port of the selected pods`);
      }
    }
  }
  for (const t of templates) {
    if (t.w.kind === "Pod") continue;
    for (const c of t.w.spec.template.spec.topologySpreadConstraints ?? []) {
      if (!matches(c.labelSelector?.matchLabels, t.labels)) {
        fail(`${t.w.kind}/${t.w.metadata.name}`, `topology spread on ${c.topologyKey} does not select the workload's own pods`);
      }
    }
  }
  for (const sm of byKind("ServiceMonitor")) {
    const where = `ServiceMonitor/${sm.metadata.name}`;
    const services = byKind("Service").filter((s) => matches(sm.spec.selector?.matchLabels, s.metadata.labels));
    const jobs = services.map((s) => s.metadata.labels?.[sm.spec.jobLabel]).sort();
    if (JSON.stringify(jobs) !== JSON.stringify(["hookrelay-registry", "hookrelay-worker"])) {
      fail(where, `selects Services with jobs ${JSON.stringify(jobs)}, want hookrelay-registry and hookrelay-worker`);
    }
    for (const ep of sm.spec.endpoints) {
      for (const s of services) {
        if (!s.spec.ports.some((p) => p.name === ep.port)) fail(where, `Service ${s.metadata.name} has no port ${ep.port}`);
      }
    }
  }
  for (const pr of byKind("PrometheusRule")) {
    if (!alertsFile) continue;
    const where = `PrometheusRule/${pr.metadata.name}`;
    const want = YAML.parse(readFileSync(alertsFile, "utf8")).groups;
    const got = pr.spec.groups ?? [];
    // Identical to the alerts file, except for labels the chart adds to every rule (ruleLabels;
    // a rule's own label wins over them).
    const src = want.flatMap((g) => g.rules);
    const out = got.flatMap((g) => g.rules ?? []);
    const extra = {};
    if (out.length) {
      for (const [k, v] of Object.entries(out[0].labels ?? {})) if (!(k in (src[0]?.labels ?? {}))) extra[k] = v;
    }
    const norm = (groups, addLabels) =>
      canonical(groups.map((g) => ({ ...g, rules: g.rules.map((r) => ({ ...r, labels: { ...addLabels, ...(r.labels ?? {}) } })) })));
    if (norm(got, {}) !== norm(want, extra)) fail(where, `rules differ from ${alertsFile}`);
  }

  const summary = Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(", ");
  if (failures === before) console.log(`  ok ${file}: ${objects.length} objects (${summary})`);
}

if (failures) {
  console.error(`${failures} problem(s) in the rendered manifests`);
  process.exit(1);
}
