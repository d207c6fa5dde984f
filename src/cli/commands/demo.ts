// `levee demo`: a whole cluster on this machine, one command. The cloud runs on 127.0.0.10 and
// each edge on 127.0.0.11, .12, ... (Linux routes all of 127.0.0.0/8 to loopback), each with its
// own data dir under <data-dir>/demo/. Runs in the foreground until Ctrl-C.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { defaultDataDir } from "../../config/defaults.ts";
import { optionsFor } from "../../config/schema.ts";
import {
  type LaunchedAgent,
  launchAgent,
  requestJoinToken,
  stopAgent,
  waitReady,
} from "../agent-launcher.ts";
import { defineCommand } from "../command.ts";

const CLOUD_ADDRESS = "127.0.0.10";
const edgeAddress = (i: number) => `127.0.0.${11 + i}`;

export const demoCommand = defineCommand({
  name: "demo",
  summary: "start a cloud and edges on loopback addresses of this machine, in the foreground",
  usage: "levee demo [--edges N] [--data-dir DIR]",
  details: `The cloud listens on ${CLOUD_ADDRESS} (API :7400, MQTT :1883), edge i on 127.0.0.(10+i); every\nagent's local API is on its address at :7401. Data dirs: <data-dir>/demo/<node>.`,
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
    const stopAll = async () => {
      stopping = true;
      await Promise.all(agents.map((a) => stopAgent(a)));
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
    try {
      const cloud = agents[0];
      if (!cloud) throw new Error("the cloud did not start");
      await waitReady(cloud, 15_000);
      const adminToken = readFileSync(join(root, "cloud", "admin.token"), "utf8").trim();
      if (options.edges > 0) joinToken = await requestJoinToken(cloudUrl, adminToken, options.edges);
    } catch (err) {
      process.stderr.write(`levee demo: ${(err as Error).message}\n`);
      await stopAll();
      return 1;
    }
    for (let i = 0; i < options.edges; i++) {
      const name = `edge${i + 1}`;
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
      process.stderr.write(`levee demo: ${(err as Error).message}\n`);
      await stopAll();
      return 1;
    }
    const ms = Math.round(performance.now() - started);
    const rows = agents.map((a) => `  ${a.name.padEnd(8)}${a.readyUrl.replace(/\/readyz$/, "")}`);
    process.stdout.write(
      `levee demo: ${agents.length} agents ready in ${ms} ms\n${rows.join("\n")}\n` +
        `  cloud API: ${cloudUrl} (try: curl ${cloudUrl}/readyz)\nPress Ctrl-C to stop.\n`,
    );
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
