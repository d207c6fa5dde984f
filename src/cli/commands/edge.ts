// `levee edge`: runs the local manager of a device until SIGTERM/SIGINT.
import { resolveEdgeConfig } from "../../config/agent-config.ts";
import { optionsFor } from "../../config/schema.ts";
import { defineCommand } from "../command.ts";

export const edgeCommand = defineCommand({
  name: "edge",
  summary: "run the local manager of a device: workers, status, mesh",
  usage: "levee edge --cloud URL [--token TOKEN] [flags]",
  details:
    "The local agent API listens on 127.0.0.1:<agent-port> (or on --bind-address when that is a\n" +
    "specific address) and serves /healthz and /readyz.",
  options: optionsFor("edge"),
  async run({ options }) {
    const { startEdge } = await import("../../edge/edge-agent.ts");
    const agent = await startEdge(resolveEdgeConfig(options));
    await agent.lifecycle.done;
    return 0;
  },
});
