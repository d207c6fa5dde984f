// The subcommands of `levee`, in the order help lists them.
import type { Command } from "../command.ts";
import { cloudCommand } from "./cloud.ts";
import { ctlCommand } from "./ctl.ts";
import { demoCommand } from "./demo.ts";
import { edgeCommand } from "./edge.ts";
import { installCommand, uninstallCommand } from "./install.ts";
import { upgradeGuardCommand } from "./upgrade-guard.ts";
import { versionCommand } from "./version.ts";

export const commands: readonly Command[] = [
  cloudCommand,
  edgeCommand,
  ctlCommand,
  demoCommand,
  installCommand,
  uninstallCommand,
  versionCommand,
  upgradeGuardCommand,
];
