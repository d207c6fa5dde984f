// `levee cloud`: runs the global manager until SIGTERM/SIGINT.
import { resolveCloudConfig } from "../../config/agent-config.ts";
import { optionsFor } from "../../config/schema.ts";
import { defineCommand } from "../command.ts";

export const cloudCommand = defineCommand({
  name: "cloud",
  summary: "run the global manager: cloud API, desired state, MQTT broker (and this host as a node)",
  usage: "levee cloud [flags]",
  details:
    "The cloud API listens on --api-listen and serves /healthz and /readyz; the local agent API\n" +
    "(also /healthz, /readyz) listens on the loopback address at --agent-port.",
  options: optionsFor("cloud"),
  async run({ options }) {
    // Loaded on use: the broker and the cloud API stay out of every other command's memory.
    const { startCloud } = await import("../../cloud/cloud-agent.ts");
    const agent = await startCloud(resolveCloudConfig(options));
    await agent.lifecycle.done;
    return 0;
  },
});
