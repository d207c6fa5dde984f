// The pure parts of get's watch, select and shape: label selectors, JSONPath templates, the rows
// -w prints (what counts as a change), the wide tables, and which events --node/--service keep.
import { describe, expect, test } from "bun:test";
import { eventMatches } from "../../src/cli/ctl/events-command.ts";
import { labelText, workerWideRows } from "../../src/cli/ctl/format-wide.ts";
import { renderJsonPath } from "../../src/cli/ctl/jsonpath.ts";
import { matchesSelector, parseSelector } from "../../src/cli/ctl/selector.ts";
import { changedRows, signatures } from "../../src/cli/ctl/watch.ts";
import { UsageError } from "../../src/runtime/errors.ts";

describe("label selectors", () => {
  const labels = { role: "camera", zone: "a", gpu: "" };
  const ok = (text: string) => matchesSelector(labels, parseSelector(text));
  test("=, ==, !=, a key, !key; every part must hold", () => {
    expect([ok("role=camera"), ok("role==camera"), ok("zone!=b"), ok("gpu"), ok("!test")]).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect([ok("role=cam"), ok("zone!=a"), ok("test"), ok("!gpu"), ok("role=camera,zone=b")]).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(matchesSelector(undefined, parseSelector("zone!=a"))).toBe(true);
    expect(matchesSelector(undefined, parseSelector("zone"))).toBe(false);
  });
  test("a mistake is a usage error naming the part", () => {
    expect(() => parseSelector("role=camera,=x")).toThrow(
      new UsageError('flag --selector: "=x": expected a label key before the operator'),
    );
    expect(() => parseSelector("a b")).toThrow(/"a b": expected key=value, key!=value, key or !key/);
  });
});

describe("jsonpath", () => {
  const list = {
    items: [
      {
        metadata: { name: "edge1", labels: { "levee.io/role": "edge" } },
        status: { addresses: ["10.0.0.1", "10.0.0.2"] },
      },
      { metadata: { name: "edge2" }, status: { addresses: [] } },
    ],
  };
  test("paths, [*] and indexes, quoted keys, several results joined by a space", () => {
    expect(renderJsonPath("{.items[*].metadata.name}", list)).toBe("edge1 edge2");
    expect(renderJsonPath("{.items[0].status.addresses[-1]}", list)).toBe("10.0.0.2");
    expect(renderJsonPath("{.items[0].metadata.labels['levee.io/role']}", list)).toBe("edge");
    expect(renderJsonPath("names: {$.items[*].metadata.name}!", list)).toBe("names: edge1 edge2!");
    expect(renderJsonPath("{.items[1].status}", list)).toBe('{"addresses":[]}');
    expect(renderJsonPath("{.nothing.here}", list)).toBe("");
  });
  test("range ... end with string literals", () => {
    expect(
      renderJsonPath('{range .items[*]}{.metadata.name}{"\\t"}{.status.addresses[0]}{"\\n"}{end}', list),
    ).toBe("edge1\t10.0.0.1\nedge2\t\n");
  });
  test("a broken template is a usage error", () => {
    expect(() => renderJsonPath("{.items", list)).toThrow(UsageError);
    expect(() => renderJsonPath("{range .items[*]}x", list)).toThrow(/\{range\} without \{end\}/);
    expect(() => renderJsonPath("{end}", list)).toThrow(/\{end\} without \{range\}/);
    expect(() => renderJsonPath("{.items[x]}", list)).toThrow(/cannot read "\[x\]"/);
  });
});

describe("watch: what counts as a change", () => {
  const listing = (rows: string[][]) => ({
    headers: ["NAME", "PHASE", "AGE"],
    rows,
    items: rows.map((r) => ({ metadata: { name: r[0] } })),
    value: {},
  });
  test("a new object or a new phase prints; an age that ticks does not", () => {
    const seen = signatures(
      listing([
        ["edge1", "Ready", "5s"],
        ["edge2", "Ready", "5s"],
      ]),
    );
    const next = listing([
      ["edge1", "Ready", "6s"],
      ["edge2", "Disconnected", "6s"],
      ["edge3", "Ready", "0s"],
    ]);
    expect(changedRows(seen, next)).toEqual([1, 2]);
  });
  test("workers are told apart by service, node and index", () => {
    const w = (index: number, phase: string) => ({
      service: "web",
      node: "e1",
      index,
      phase,
      ready: false,
      restarts: 0,
      message: "",
      exitCode: null,
      signal: null,
      since: null,
    });
    const first = {
      headers: ["PHASE"],
      rows: [["starting"], ["starting"]],
      items: [w(0, "starting"), w(1, "starting")],
      value: {},
    };
    const next = {
      headers: ["PHASE"],
      rows: [["starting"], ["running"]],
      items: [w(0, "starting"), w(1, "running")],
      value: {},
    };
    expect(changedRows(signatures(first), next)).toEqual([1]);
  });
});

describe("wide and events", () => {
  test("wide worker rows carry the exit code or signal and the whole message", () => {
    const message = `exit code 1; ${"x".repeat(100)}`;
    const [row] = workerWideRows(
      [
        {
          service: "web",
          node: "e1",
          index: 0,
          phase: "backoff",
          ready: false,
          restarts: 3,
          message,
          exitCode: 1,
          signal: null,
          since: null,
        },
      ],
      0,
    );
    expect(row).toEqual(["web", "e1", "0", "backoff", "false", "3", "1", "-", message]);
    expect(labelText({ a: "1", b: "2" })).toBe("a=1,b=2");
    expect(labelText({})).toBe("<none>");
  });
  test("--node keeps the node's events and those naming it; --service one service's", () => {
    const e = (kind: string, name: string, message = "") => ({
      id: 1,
      ts: "",
      kind,
      name,
      reason: "R",
      message,
    });
    expect(eventMatches(e("Node", "edge1"), { node: "edge1" })).toBe(true);
    expect(eventMatches(e("Service", "web", "worker 0 on node edge1 (restart 2)"), { node: "edge1" })).toBe(
      true,
    );
    expect(eventMatches(e("Service", "web", "worker 0 on node edge10 (restart 2)"), { node: "edge1" })).toBe(
      false,
    );
    expect(eventMatches(e("Node", "edge2"), { node: "edge1" })).toBe(false);
    expect(eventMatches(e("Service", "web.dayu"), { service: "web.dayu" })).toBe(true);
    expect(eventMatches(e("Service", "web"), { service: "web.dayu" })).toBe(false);
  });
});
