// `levee demo`: a whole cluster on this machine, one command. The cloud runs on 127.0.0.10 and
// each edge on 127.0.0.11, .12, ... (Linux routes all of 127.0.0.0/8 to loopback), each with its
// own data dir under <data-dir>/demo/. Once they are ready it applies the Dayu-like pipeline of
// examples/dayu-pipeline (embedded in the binary, see src/cli/demo/pipeline-manifest.ts), prints
// how to look inside, then a summary of the pipeline every few seconds until Ctrl-C. The agents
// run with --stop-workers-on-exit, so Ctrl-C leaves nothing running.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { defaultDataDir } from "../../config/defaults.ts";
import { optionsFor } from "../../config/schema.ts";
import { describeError } from "../../runtime/errors.ts";
import { isCompiled } from "../../runtime/version.ts";
import {
  type LaunchedAgent,
  launchAgent,
  requestJoinToken,
  stopAgent,
  waitReady,
} from "../agent-launcher.ts";
import { defineCommand } from "../command.ts";
import { dashboardHint, lookInside } from "../demo/hints.ts";
import { applyPipeline, fetchStats, waitPipelineReady } from "../demo/pipeline-runner.ts";
import { formatSummary } from "../demo/summary.ts";

const CLOUD_ADDRESS = "127.0.0.10";
const edgeAddress = (i: number) => `127.0.0.${11 + i}`;
const SUMMARY_EVERY_MS = 5000;
const PIPELINE_READY_TIMEOUT_MS = 90_000;

export const demoCommand = defineCommand({
  name: "demo",
  summary: "start a cloud and edges on loopback addresses of this machine with a demo pipeline",
  usage: "levee demo [--edges N] [--data-dir DIR]",
  details:
    `The cloud listens on ${CLOUD_ADDRESS} (API :7400, MQTT :1883), edge i on 127.0.0.(10+i); every\n` +
    "agent's local API is on its address at :7401. Data dirs: <data-dir>/demo/<node>. Then it runs\n" +
    "the Dayu-like pipeline of examples/dayu-pipeline (needs `node` on the PATH) and prints its\n" +
    "numbers every few seconds. Ctrl-C stops the agents and their workers.",
  options: optionsFor("demo"),
  async run({ options }) {
    const root = join(resolve(options.dataDir ?? defaultDataDir()), "demo");
    // The demo leaves nothing running at Ctrl-C: its agents stop their workers too.
    const logArgs = [
      "--log-level",
      options.logLevel,
      "--log-format",
      options.logFormat ?? "text",
      "--stop-workers-on-exit",
    ];
    const width = "cloud".length + String(options.edges).length + 4;
    const onLine = (name: string) => (line: string) =>
      process.stderr.write(`${`[${name}]`.padEnd(width)} ${line}\n`);
    const agents: LaunchedAgent[] = [];
    const started = performance.now();
    let stopping = false;
    let stopped: Promise<unknown> | undefined;
    const stopAll = () => {
      stopping = true;
      stopped ??= Promise.all(agents.map((a) => stopAgent(a)));
      return stopped;
    };
    process.on("SIGINT", () => void stopAll());
    process.on("SIGTERM", () => void stopAll());

    const cloudUrl = `http://${CLOUD_ADDRESS}:7400`;
    const common = (name: string, address: string) => [
      "--node-name",
      name,
      "--bind-address",
      address,
      "--data-dir",
      join(root, name),
      ...logArgs,
    ];
    agents.push(
      launchAgent({
        name: "cloud",
        args: ["cloud", ...common("cloud", CLOUD_ADDRESS)],
        readyUrl: `${cloudUrl}/readyz`,
        onLine: onLine("cloud"),
      }),
    );
    let joinToken = "";
    let adminToken = "";
    try {
      const cloud = agents[0];
      if (!cloud) throw new Error("the cloud did not start");
      await waitReady(cloud, 15_000);
      adminToken = readFileSync(join(root, "cloud", "admin.token"), "utf8").trim();
      if (options.edges > 0) joinToken = await requestJoinToken(cloudUrl, adminToken, options.edges);
    } catch (err) {
      process.stderr.write(`levee demo: ${describeError(err)}\n`);
      await stopAll();
      return 1;
    }
    const edges: { name: string; address: string }[] = [];
    for (let i = 0; i < options.edges; i++) {
      const name = `edge${i + 1}`;
      edges.push({ name, address: edgeAddress(i) });
      agents.push(
        launchAgent({
          name,
          // the token is only used the first time; later runs find their identity in the data dir
          args: ["edge", "--cloud", cloudUrl, "--token", joinToken, ...common(name, edgeAddress(i))],
          readyUrl: `http://${edgeAddress(i)}:7401/readyz`,
          onLine: onLine(name),
        }),
      );
    }
    try {
      await Promise.all(agents.map((a) => waitReady(a, 15_000)));
    } catch (err) {
      process.stderr.write(`levee demo: ${describeError(err)}\n`);
      await stopAll();
      return 1;
    }
    const ms = Math.round(performance.now() - started);
    const rows = agents.map((a) => `  ${a.name.padEnd(8)}${a.readyUrl.replace(/\/readyz$/, "")}`);
    process.stdout.write(
      `levee demo: ${agents.length} agents ready in ${ms} ms\n${rows.join("\n")}\n` +
        `  cloud API: ${cloudUrl} (try: curl ${cloudUrl}/readyz)\n` +
        `${dashboardHint({ cloudDataDir: join(root, "cloud"), cloudAddress: CLOUD_ADDRESS, cwd: process.cwd() }).join("\n")}\n`,
    );

    const pipeline = await startPipeline({ root, cloudUrl, adminToken, edges, stopping: () => stopping });
    if (pipeline === "failed") {
      await stopAll();
      return 1;
    }
    process.stdout.write("Press Ctrl-C to stop.\n");
    if (pipeline) void printSummaries(pipeline.statsUrl, () => stopping);

    const first = await Promise.race(agents.map((a) => a.exited.then((code) => ({ a, code }))));
    if (!stopping) {
      process.stderr.write(
        `levee demo: ${first.a.name} exited with code ${first.code}; stopping the others\n`,
      );
      await stopAll();
      return 1;
    }
    await stopAll();
    return 0;
  },
});

