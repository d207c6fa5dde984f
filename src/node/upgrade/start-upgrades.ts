// A joined node's part in agent upgrades, put together: the cloud's orders from the link go to the
// upgrader (node-upgrader.ts, with its I/O in upgrade-effects.ts), its reports go back on the
// link (again after every welcome), and the health gate (health-gate.ts) looks at the upgrade
// files once at start and commits a pending upgrade to this agent's version when it may.
import { versionInfo } from "../../runtime/version.ts";
import type { EdgeLink } from "../link/edge-link.ts";
import type { LocalNode } from "../local-node.ts";
import type { Supervisor } from "../workers/supervisor.ts";
import { startHealthGate } from "./health-gate.ts";
import { NodeUpgrader } from "./node-upgrader.ts";
import { upgradeEffects } from "./upgrade-effects.ts";
import { UpgradeFiles, type UpgradeResult } from "./upgrade-files.ts";

export function startUpgrades(
  node: Pick<LocalNode, "config" | "store" | "log" | "lifecycle" | "readiness" | "notify">,
  supervisor: Pick<Supervisor, "snapshot">,
  link: Pick<EdgeLink, "sendUpgradeReport" | "onUpgrade">,
): void {
  const log = node.log.child({ component: "upgrade" });
  const files = new UpgradeFiles(node.config.dataDir);
  const report = (r: UpgradeResult) => {
    link.sendUpgradeReport({ type: "upgrade-report", ...r });
  };
  const upgrader = new NodeUpgrader(upgradeEffects({ ...node, log }, supervisor, files, report));
  link.onUpgrade(
    (order) => {
      log.info("upgrade order", { rollout: order.rollout, version: order.version });
      void upgrader.order(order);
    },
    () => upgrader.welcomed(),
  );
  const gate = startHealthGate({
    files,
    version: versionInfo().version,
    view: () => {
      const { ready, checks } = node.readiness.report();
      const failing = Object.entries(checks).find(([, v]) => v !== "ok");
      return {
        ready: ready || !failing ? true : `${failing[0]}: ${failing[1]}`,
        workers: supervisor.snapshot(),
      };
    },
    report,
    log,
  });
  node.lifecycle.add("upgrade-gate", () => gate.stop());
}
