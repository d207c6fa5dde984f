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
    "(also /healthz, /readyz) listens on the loopback address at --agent-port.\n" +
    "--restore FILE writes a backup (levee ctl backup) into a new or empty --data-dir first.",
  options: optionsFor("cloud"),
  async run({ options }) {
    // Loaded on use: the broker and the cloud API stay out of every other command's memory.
    const { startCloud } = await import("../../cloud/cloud-agent.ts");
    const config = resolveCloudConfig(options);
    if (options.restore) {
      const { restoreBackup } = await import("../../cloud/restore.ts");
      const { manifest, epoch } = restoreBackup(options.restore, config.dataDir);
      process.stderr.write(
        `restored ${options.restore} (taken ${manifest.createdAt}, ${manifest.files.length} files) into ${config.dataDir}; new epoch ${epoch}\n`,
      );
    }
    const agent = await startCloud(config);
    await agent.lifecycle.done;
    return 0;
  },
});
