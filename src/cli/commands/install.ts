// TEMPORARY placeholder, replaced by the install work in progress.
import { optionsFor } from "../../config/schema.ts";
import { defineCommand } from "../command.ts";
export const installCommand = defineCommand({
  name: "install",
  summary: "install",
  usage: "levee install",
  options: optionsFor("install"),
  async run() {
    return 1;
  },
});
export const uninstallCommand = defineCommand({
  name: "uninstall",
  summary: "uninstall",
  usage: "levee uninstall",
  options: optionsFor("uninstall"),
  async run() {
    return 1;
  },
});
