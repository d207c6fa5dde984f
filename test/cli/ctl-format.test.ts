// Unit tests of `levee ctl`'s pure parts: kind aliases, tables and ages, issue lines, the rollout
// state of apply --wait, the SSE parser, manifest content types and server/token resolution.
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CtlOptions, issueLines, resolveTarget } from "../../src/cli/ctl/client.ts";
import { SseParser } from "../../src/cli/ctl/events.ts";
import {
  age,
  applyLines,
  configRows,
  NODE_HEADERS,
  nodeRows,
  renderTable,
  serviceRows,
  toYaml,
  WORKER_HEADERS,
  workerRows,
} from "../../src/cli/ctl/format.ts";
import { kindArgument, resolveKind } from "../../src/cli/ctl/kinds.ts";
import { manifestContentType } from "../../src/cli/ctl/manifest-file.ts";
import type { NodeView, WorkerView } from "../../src/cli/ctl/types.ts";
import { progressLine, rolloutState, timeoutMessage } from "../../src/cli/ctl/wait.ts";
import { UsageError } from "../../src/runtime/errors.ts";
import { makeTempDir } from "../harness/cluster.ts";

const NOW = Date.parse("2026-01-10T12:00:00Z");
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();

function worker(over: Partial<WorkerView>): WorkerView {
  return {
    service: "echo",
    node: "edge1",
    index: 0,
    phase: "running",
    ready: true,
    restarts: 0,
    message: "",
    exitCode: null,
    signal: null,
    since: null,
    ...over,
  };
}

function node(name: string, applied: number, desired: number, phase = "Ready"): NodeView {
  return {
    apiVersion: "levee/v1",
    kind: "Node",
    metadata: { name, uid: "u", labels: {}, creationTimestamp: ago(3 * 86400) },
    status: {
      phase,
      phaseSince: ago(60),
      lastSeen: ago(2),
      online: true,
      addresses: ["127.0.0.11"],
      agentVersion: "0.1.0",
      arch: "x64",
      plan: { desiredRevision: desired, appliedRevision: applied },
    },
  };
}

describe("kinds", () => {
  test.each([
    ["node", "Node"],
    ["nodes", "Node"],
    ["no", "Node"],
    ["service", "Service"],
    ["services", "Service"],
    ["svc", "Service"],
    ["Service", "Service"],
    ["config", "Config"],
    ["configs", "Config"],
    ["cfg", "Config"],
    ["worker", "Worker"],
    ["workers", "Worker"],
  ])("%s is %s", (word, kind) => {
    expect(resolveKind(word)?.kind).toBe(kind as never);
  });

  test("an unknown kind is a usage error listing the accepted words", () => {
    expect(resolveKind("pods")).toBeUndefined();
    expect(() => kindArgument("pods")).toThrow(
      new UsageError(
        'unknown kind "pods"; one of: node|nodes|no, service|services|svc, config|configs|cfg, secret|secrets, worker|workers, route|routes, staging, namespace|namespaces|ns, grant|grants, imagemap|imagemaps, jointmultiedgeservice|jointmultiedgeservices|jmes, runtimeservice|runtimeservices|rts',
      ),
    );
    expect(() => kindArgument(undefined)).toThrow(/^missing KIND; one of: /);
  });

  test("a kind the subcommand does not take names the ones it does", () => {
    expect(() => kindArgument("workers", (k) => k.deletable)).toThrow(
      'kind "workers" is not supported here; one of: node|nodes|no, service|services|svc, config|configs|cfg, secret|secrets, namespace|namespaces|ns, grant|grants, imagemap|imagemaps, jointmultiedgeservice|jointmultiedgeservices|jmes, runtimeservice|runtimeservices|rts',
    );
  });
});

