// Where does an idle levee agent's memory go?   ./node_modules/.bin/bun bench/idle-memory.ts [--runs N]
// Builds into a temp dir the levee binary exactly as build/build.ts does, and with the same options
// (Bun.build: compile, minify, bytecode, esm, bun-linux-x64, LEVEE_* defines) a baseline idle
// program, one idle program per dependency (each really uses it, so nothing is tree-shaken) and
// levee variants. Starts them one after another (agents on 127.0.0.200-210), times spawn → /readyz
// 200, lets each idle IDLE_MS, reads /proc/PID/status (VmRSS, RssAnon, RssFile), smaps_rollup (Pss)
// and smaps (per-mapping split), repeats RUNS times, prints medians as Markdown. Each process runs
// from its own copy of its binary, so no page cache is shared and Pss is what it costs alone.
// Linux x64 only; about 40 s; exits with 124 (after stopping everything) if it passes 170 s.

import { cpSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import type { BunPlugin, Subprocess } from "bun";
import { buildTarget, gitCommit } from "../build/build.ts";
import { requestJoinToken } from "../src/cli/agent-launcher.ts";

const root = join(import.meta.dir, "..");
const RUNS = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 3;
const IDLE_MS = 5000;
const tmp = mkdtempSync(join(tmpdir(), "levee-idle-"));
const live = new Set<Subprocess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(130));
setTimeout(() => process.exit(124), 170_000).unref();

// ---- small programs: `keep` holds what each made (nothing gets collected), `dir` is its own dir ----
const PROGRAMS = `
baseline |
Bun.serve (no deps) | keep.push(Bun.serve({ hostname: "127.0.0.200", port: 0, fetch: () => new Response() }));
bun:sqlite (open db) | import { Database } from "bun:sqlite"; const db = new Database(dir + "/x.db"); db.run("pragma user_version = 1"); keep.push(db);
hono | import { Hono } from "hono"; keep.push(await new Hono().get("/", (c) => c.text("ok")).request("/"));
zod | import { z } from "zod"; keep.push(z.object({ a: z.string(), n: z.number().int() }).parse({ a: "x", n: 1 }));
zod/mini | import * as zm from "zod/mini"; keep.push(zm.object({ a: zm.string(), n: zm.int() }).parse({ a: "x", n: 1 }));
yaml | import { parse } from "yaml"; keep.push(parse("a: 1\\nb: [x, y]\\n"));
mqtt | import mqtt from "mqtt"; keep.push(mqtt.connect("mqtt://127.0.0.200:1", { manualConnect: true }));
aedes | import { Aedes } from "aedes"; keep.push(await Aedes.createBroker({ id: "bench" }));`;
const cut = (l: string): [string, string] => [l.slice(0, l.indexOf(" |")), l.slice(l.indexOf(" |") + 3)];
const programs = Array.from(PROGRAMS.trim().split("\n"), cut);
const together = programs.filter(([name]) => !["baseline", "zod/mini"].includes(name));
programs.push(["levee's deps together", together.map(([, code]) => code).join("\n")]);
const ENTRIES: Record<string, string> = {};
for (const [name, code] of programs) {
  // (imports are hoisted, so they may follow the statements)
  ENTRIES[name] = `const keep: unknown[] = [];\nconst dir = process.argv[2] ?? "/tmp";\n${code}
(globalThis as Record<string, unknown>).__keep = keep;\nsetInterval(() => {}, 1000);\n`;
}
const src = (p: string) => JSON.stringify(join(root, "src", p));
// Bun.gc(true) once, 1 s after start, then the real levee main.
ENTRIES.gc = `import { main } from ${src("cli/main.ts")};\nsetTimeout(() => Bun.gc(true), 1000);
process.exit(await main(process.argv.slice(2), process.env));`;
// Only the edge path: what `levee edge` loads when the cloud modules (aedes, mqtt) are imported lazily.
ENTRIES.edge = `import { edgeCommand as c } from ${src("cli/commands/edge.ts")};
import { loadOptions } from ${src("config/load.ts")};
const o = loadOptions({ command: "levee edge", keys: c.options, argv: process.argv.slice(3), env: process.env });
process.exit(o.help ? 0 : await c.run({ options: o.options, positionals: [], env: process.env }));`;

