// How `levee ctl diff`, `apply --dry-run` and `rollout` print the cloud's answers: changed fields
// with old and new values, a new object's fields one per line, long values cut, secret-like
// changes without values, each node's workers, the summary; rollout's KIND/NAME argument and
// history table.
import { describe, expect, test } from "bun:test";
import {
  changeLines,
  type PlanAnswer,
  renderDiff,
  renderDryRun,
  summaryLine,
} from "../../src/cli/ctl/plan-format.ts";
import { changesCell, historyRows, rolloutTarget } from "../../src/cli/ctl/rollout.ts";
import { UsageError } from "../../src/runtime/errors.ts";

const answer: PlanAnswer = {
  dryRun: true,
  results: [
    {
      kind: "Service",
      name: "web",
      outcome: "configured",
      generation: 3,
      changes: [
        { path: "spec.template.env.MODE", op: "changed", before: "a", after: "b" },
        { path: "spec.workers[1]", op: "added", after: { node: "edge2", replicas: 2 } },
        { path: "spec.lostAfter", op: "removed", before: "5m" },
      ],
    },
    { kind: "Config", name: "cfg", namespace: "ns", outcome: "unchanged", generation: 1 },
    {
      kind: "Service",
      name: "det",
      namespace: "dayu",
      outcome: "created",
      generation: 1,
      owner: { kind: "JointMultiEdgeService", name: "det" },
      changes: [],
    },
  ],
  nodes: [
    {
      node: "edge1",
      revision: 7,
      workers: [
        { service: "web", index: 0, change: "replaced", generation: 3 },
        { service: "web", index: 1, change: "stopped" },
      ],
    },
    { node: "edge2", revision: 2, workers: [{ service: "web", index: 0, change: "added", generation: 3 }] },
    { node: "edge3", revision: 4, workers: [] },
  ],
};

describe("diff", () => {
  test("objects with their changed fields, then the nodes, then the summary", () => {
    expect(renderDiff(answer)).toBe(
      [
        "service/web configured (generation 3)",
        '    ~ spec.template.env.MODE: "a" -> "b"',
        '    + spec.workers[1].node: "edge2"',
        "    + spec.workers[1].replicas: 2",
        '    - spec.lostAfter: "5m"',
        "config/cfg unchanged (namespace ns)",
        "service/det created (namespace dayu) (from jointmultiedgeservice/det) (generation 1)",
        "node edge1 (plan revision 7):",
        "    web/0 replaced (generation 3)",
        "    web/1 stopped",
        "node edge2 (plan revision 2):",
        "    web/0 added (generation 3)",
        "node edge3 (plan revision 4):",
        "    no worker changes (mesh or config only)",
        "2 objects changed, 1 unchanged; 3 workers: 1 added, 1 replaced, 1 stopped on 2 nodes",
        "",
      ].join("\n"),
    );
  });

  test("apply --dry-run: apply's lines marked, the nodes, the summary", () => {
    const text = renderDryRun(answer);
    expect(text.split("\n").slice(0, 3)).toEqual([
      "service/web configured (generation 3, dry run)",
      "config/cfg unchanged (namespace ns) (dry run)",
      "service/det created (namespace dayu) (from jointmultiedgeservice/det) (generation 1, dry run)",
    ]);
    expect(text).toContain("web/1 stopped");
  });

  test("nothing to do; long values cut; a change without values names its path", () => {
    expect(summaryLine({ results: [{ kind: "Service", name: "a", outcome: "unchanged" }], nodes: [] })).toBe(
      "0 objects changed, 1 unchanged; no worker changes",
    );
    const [long] = changeLines([{ path: "data.big", op: "changed", before: "x", after: "y".repeat(500) }]);
    expect(long?.length).toBeLessThan(160);
    expect(long?.endsWith("...")).toBe(true);
    expect(changeLines([{ path: "data.password", op: "changed" } as never])).toEqual(["    ~ data.password"]);
    expect(changeLines([{ path: "data.password", op: "added" } as never])).toEqual(["    + data.password"]);
  });
});

describe("rollout", () => {
  test("KIND/NAME or KIND NAME, Services and Dayu objects only", () => {
    expect(rolloutTarget(["service/web"])).toMatchObject({ info: { kind: "Service" }, name: "web" });
    expect(rolloutTarget(["jmes", "det"])).toMatchObject({
      info: { kind: "JointMultiEdgeService" },
      name: "det",
    });
    expect(rolloutTarget(["rts/x"])).toMatchObject({ info: { kind: "RuntimeService" }, name: "x" });
    expect(() => rolloutTarget(["config/c"])).toThrow(UsageError);
    expect(() => rolloutTarget(["service"])).toThrow("missing NAME");
    expect(() => rolloutTarget(["service/web", "extra"])).toThrow('unexpected argument "extra"');
  });

  test("the history table: the current marked, what each generation changed", () => {
    const now = Date.parse("2026-01-01T00:10:00Z");
    const rows = historyRows(
      {
        generation: 3,
        items: [
          {
            generation: 3,
            appliedAt: "2026-01-01T00:09:00Z",
            current: true,
            changes: [{ path: "spec.template.image", op: "changed", before: "a", after: "b" }],
          },
          { generation: 2, appliedAt: "2026-01-01T00:05:00Z", current: false, changes: [] },
          { generation: 1, appliedAt: "2026-01-01T00:00:00Z", current: false },
        ],
      },
      now,
    );
    expect(rows.map((r) => [r[0], r[2]])).toEqual([
      ["3 (current)", "spec.template.image"],
      ["2", "(no spec change)"],
      ["1", "(oldest kept)"],
    ]);
    const many = ["a", "b", "c", "d", "e"].map((p) => ({ path: p, op: "added" as const, after: 1 }));
    expect(changesCell(many)).toBe("a, b, c and 2 more");
  });
});
