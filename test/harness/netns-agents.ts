// Real levee agents inside the fault suite's network namespaces (test/harness/netns.ts): each is
// started in the namespace of the host it is named after, bound to that host's address, with its
// data dir under one root and its output kept; `levee ctl` runs against the cloud from inside the
// cloud's namespace; waits fail with the agents' latest log lines; stop() ends agents and workers.
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type LaunchedAgent, launchAgent, stopAgent } from "../../src/cli/agent-launcher.ts";
import { cleanEnv, leveeCommand } from "./cluster.ts";
import { type TestNetwork, withoutProxy } from "./netns.ts";
import { killWorkersUnder } from "./workers.ts";

export interface NetnsAgentsOptions {
  /** How to run levee (agents and ctl); default leveeCommand(). */
  command?: string[];
  /** Extra environment of the agent of a host. */
  env?: (host: string) => Record<string, string>;
}

export class NetnsAgents {
  /** Every agent's output, each line prefixed with its name. */
  readonly logs: string[] = [];
  private readonly agents: LaunchedAgent[] = [];
  private readonly command: string[];

  constructor(
    private readonly net: TestNetwork,
    readonly root: string,
    private readonly options: NetnsAgentsOptions = {},
  ) {
    this.command = options.command ?? leveeCommand();
  }

  address(host: string): string {
    return this.net.host(host).address;
  }

  dataDir(host: string): string {
    return join(this.root, host);
  }

  /** Starts `levee ARGS` as node `name` in host `name`'s namespace (data dir: root/name). */
  start(name: string, args: string[]): void {
    this.agents.push(
      launchAgent({
        name,
        command: this.net.spawnArgs(name, this.command),
        args: [
          ...args,
          "--node-name",
          name,
          "--bind-address",
          this.address(name),
          "--log-format",
          "text",
          "--data-dir",
          this.dataDir(name),
        ],
        // The agent API listens on loopback inside the namespace (probe it from there).
        readyUrl: "http://127.0.0.1:7401/readyz",
        env: { ...cleanEnv(), ...this.options.env?.(name) },
        onLine: (line) => this.logs.push(`${name}: ${line}`),
      }),
    );
  }

  /** The cloud API's URL (the cloud runs in host "cloud"). */
  cloudUrl(): string {
    return `http://${this.address("cloud")}:7400`;
  }

  /** Starts the cloud in host "cloud", then each of `edges` joined to it; resolves when all are listed. */
  async startCloudAndEdges(edges: string[]): Promise<void> {
    const cloudUrl = this.cloudUrl();
    this.start("cloud", ["cloud"]);
    await this.until("the cloud API", async () => {
      const res = await this.net.probe("cloud", `${cloudUrl}/readyz`, 1000);
      return res.ok && res.status === 200;
    });
    for (const edge of edges)
      this.start(edge, ["edge", "--cloud", cloudUrl, "--token", await this.joinToken()]);
    await this.until(`${edges.join(", ")} to join`, async () => {
      const nodes = await this.ctl(["get", "nodes"]);
      return edges.every((edge) => nodes.includes(edge));
    });
  }

  /** `levee ctl ARGS` against the cloud (host "cloud") with its admin token; its stdout. */
  async ctl(args: string[]): Promise<string> {
    const argv = [
      ...this.command,
      "ctl",
      ...args,
      "--server",
      this.cloudUrl(),
      "--token-file",
      join(this.dataDir("cloud"), "admin.token"),
    ];
    return (await this.net.exec("cloud", argv, { env: withoutProxy({ ...process.env, ...cleanEnv() }) }))
      .stdout;
  }

  /** A new join token for `uses` edges (the last line `token create` prints). */
  async joinToken(uses = 1): Promise<string> {
    return (await this.ctl(["token", "create", "--uses", String(uses)])).trim().split("\n").at(-1) as string;
  }

  /** Writes `manifest` as JSON under the root and applies it with `ctl apply -f FILE ...extra`. */
  async apply(
    manifest: Record<string, unknown> & { metadata: { name: string } },
    extra: string[] = [],
  ): Promise<string> {
    const file = join(this.root, `${manifest.metadata.name}.json`);
    writeFileSync(file, JSON.stringify(manifest));
    return this.ctl(["apply", "-f", file, ...extra]);
  }

  /** Polls `check` until it holds; fails naming `what`, with the agents' last 80 log lines. */
  async until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000, everyMs = 250): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (await check().catch(() => false)) return;
      await Bun.sleep(everyMs);
    }
    throw new Error(`timed out waiting for ${what}\n${this.logs.slice(-80).join("\n")}`);
  }

  /** Stops every agent (SIGTERM, then SIGKILL after graceMs), their workers, and removes the root. */
  async stop(graceMs: number): Promise<void> {
    await Promise.all(this.agents.map((a) => stopAgent(a, graceMs)));
    killWorkersUnder([this.root]);
    rmSync(this.root, { recursive: true, force: true });
  }
}