// ---- builds ----------------------------------------------------------------------------------
const srcDir = join(tmp, "src");
mkdirSync(srcDir);
symlinkSync(join(root, "node_modules"), join(srcDir, "node_modules")); // so "hono" etc. resolve
const commit = gitCommit();
const slug = (s: string) => s.replace(/\W+/g, "-");
// `yaml` replaced by a stub: the edge when the YAML parser is imported only if --config is given.
const noYaml: BunPlugin = {
  name: "no-yaml",
  setup(b) {
    b.onResolve({ filter: /^yaml$/ }, (a) => ({ path: a.path, namespace: "stub" }));
    const contents = "export const parse = () => {};";
    b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents, loader: "js" }));
  },
};
type Opts = { minify?: boolean; bytecode?: boolean; execArgv?: string[]; jitPolicy?: number };
type Build = [id: string, entry: string, o?: Opts & { noYaml?: boolean; order?: string }];
async function compile(...[id, entry, o = {}]: Build): Promise<string> {
  if (id === "levee") return (await buildTarget("linux-x64", join(tmp, "dist"), commit)).outfile;
  const [file, outfile] = [ENTRIES[entry] ? join(srcDir, `${slug(id)}.ts`) : entry, join(tmp, slug(id))];
  if (file !== entry) await Bun.write(file, ENTRIES[entry] ?? "");
  const { execArgv = [], jitPolicy = 1, order, minify = true, bytecode = true } = o;
  const compile = { target: "bun-linux-x64", outfile, execArgv, jitPolicy, bytecodeOrder: order };
  const define = { LEVEE_TARGET: `"bun-linux-x64"`, LEVEE_COMMIT: JSON.stringify(commit) };
  const r = await Bun.build({
    ...{ entrypoints: [file], compile: compile as Bun.CompileBuildOptions, format: "esm", define },
    ...{ minify, bytecode, plugins: o.noYaml ? [noYaml] : [] },
  });
  if (!r.success) throw new Error(`build ${id} failed: ${r.logs.join("\n")}`);
  return outfile;
}
const main = join(root, "src/cli/main.ts");
const lean = { execArgv: ["--smol"], jitPolicy: 10, noYaml: true };
const BUILDS: Build[] = [
  ["levee", main],
  ["smol", main, { execArgv: ["--smol"] }],
  ["jit10", main, { jitPolicy: 10 }],
  ["nobytecode", main, { bytecode: false }],
  ["nominify", main, { minify: false }],
  ["gc", "gc"],
  ["edge", "edge"],
  ["edge-noyaml", "edge", { noYaml: true }],
  ["edge-lean", "edge", lean],
  ...programs.map(([name]): Build => [name, name]),
];

// ---- what runs: the small programs, the cloud, then the edges ----------------------------------
const EDGES: [name: string, build: string, env?: Record<string, string>][] = [
  ["levee edge", "levee"],
  ["levee edge, --compile-exec-argv=--smol", "smol"],
  ["levee edge, --compile-jit-policy=10", "jit10"],
  ["levee edge, env BUN_JSC_useJIT=0 (no JIT)", "levee", { BUN_JSC_useJIT: "0" }],
  ["levee edge, without --bytecode", "nobytecode"],
  ["levee edge, without --minify", "nominify"],
  ["levee edge, Bun.gc(true) 1 s after start", "gc"],
  ["edge-only entry (no aedes/mqtt/cloud code)", "edge"],
  ["edge-only, yaml stubbed out", "edge-noyaml"],
  ["edge-only, yaml stubbed, --smol, jit-policy 10", "edge-lean"],
  ["edge-only, yaml stubbed, --smol, jit-policy 10, --bytecode-order", "edge-lean-order"],
  ["the same, env BUN_JSC_useJIT=0 (no JIT)", "edge-lean-order", { BUN_JSC_useJIT: "0" }],
];
type Row = { name: string; build: string; args: (dir: string) => string[]; ready?: string; env?: object };
const common = (a: string, d: string) => ["--bind-address", a, "--data-dir", d, "--log-level", "warn"];
const rows: Row[] = programs.map(([name]) => ({ name, build: name, args: (d) => [d] }));
const cloud = { name: "levee cloud", build: "levee", ready: "http://127.0.0.200:7400/readyz" };
let joinToken = "";
rows.push({ ...cloud, args: (d) => ["cloud", "--node-name", "cloud", ...common("127.0.0.200", d)] });
for (const [i, [name, build, env]] of EDGES.entries()) {
  const [addr, port] = [`127.0.0.${201 + (i % 10)}`, `${7401 + Math.floor(i / 10)}`]; // 12 edges, 10 addresses
  const edge = ["edge", "--cloud", "http://127.0.0.200:7400", "--agent-port", port];
  // edges join the cloud of the same round with its token, then idle with their MQTT link up
  const args = (d: string) => [...edge, "--node-name", `edge${i}`, "--token", joinToken, ...common(addr, d)];
  rows.push({ name, build, args, ready: `http://${addr}:${port}/readyz`, env });
}

