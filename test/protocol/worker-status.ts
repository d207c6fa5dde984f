// A worker's status as a node reports it, for tests on either side of the sync link.
import type { WorkerStatus } from "../../src/protocol/messages.ts";

export const workerStatus = (service: string, phase: string, index = 0): WorkerStatus => ({
  service,
  index,
  phase,
  ready: phase === "Running",
  restarts: 0,
  message: "",
  exitCode: null,
  signal: null,
  since: "2030-01-01T00:00:00.000Z",
});
