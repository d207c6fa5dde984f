// Worker tokens against a real store (all migrations): a token names its worker instance while that
// instance is the worker's current one, and its row goes when the instance stops, is replaced or
// the worker is removed (triggers on the workers table, through the same WorkerStore the
// supervisor saves with). Only the sha256 is stored.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  hashToken,
  identifyWorkerToken,
  issueWorkerToken,
  WORKER_TOKEN_PREFIX,
} from "../../../src/node/kube-access/worker-tokens.ts";
import { type WorkerRecord, WorkerStore } from "../../../src/node/workers/worker-store.ts";
import { openStore, type Store } from "../../../src/store/store.ts";
import { makeTempDir } from "../../harness/cluster.ts";

let store: Store | undefined;
afterEach(() => store?.close());

function open(): { store: Store; workers: WorkerStore } {
  store = openStore({ dataDir: join(makeTempDir(), "data"), mode: "edge" });
  return { store, workers: new WorkerStore(store) };
}

function record(service: string, index: number, instance: string | null): WorkerRecord {
  return {
    service,
    index,
    generation: 1,
    specHash: "h",
    driver: "exec",
    instance,
    pid: null,
    pidStart: null,
    containerId: null,
    port: null,
    phase: instance ? "running" : "stopped",
    ready: false,
    restarts: 0,
    message: "",
    exitCode: null,
    signal: null,
    startedAt: null,
    since: new Date().toISOString(),
    restartRequest: 0,
  };
}

const issue = (s: Store, service: string, index: number, instance: string, serviceAccount = "default") =>
  issueWorkerToken(s.db, { service, index, instance, serviceAccount, node: "edge1" });

const rows = (s: Store) =>
  s.db.query<{ n: number }, []>("SELECT count(*) AS n FROM kube_tokens").get()?.n ?? -1;

describe("worker tokens", () => {
  test("a token: prefix, 256 random bits, only its sha256 stored", () => {
    const { store: s } = open();
    const a = issue(s, "svc", 0, "i1");
    const b = issue(s, "svc", 0, "i1");
    expect(a).toMatch(/^lvwk_[A-Za-z0-9_-]{43}$/);
    expect(a.startsWith(WORKER_TOKEN_PREFIX)).toBe(true);
    expect(a).not.toBe(b);
    const stored = s.db.query<{ token_hash: string }, []>("SELECT token_hash FROM kube_tokens").all();
    expect(stored.map((r) => r.token_hash).sort()).toEqual([hashToken(a), hashToken(b)].sort());
    const dump = JSON.stringify(s.db.query("SELECT * FROM kube_tokens").all());
    expect(dump).not.toContain(a.slice(WORKER_TOKEN_PREFIX.length));
  });

  test("identifies the worker instance that runs now, with its namespace and service account", () => {
    const { store: s, workers } = open();
    const token = issue(s, "processor.dayu", 2, "inst-a", "worker-admin");
    // Issued before the record names the instance (the prestart step runs first): not yet valid.
    expect(identifyWorkerToken(s.db, token)).toBeUndefined();
    workers.save(record("processor.dayu", 2, "inst-a"));
    expect(identifyWorkerToken(s.db, token)).toEqual({
      service: "processor.dayu",
      index: 2,
      instance: "inst-a",
      namespace: "dayu",
      serviceAccount: "worker-admin",
      node: "edge1",
    });
    const plain = issue(s, "web", 0, "inst-w");
    workers.save(record("web", 0, "inst-w"));
    expect(identifyWorkerToken(s.db, plain)?.namespace).toBe("default");
  });

  test("anything that is not a current token identifies nothing", () => {
    const { store: s, workers } = open();
    const token = issue(s, "svc", 0, "i1");
    workers.save(record("svc", 0, "i1"));
    for (const wrong of [
      "",
      "lvwk_",
      token.slice(0, -1),
      `${token}x`,
      token.replace(/^lvwk_/, "lvwx_"),
      `lvwk_${"A".repeat(43)}`,
      `${token}\n`,
      "x".repeat(100_000),
    ])
      expect(identifyWorkerToken(s.db, wrong)).toBeUndefined();
  });

  test("the instance stops: its token is gone; a new instance's token replaces the old one", () => {
    const { store: s, workers } = open();
    workers.save(record("svc", 0, null));
    const first = issue(s, "svc", 0, "i1");
    workers.save(record("svc", 0, "i1"));
    expect(identifyWorkerToken(s.db, first)?.instance).toBe("i1");
    // A status save that does not change the instance keeps the token.
    workers.save({ ...record("svc", 0, "i1"), phase: "ready", ready: true });
    expect(identifyWorkerToken(s.db, first)?.instance).toBe("i1");
    // Stopped (clearInstance): the row goes.
    workers.save(record("svc", 0, null));
    expect(identifyWorkerToken(s.db, first)).toBeUndefined();
    expect(rows(s)).toBe(0);
    // Restarted: the next instance has its own token; replaced: the previous one goes.
    const second = issue(s, "svc", 0, "i2");
    workers.save(record("svc", 0, "i2"));
    const third = issue(s, "svc", 0, "i3");
    expect(identifyWorkerToken(s.db, second)?.instance).toBe("i2");
    workers.save(record("svc", 0, "i3"));
    expect(identifyWorkerToken(s.db, second)).toBeUndefined();
    expect(identifyWorkerToken(s.db, third)?.instance).toBe("i3");
    expect(rows(s)).toBe(1);
  });

  test("the worker leaves the plan: its tokens go; other workers keep theirs", () => {
    const { store: s, workers } = open();
    const a = issue(s, "svc", 0, "a");
    const b = issue(s, "svc", 1, "b");
    workers.save(record("svc", 0, "a"));
    workers.save(record("svc", 1, "b"));
    workers.remove("svc", 0);
    expect(identifyWorkerToken(s.db, a)).toBeUndefined();
    expect(identifyWorkerToken(s.db, b)?.index).toBe(1);
    expect(rows(s)).toBe(1);
  });

  test("a token issued for a start that never happened is cleaned up at the next change", () => {
    const { store: s, workers } = open();
    workers.save(record("svc", 0, "old"));
    const aborted = issue(s, "svc", 0, "never-started");
    expect(identifyWorkerToken(s.db, aborted)).toBeUndefined();
    workers.save(record("svc", 0, null));
    expect(rows(s)).toBe(0);
  });
});