describe("tables", () => {
  test("columns are aligned, three spaces apart, the last one not padded", () => {
    expect(
      renderTable(
        ["NAME", "X"],
        [
          ["a", "1"],
          ["longer", "22"],
        ],
      ),
    ).toBe("NAME     X\na        1\nlonger   22\n");
  });

  test.each([
    [0, "0s"],
    [59, "59s"],
    [119, "119s"],
    [120, "2m"],
    [190, "3m10s"],
    [600, "10m"],
    [179 * 60, "179m"],
    [3 * 3600, "3h"],
    [47 * 3600, "47h"],
    [3 * 86400, "3d"],
  ])("age of %ss is %s", (seconds, text) => {
    expect(age(ago(seconds), NOW)).toBe(text);
  });

  test("age of a missing or bad time", () => {
    expect(age(null, NOW)).toBe("<unknown>");
    expect(age("yesterday", NOW)).toBe("<unknown>");
  });

  test("nodes: NAME PHASE ADDRESSES PLAN LAST-SEEN AGE", () => {
    const never = node("edge2", 0, 3, "Disconnected");
    never.status.lastSeen = null;
    never.status.addresses = [];
    expect(renderTable(NODE_HEADERS, nodeRows([node("edge1", 3, 4), never], NOW))).toBe(
      [
        "NAME    PHASE          ADDRESSES    PLAN   LAST-SEEN   AGE",
        "edge1   Ready          127.0.0.11   3/4    2s ago      3d",
        "edge2   Disconnected   <none>       0/3    never       3d",
        "",
      ].join("\n"),
    );
  });

  test("services: WORKERS counts ready/total from the workers view", () => {
    const services = [
      { metadata: { name: "echo", generation: 2, creationTimestamp: ago(30) } },
      { metadata: { name: "idle", generation: 1, creationTimestamp: ago(30) } },
      // Another namespace: the workers view knows it by its key, echo.dayu.
      { metadata: { name: "echo", namespace: "dayu", generation: 1, creationTimestamp: ago(30) } },
    ];
    const workers = [
      worker({}),
      worker({ index: 1, ready: false }),
      worker({ service: "other" }),
      worker({ service: "echo.dayu" }),
    ];
    expect(serviceRows(services, workers, NOW)).toEqual([
      ["echo", "default", "1/2", "2", "30s"],
      ["idle", "default", "0/0", "1", "30s"],
      ["echo", "dayu", "1/1", "1", "30s"],
    ]);
  });

  test("configs: DATA counts the files (top-level data and binaryData)", () => {
    const config = {
      metadata: { name: "c", generation: 1, creationTimestamp: ago(5) },
      data: { a: "", b: "" },
    };
    expect(configRows([config], NOW)).toEqual([["c", "default", "2", "1", "5s"]]);
    expect(configRows([{ metadata: { name: "d" }, spec: { binaryData: { x: "" } } }], NOW)).toEqual([
      ["d", "default", "1", "-", "<unknown>"],
    ]);
  });

  test("workers: SERVICE NODE INDEX PHASE READY RESTARTS MESSAGE, messages on one line", () => {
    const w = worker({
      index: 1,
      phase: "pending",
      ready: false,
      restarts: 3,
      message: "node edge1\nhas not joined",
    });
    expect(renderTable(WORKER_HEADERS, workerRows([w]))).toBe(
      "SERVICE   NODE    INDEX   PHASE     READY   RESTARTS   MESSAGE\n" +
        "echo      edge1   1       pending   false   3          node edge1 has not joined\n",
    );
  });

  test("apply lines", () => {
    expect(
      applyLines([
        { kind: "Service", name: "echo", outcome: "created" },
        { kind: "Config", name: "c", outcome: "unchanged" },
      ]),
    ).toBe("service/echo created\nconfig/c unchanged\n");
  });

  test("YAML keeps strings that look like numbers quoted", () => {
    expect(toYaml({ a: "1", b: 1 })).toBe('a: "1"\nb: 1\n');
  });
});

describe("API issues", () => {
  test("one line per issue, the path first", () => {
    expect(
      issueLines([
        { document: 0, kind: "Service", name: "echo", path: "spec.workers[0].node", message: "required" },
      ]),
    ).toEqual(["  spec.workers[0].node: required"]);
  });

  test("several objects: each line names its object; multi-line messages become one line", () => {
    expect(
      issueLines([
        { document: 0, kind: "Service", name: "a", path: "spec", message: "x\ny" },
        { document: 1, path: "", message: "YAML syntax error" },
      ]),
    ).toEqual(["  spec: x; y (service/a)", "  (the object): YAML syntax error (document 2)"]);
  });
});