interface PipelineContext {
  root: string;
  cloudUrl: string;
  adminToken: string;
  edges: { name: string; address: string }[];
  stopping: () => boolean;
}

/**
 * Applies the pipeline and waits for it. Resolves with the distributor's stats URL; undefined when
 * the pipeline cannot run here (no node, no edge: said why, the cluster runs on); "failed" when the
 * cloud refused it.
 */
async function startPipeline(ctx: PipelineContext): Promise<{ statsUrl: string } | undefined | "failed"> {
  const say = (text: string) => process.stdout.write(`${text}\n`);
  if (ctx.edges.length === 0) {
    say("levee demo: no edges (--edges 0): the pipeline needs at least one; the cluster runs without it.");
    return undefined;
  }
  if (!Bun.which("node")) {
    say(
      "levee demo: the pipeline's services are Node.js scripts and `node` is not on the PATH; " +
        "the cluster runs without them (install Node.js 18+ to see the pipeline).",
    );
    return undefined;
  }
  // Loaded here: every `levee` command imports this module, and the manifest parser is large.
  const { meshPort, pipelineFor, workerCounts } = await import("../demo/pipeline-manifest.ts");
  const objects = pipelineFor(ctx.edges.map((e) => e.name));
  try {
    await applyPipeline(ctx.cloudUrl, ctx.adminToken, objects);
  } catch (err) {
    process.stderr.write(`levee demo: ${describeError(err)}\n`);
    return "failed";
  }
  const counts = workerCounts(objects);
  const total = [...counts.values()].reduce((n, c) => n + c, 0);
  say(
    `levee demo: pipeline applied (${[...counts.keys()].join(", ")}: ${total} workers); waiting for them...`,
  );
  const waitStarted = performance.now();
  const notReady = await waitPipelineReady(
    ctx.cloudUrl,
    ctx.adminToken,
    counts,
    PIPELINE_READY_TIMEOUT_MS,
    ctx.stopping,
  );
  if (ctx.stopping()) return undefined;
  if (notReady.length > 0) {
    say(`levee demo: after ${PIPELINE_READY_TIMEOUT_MS / 1000} s, not ready yet:`);
    for (const line of notReady.slice(0, 10)) say(`  ${line}`);
  } else {
    say(`levee demo: pipeline ready in ${Math.round(performance.now() - waitStarted)} ms`);
  }
  const port = meshPort(objects, "distributor");
  const statsUrl = `http://${CLOUD_ADDRESS}:${port}/stats`;
  const edge = ctx.edges[0];
  for (const line of lookInside({
    levee: leveeInvocation(),
    cloudDataDir: join(ctx.root, "cloud"),
    cloudAddress: CLOUD_ADDRESS,
    ...(edge ? { edge } : {}),
    distributorUrl: statsUrl,
    cwd: process.cwd(),
  }))
    say(line);
  return { statsUrl };
}

async function printSummaries(statsUrl: string, stopping: () => boolean): Promise<void> {
  const since = performance.now();
  while (!stopping()) {
    await Bun.sleep(SUMMARY_EVERY_MS);
    if (stopping()) return;
    const stats = await fetchStats(statsUrl);
    const lines =
      "error" in stats
        ? [`[pipeline] no numbers from the distributor yet (${stats.error})`]
        : formatSummary(stats, performance.now() - since);
    process.stdout.write(`${lines.join("\n")}\n`);
  }
}

/** How the user runs levee: the compiled binary, or from the source tree. */
function leveeInvocation(): string {
  if (isCompiled()) return Bun.which("levee") === process.execPath ? "levee" : process.execPath;
  const pkg = join(process.cwd(), "package.json");
  if (existsSync(pkg) && /"name":\s*"levee"/.test(readFileSync(pkg, "utf8"))) return "npm run levee --";
  return `${process.execPath} ${Bun.main}`;
}
