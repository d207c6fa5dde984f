// `levee upgrade-guard DIR`: run by the agent itself during an upgrade (src/node/upgrade/guard.ts),
// the kept old binary watching the new one; not for people to type. DIR is <data-dir>/upgrade.
import { dirname } from "node:path";
import { realGuardEffects, runGuard } from "../../node/upgrade/guard.ts";
import { UpgradeFiles } from "../../node/upgrade/upgrade-files.ts";
import { UsageError } from "../../runtime/errors.ts";
import { defineCommand } from "../command.ts";

export const upgradeGuardCommand = defineCommand({
  name: "upgrade-guard",
  summary: "(started by the agent during an upgrade) roll back unless the new agent passes its health gate",
  usage: "levee upgrade-guard DATA_DIR/upgrade",
  options: [],
  positionals: true,
  async run({ positionals }) {
    const [dir] = positionals;
    if (dir === undefined || positionals.length > 1)
      throw new UsageError("usage: levee upgrade-guard DATA_DIR/upgrade");
    const outcome = await runGuard(realGuardEffects(new UpgradeFiles(dirname(dir))));
    process.stderr.write(`levee upgrade-guard: ${outcome}\n`);
    return 0;
  },
});