describe("apply --wait", () => {
  const services = new Set(["echo"]);

  test("done when the touched nodes run their latest plan and every worker is ready", () => {
    const state = rolloutState(
      [node("edge1", 4, 4), node("edge2", 1, 1)],
      [worker({})],
      services,
      new Map([
        ["edge1", 3],
        ["edge2", 1],
      ]),
    );
    expect(state.done).toBe(true);
    expect(state.nodes.map((n) => n.name)).toEqual(["edge1"]);
    expect(progressLine(state.nodes[0] as never)).toBe("edge1: Ready, plan 4/4 applied, workers 1/1 ready");
  });

  test("a node behind its plan, a worker not ready and a node that never joined: not done", () => {
    const workers = [
      worker({ ready: false, phase: "pending", message: "waiting for node edge1 to apply plan revision 5" }),
      worker({ node: "edge9", ready: false, phase: "pending", message: "node edge9 has not joined" }),
    ];
    const state = rolloutState(
      [node("edge1", 4, 5), node("edge2", 2, 3, "Disconnected")],
      workers,
      services,
      undefined,
    );
    expect(state.done).toBe(false);
    expect(state.nodes.map(progressLine)).toEqual([
      "edge1: Ready, plan 4/5 applied, workers 0/1 ready",
      "edge2: Disconnected, plan 2/3 applied, workers 0/0 ready",
      "edge9: not joined, no plan, workers 0/1 ready",
    ]);
    expect(timeoutMessage(state, 30_000)).toBe(
      "timed out after 30s: nodes not at the latest plan: edge1 at plan 4 of 5 (Ready), edge2 at plan 2 of 3 (Disconnected), edge9 (not joined); " +
        "workers not ready: echo on edge1 #0 (pending: waiting for node edge1 to apply plan revision 5), echo on edge9 #0 (pending: node edge9 has not joined)",
    );
  });
});

describe("server-sent events", () => {
  test("messages split across chunks, comments and CRLF", () => {
    const got: [string, string][] = [];
    const parser = new SseParser((event, data) => got.push([event, data]));
    parser.push(': hello\r\nid: 1\r\nevent: event\r\ndata: {"a"');
    parser.push(":1}\r\n\r\nevent: ping\ndata: {}\n\ndata: x\ndata: y\n\n");
    expect(got).toEqual([
      ["event", '{"a":1}'],
      ["ping", "{}"],
      ["message", "x\ny"],
    ]);
  });
});

describe("manifest content type", () => {
  test.each([
    ["svc.yaml", "kind: Service", "application/yaml"],
    ["svc.json", "{}", "application/json"],
    ["-", '  {"kind": "Service"}', "application/json"],
    ["-", "[]", "application/json"],
    ["-", "kind: Service", "application/yaml"],
  ])("%s %s → %s", (file, text, type) => {
    expect(manifestContentType(file, text)).toBe(type);
  });
});

describe("server and token", () => {
  const base: CtlOptions = {
    output: "table",
    wait: false,
    timeout: "120s",
    ttl: "24h",
    uses: 1,
    outDir: ".",
    artifacts: false,
    dryRun: false,
  };

  test("defaults: api.url and admin.token in the data dir; 0.0.0.0 becomes loopback", () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, "api.url"), "http://0.0.0.0:7400/\n");
    writeFileSync(join(dir, "admin.token"), "lvadm_secret\n");
    expect(resolveTarget({ ...base, dataDir: dir }, {})).toMatchObject({
      server: "http://127.0.0.1:7400",
      token: "lvadm_secret",
      tokenSource: join(dir, "admin.token"),
    });
  });

  test("nothing in the data dir: the local default and no token, saying where it looked", () => {
    const dir = makeTempDir();
    const target = resolveTarget({ ...base, dataDir: dir }, {});
    expect(target.server).toBe("http://127.0.0.1:7400");
    expect(target.token).toBeUndefined();
    expect(target.tokenSearch).toBe(
      `no --token or LEVEE_TOKEN, no --token-file or LEVEE_TOKEN_FILE, and ${join(dir, "admin.token")}: no such file`,
    );
  });

  test("--token wins over --token-file, which wins over the data dir", () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, "admin.token"), "from-data-dir\n");
    writeFileSync(join(dir, "t"), "from-file\n");
    const options = { ...base, dataDir: dir, server: "http://x:1/" };
    expect(resolveTarget({ ...options, tokenFile: join(dir, "t") }, {}).token).toBe("from-file");
    expect(resolveTarget({ ...options, tokenFile: join(dir, "t"), token: "flag" }, {}).token).toBe("flag");
    expect(resolveTarget(options, {}).server).toBe("http://x:1");
  });

  test("an unreadable --token-file or a bad api.url is a usage error", () => {
    const dir = makeTempDir();
    expect(() => resolveTarget({ ...base, dataDir: dir, tokenFile: join(dir, "nope") }, {})).toThrow(
      `cannot read the token file ${join(dir, "nope")} (--token-file): no such file`,
    );
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "sub", "api.url"), "ftp://x\n");
    chmodSync(join(dir, "sub", "api.url"), 0o644);
    expect(() => resolveTarget({ ...base, dataDir: join(dir, "sub") }, {})).toThrow(UsageError);
  });
});
