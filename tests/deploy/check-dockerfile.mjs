#!/usr/bin/env node
// hookrelay's rules for its Dockerfile, beyond what the generic linters check:
//   * multi-stage; the final stage runs as a numeric non-root USER, has no HEALTHCHECK,
//     carries OCI labels, and starts in exec form (no shell needed at run time);
//   * the build stage copies every source directory the root CMakeLists.txt adds (so the
//     image keeps building when a directory is added) and builds the three binaries;
//   * .dockerignore keeps build trees and node_modules out of the context;
//   * no `# syntax=` line (BuildKit would pull that frontend from a registry).
// usage: node check-dockerfile.mjs REPO_ROOT
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = process.argv[2] ?? ".";
const text = readFileSync(join(root, "Dockerfile"), "utf8");
// Join continuation lines, drop comments.
const lines = text
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const stages = [];
for (const l of lines) {
  const [instr, ...rest] = l.split(/\s+/);
  const I = instr.toUpperCase();
  if (I === "FROM") stages.push({ from: l, instrs: [] });
  else if (stages.length) stages.at(-1).instrs.push([I, rest.join(" ")]);
}
let bad = 0;
const fail = (m) => {
  bad++;
  console.error(`  FAIL Dockerfile: ${m}`);
};
if (/^#\s*syntax\s*=/im.test(text)) fail("a `# syntax=` line makes BuildKit pull its frontend from a registry (none may be reachable)");
if (stages.length < 2) fail("not multi-stage");
const last = stages.at(-1) ?? { instrs: [] };
const get = (st, I) => st.instrs.filter(([i]) => i === I).map(([, a]) => a);
const user = get(last, "USER").at(-1);
if (!user) fail("final stage has no USER");
else if (!/^[1-9][0-9]*(:[0-9]+)?$/.test(user)) fail(`final USER ${user} is not a numeric non-root UID`);
if (get(last, "HEALTHCHECK").length) fail("final stage has a HEALTHCHECK (Kubernetes probes do that)");
const labels = get(last, "LABEL").join(" ");
for (const l of ["title", "description", "version", "revision", "licenses"]) {
  if (!labels.includes(`org.opencontainers.image.${l}=`)) fail(`no org.opencontainers.image.${l} label`);
}
for (const I of ["CMD", "ENTRYPOINT"]) {
  for (const a of get(last, I)) if (!a.startsWith("[")) fail(`${I} ${a} is in shell form (needs /bin/sh at run time)`);
}
if (last.instrs.some(([i, a]) => i === "RUN" && /build-essential|cmake|-dev\b/.test(a))) fail("runtime stage installs build tools");
const build = stages[0] ?? { instrs: [] };
const copied = get(build, "COPY").map((a) => a.split(/\s+/)[0].replace(/\/$/, ""));
const cmake = readFileSync(join(root, "CMakeLists.txt"), "utf8");
const needed = new Set();
// add_subdirectory(x) outside the tests guard, and include(<dir>/...)
const cmakeNoTests = cmake.replace(/if\(HOOKRELAY_BUILD_TESTS\)[\s\S]*?endif\(\)/g, "");
for (const m of cmakeNoTests.matchAll(/add_subdirectory\(\s*([^\s)]+)/g)) needed.add(m[1].split("/")[0]);
for (const m of cmakeNoTests.matchAll(/include\(\s*([^\s)]+\/[^\s)]+)/g)) needed.add(m[1].split("/")[0]);
for (const d of needed) if (!copied.includes(d)) fail(`the build stage does not COPY ${d}/, which CMakeLists.txt adds`);
if (!copied.includes("CMakeLists.txt")) fail("the build stage does not COPY CMakeLists.txt");
const runs = get(build, "RUN").join(" ");
for (const t of ["webhook-registry", "delivery-worker", "hookctl"]) if (!runs.includes(t)) fail(`the build stage does not build ${t}`);
if (!/-DHOOKRELAY_BUILD_TESTS=OFF/.test(runs)) fail("the build stage does not turn tests off");
const ignore = existsSync(join(root, ".dockerignore")) ? readFileSync(join(root, ".dockerignore"), "utf8") : "";
if (!ignore) fail("no .dockerignore");
else for (const p of ["build", "node_modules"]) if (!ignore.includes(p)) fail(`.dockerignore does not exclude ${p}`);
if (bad) process.exit(1);
console.log(`  ok Dockerfile: ${stages.length} stages, USER ${user}, copies ${copied.join(" ")}`);
