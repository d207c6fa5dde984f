// The drain report's lines: each service says what happened to its workers; pinned ones stay.
import { describe, expect, test } from "bun:test";
import { drainLines } from "../../../src/cli/ctl/drain.ts";

describe("drain lines", () => {
  test("moved, waiting, held and pinned each say so", () => {
    expect(
      drainLines("edge1", [
        { service: "pin", workers: 1, state: "pinned" },
        { service: "web", workers: 2, state: "moved", to: ["edge2"] },
        { service: "api", workers: 1, state: "waiting", to: ["edge2", "edge3"], waitingFor: ["edge3"] },
        {
          service: "db",
          workers: 1,
          state: "held",
          reason: "no other Ready node without a cordon matches its nodeSelector",
        },
      ]),
    ).toEqual([
      "1 worker of pin pinned to node edge1 by name: they stay (change the service's node: to move them)",
      "2 workers of web moved: edge2 runs the service ready",
      "1 worker of api stay until the workers on edge3 are ready, then go",
      "1 worker of db held on node edge1: no other Ready node without a cordon matches its nodeSelector",
    ]);
  });

  test("a node without workers", () => {
    expect(drainLines("edge1", [])).toEqual(["node edge1 drained: it runs no workers"]);
  });
});
