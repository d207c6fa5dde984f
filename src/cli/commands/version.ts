// `levee version`: version, git commit, build target and Bun version.
import { versionInfo } from "../../runtime/version.ts";
import { defineCommand } from "../command.ts";

export const versionCommand = defineCommand({
  name: "version",
  summary: "print the version, git commit, build target and Bun version",
  usage: "levee version",
  options: [],
  async run() {
    const v = versionInfo();
    process.stdout.write(`levee ${v.version}\ncommit: ${v.commit}\ntarget: ${v.target}\nbun: ${v.bun}\n`);
    return 0;
  },
});