// ---- measuring -------------------------------------------------------------------------------
type Sample = Record<string, number>; // kB, except readyMs
function measure(pid: number): Sample {
  const kb = (text: string, key: string) => Number(text.match(new RegExp(`^${key}:\\s+(\\d+)`, "m"))?.[1]);
  const [status, rollup] = ["status", "smaps_rollup"].map((f) => readFileSync(`/proc/${pid}/${f}`, "utf8"));
  const s: Sample = { vmRss: kb(status ?? "", "VmRSS"), anon: kb(status ?? "", "RssAnon") };
  Object.assign(s, { file: kb(status ?? "", "RssFile"), pss: kb(rollup ?? "", "Pss"), code: 0, rodata: 0 });
  const exe = readlinkSync(`/proc/${pid}/exe`);
  const kinds: Record<string, string> = { "r-xp": "code", "r--p": "rodata" };
  let key = "libs"; // file-backed pages only: anonymous ones (heap, copy-on-write) are in `anon`
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = line.match(/^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/);
    if (head) key = head[2] !== exe ? "libs" : (kinds[head[1] ?? ""] ?? "data");
    const [, field, n] = line.match(/^(Rss|Anonymous):\s+(\d+)/) ?? [];
    if (n) s[key] = (s[key] ?? 0) + (field === "Rss" ? 1 : -1) * Number(n);
  }
  return s;
}

type Started = { proc: Subprocess; log: string; readyMs: number; at: number };
async function start(file: string, row: Row, name: string, env: object = {}): Promise<Started> {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const [log, t0] = [join(dir, "stderr.log"), performance.now()];
  const stdio: ["ignore", "ignore", Bun.BunFile] = ["ignore", "ignore", Bun.file(log)];
  const proc = Bun.spawn([file, ...row.args(dir)], { env: { ...process.env, ...row.env, ...env }, stdio });
  live.add(proc);
  const s: Started = { proc, log, readyMs: Number.NaN, at: 0 };
  const ok = (url: string) => fetch(url, { signal: AbortSignal.timeout(500) }).catch(() => undefined);
  if (!row.ready) await Bun.sleep(300); // let it start before the next one
  while (row.ready && Number.isNaN(s.readyMs)) {
    if (proc.exitCode !== null || performance.now() - t0 > 15_000) {
      await stop(s);
      throw new Error(`${row.name}: not ready (exit ${proc.exitCode})\n${readFileSync(log, "utf8")}`);
    }
    if ((await ok(row.ready))?.ok) s.readyMs = performance.now() - t0;
    else await Bun.sleep(10);
  }
  if (row.name === cloud.name) {
    const admin = readFileSync(join(dir, "admin.token"), "utf8").trim();
    joinToken = await requestJoinToken("http://127.0.0.200:7400", admin, EDGES.length);
  }
  s.at = performance.now();
  return s;
}
async function stop({ proc }: Started): Promise<void> {
  const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
  proc.kill("SIGTERM");
  await proc.exited;
  clearTimeout(timer);
  live.delete(proc);
}

