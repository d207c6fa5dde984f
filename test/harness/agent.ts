// One levee agent of a test cluster: a real process on its own loopback address, started with
// the harness's flags (node name, bind address, data dir, text logs at debug), its log lines kept
// in memory. Agents still running when the test process ends are killed (killLiveAgents).
import { type LaunchedAgent, launchAgent, stopAgent, waitReady } from "../../src/cli/agent-launcher.ts";
import { cleanEnv, leveeCommand } from "./process.ts";

export interface TestAgent {
  name: string;
  mode: "cloud" | "edge";
  address: string;
  dataDir: string;
  /** Local agent API, e.g. http://127.0.0.11:7401 */
  agentUrl: string;
  logs: string[];
  process: LaunchedAgent;
  /** Starts it again with the same data dir and flags, or other `args` (after stop() or a kill). */
  restart(options?: { waitReady?: boolean; args?: string[] }): Promise<void>;
  stop(): Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

const live = new Set<TestAgent>();

/** SIGKILLs every agent a test left running. */
export function killLiveAgents(): void {
  for (const agent of live) agent.kill("SIGKILL");
  live.clear();
}

export interface AgentSpec {
  name: string;
  mode: "cloud" | "edge";
  address: string;
  dataDir: string;
  args: string[];
  env?: Record<string, string>;
  readyTimeoutMs: number;
  /** Where its local agent API answers, when not http://<address>:7401 (--agent-address, --agent-port). */
  agentUrl?: string;
  /** What runs it (default leveeCommand(): LEVEE_TEST_BIN or bun + the source). */
  command?: string[];
  /** Wait until it is ready (default); false: the caller waits (waitReady(agent.process)). */
  wait?: boolean;
}

export async function startAgent(spec: AgentSpec): Promise<TestAgent> {
  const agentUrl = spec.agentUrl ?? `http://${spec.address}:7401`;
  const logs: string[] = [];
  let args = spec.args;
  const launch = () =>
    launchAgent({
      name: spec.name,
      command: spec.command ?? leveeCommand(),
      args: [
        spec.mode,
        "--node-name",
        spec.name,
        "--bind-address",
        spec.address,
        "--data-dir",
        spec.dataDir,
        "--log-format",
        "text",
        "--log-level",
        "debug",
        ...args,
      ],
      readyUrl: `${agentUrl}/readyz`,
      env: { ...cleanEnv(), ...spec.env },
      onLine: (line) => logs.push(line),
    });
  const agent: TestAgent = {
    name: spec.name,
    mode: spec.mode,
    address: spec.address,
    dataDir: spec.dataDir,
    agentUrl,
    logs,
    process: launch(),
    async restart(options = {}) {
      if (options.args) args = options.args;
      agent.process = launch();
      live.add(agent);
      if (options.waitReady !== false) await waitReady(agent.process, spec.readyTimeoutMs);
    },
    async stop() {
      const code = await stopAgent(agent.process);
      live.delete(agent);
      return code;
    },
    kill(signal = "SIGKILL") {
      agent.process.proc.kill(signal);
    },
  };
  live.add(agent);
  if (spec.wait !== false) await waitReady(agent.process, spec.readyTimeoutMs);
  return agent;
}
