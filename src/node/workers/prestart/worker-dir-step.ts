// Prestart step 1: the worker's own directory under <data-dir>/workers/<service>/<index> exists
// (mount directories, exec logs and scratch space live in it; exec workers start in it).
import { mkdirSync } from "node:fs";
import type { PrestartStep } from "./prestart-step.ts";

export function workerDirStep(): PrestartStep {
  return {
    name: "worker-dir",
    async prestart({ workerDir }) {
      mkdirSync(workerDir, { recursive: true, mode: 0o755 });
      return {};
    },
  };
}