async function round(files: string[], r: number): Promise<Sample[]> {
  const started: Started[] = [];
  try {
    for (const [i, row] of rows.entries()) started.push(await start(files[i] ?? "", row, `${r}-${i}`));
    const samples: Sample[] = [];
    for (const [i, s] of started.entries()) {
      await Bun.sleep(Math.max(0, s.at + IDLE_MS - performance.now()));
      const exited = s.proc.exitCode !== null && readFileSync(s.log, "utf8");
      if (exited !== false) throw new Error(`${rows[i]?.name} exited:\n${exited}`);
      samples.push({ ...measure(s.proc.pid), readyMs: s.readyMs });
    }
    return samples;
  } finally {
    await Promise.all(started.map(stop));
  }
}

// ---- run and report --------------------------------------------------------------------------
const t0 = performance.now();
const built: Record<string, string> = {};
const worker = async () => {
  for (let b = BUILDS.shift(); b; b = BUILDS.shift()) built[b[0]] = await compile(...b);
};
await Promise.all(cpus().map(worker));
// --bytecode-order: record which functions a start of the lean edge uses, then build it with those first.
const order = join(tmp, "bytecode-order.txt");
const leanRow = rows.find((r) => r.build === "edge-lean") as Row;
const env = { BUN_BYTECODE_ORDER_OUT: order };
const cloudRow = rows.find((r) => r.name === cloud.name) as Row;
const profileCloud = await start(built.levee ?? "", cloudRow, "profile-cloud"); // the edge joins it
const profiled = await start(built["edge-lean"] ?? "", leanRow, "profile", env);
await Bun.sleep(1000).then(() => Promise.all([stop(profiled), stop(profileCloud)]));
built["edge-lean-order"] = await compile("edge-lean-order", "edge", { ...lean, order });
const seen = new Set<string>();
const files = rows.map((row, i) => {
  const file = built[row.build] ?? "";
  if (!seen.has(file)) return seen.add(file) && file;
  cpSync(file, join(tmp, `copy-${i}`)); // own inode: no page-cache sharing with the other process
  return join(tmp, `copy-${i}`);
});
console.error(`built ${Object.keys(built).length} binaries in ${Math.round(performance.now() - t0)} ms`);
const runs: Sample[][] = [];
for (let r = 0; r < RUNS; r++) {
  runs.push(await round(files, r));
  console.error(`run ${r + 1}/${RUNS} done at ${Math.round((performance.now() - t0) / 1000)} s`);
}
const med = (i: number, k: string) => {
  const v = runs.map((run) => run[i]?.[k] ?? NaN).sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)] ?? NaN;
};
const mb = (kb: number) => (kb / 1024).toFixed(1);
const uname = Bun.spawnSync(["uname", "-mr"]).stdout.toString().trim();
const [out, split] = [
  [
    `${cpus().length} CPUs, ${uname}, bun ${Bun.version}; median of ${RUNS} runs; MB = MiB; read ${IDLE_MS} ms`,
    "after start (agents: after /readyz 200); ready ms = spawn → /readyz 200 (page cache warm)\n",
    "| program | binary MB | VmRSS MB | RssAnon MB | RssFile MB | Pss MB | Δ VmRSS vs baseline | ready ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ],
  [
    "\nResident MB by mapping: file pages of the binary's code (r-x), read-only data (r--) and data +",
    "embedded bundle (rw-); all anonymous memory (JS heap, malloc, JIT code, stacks); other files (libc).\n",
    "| program | exe code | exe rodata | exe data + bundle | anonymous | other files |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ],
];
for (const [i, { name }] of rows.entries()) {
  const [rss, ready, size] = [med(i, "vmRss"), med(i, "readyMs"), Bun.file(files[i] ?? "").size];
  const delta = i === 0 ? "–" : `${rss >= med(0, "vmRss") ? "+" : ""}${mb(rss - med(0, "vmRss"))}`;
  const cells = [(size / 2 ** 20).toFixed(1), ...["vmRss", "anon", "file", "pss"].map((k) => mb(med(i, k)))];
  cells.push(delta, Number.isNaN(ready) ? "–" : ready.toFixed(0));
  out.push(`| ${name} | ${cells.join(" | ")} |`);
  split.push(
    `| ${name} | ${["code", "rodata", "data", "anon", "libs"].map((k) => mb(med(i, k))).join(" | ")} |`,
  );
}
console.log([...out, ...split].join("\n"));
console.error(`total ${Math.round((performance.now() - t0) / 1000)} s`);
process.exit(0);
