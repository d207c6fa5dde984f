// Group commit of the cloud's sync link: what arrives in one event-loop turn is one transaction;
// what it defers runs after the commit (a second connection already sees the rows); one item
// that throws is undone alone with what it deferred; a batch that cannot commit defers nothing.
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { GroupCommit, TurnQueue } from "../../../src/cloud/link/group-commit.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { openStore, type Store } from "../../../src/store/store.ts";
import { makeTempDir } from "../../harness/cluster.ts";

const logs: string[] = [];
const log = createLogger({ level: "debug", format: "text", write: (l) => logs.push(l) });
const stores: Store[] = [];
afterAll(() => {
  for (const s of stores) s.close();
});

function setup() {
  const store = openStore({ dataDir: makeTempDir(), mode: "cloud" });
  stores.push(store);
  store.db.run("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)");
  // Another connection to the same file sees only what is committed.
  const other = new Database(store.path, { readonly: true });
  const committed = () => other.query<{ n: number }, []>("SELECT count(*) AS n FROM t").get()?.n ?? 0;
  const insert = (k: string, v = 1) =>
    store.tx((db) => db.query("INSERT INTO t (k, v) VALUES (?, ?)").run(k, v));
  return { store, commit: new GroupCommit(store, log), committed, insert, other };
}

describe("TurnQueue", () => {
  test("items pushed in one turn are one transaction; deferred actions run after its commit", async () => {
    const { store, commit, committed, insert } = setup();
    const seenAfter: number[] = [];
    const inTx: boolean[] = [];
    const queue = new TurnQueue<string>(
      commit,
      (k) => {
        inTx.push(store.db.inTransaction);
        insert(k);
        commit.later(() => seenAfter.push(committed()));
      },
      () => {},
    );
    for (let i = 0; i < 50; i++) queue.push(`k${i}`);
    expect(committed()).toBe(0);
    expect(queue.pending).toBe(50);
    await new Promise((r) => setImmediate(r));
    await Bun.sleep(0);
    expect(queue.pending).toBe(0);
    expect(committed()).toBe(50);
    expect(inTx.every(Boolean)).toBe(true);
    // every action ran after the commit of all 50, in order
    expect(seenAfter).toEqual(Array(50).fill(50));
    expect(commit.stats()).toEqual({ batches: 1, units: 50 });

    // the next turn is the next batch
    queue.push("late");
    queue.flush();
    expect(committed()).toBe(51);
    expect(commit.stats().batches).toBe(2);
  });

  test("an item that throws is undone alone, with what it deferred", () => {
    const { commit, committed, insert } = setup();
    const ran: string[] = [];
    const failed: string[] = [];
    const queue = new TurnQueue<string>(
      commit,
      (k) => {
        insert(k);
        commit.later(() => ran.push(k));
        if (k === "bad") {
          insert("bad-2");
          throw new Error("boom");
        }
      },
      (k, err) => failed.push(`${k}: ${(err as Error).message}`),
    );
    for (const k of ["a", "bad", "b"]) queue.push(k);
    queue.flush();
    expect(committed()).toBe(2);
    expect(ran).toEqual(["a", "b"]);
    expect(failed).toEqual(["bad: boom"]);
  });
});

describe("GroupCommit", () => {
  test("a batch that cannot commit is rolled back whole and defers nothing", () => {
    const { commit, committed, insert } = setup();
    const ran: string[] = [];
    const ok = commit.run("test", () => {
      insert("x");
      commit.later(() => ran.push("x"));
      insert("x"); // primary key violation outside any unit: the whole batch fails
    });
    expect(ok).toBe(false);
    expect(committed()).toBe(0);
    expect(ran).toEqual([]);
    expect(logs.some((l) => l.includes("sync transaction rolled back"))).toBe(true);
  });

  test("run inside an open batch is part of it; later outside a batch runs at once", () => {
    const { commit, committed, insert } = setup();
    const ran: string[] = [];
    commit.later(() => ran.push("now"));
    expect(ran).toEqual(["now"]);
    commit.run("outer", () => {
      insert("a");
      expect(commit.open).toBe(true);
      commit.run("inner", () => insert("b"));
      expect(committed()).toBe(0);
    });
    expect(commit.open).toBe(false);
    expect(committed()).toBe(2);
    expect(commit.stats().batches).toBe(1);
  });

  test("laterOnce runs one action per key per batch; an undone unit frees its key", () => {
    const { commit } = setup();
    const ran: string[] = [];
    commit.run("batch", () => {
      commit.laterOnce("plan:a", () => ran.push("a1"));
      commit.laterOnce("plan:a", () => ran.push("a2"));
      expect(() =>
        commit.unit(() => {
          commit.laterOnce("plan:b", () => ran.push("b1"));
          throw new Error("undone");
        }),
      ).toThrow("undone");
      commit.laterOnce("plan:b", () => ran.push("b2"));
    });
    expect(ran).toEqual(["a1", "b2"]);
    commit.run("next", () => commit.laterOnce("plan:a", () => ran.push("a3")));
    expect(ran).toEqual(["a1", "b2", "a3"]);
  });

  test("an action that throws after the commit is logged and the others still run", () => {
    const { commit } = setup();
    const ran: string[] = [];
    commit.run("batch", () => {
      commit.later(() => {
        throw new Error("send failed");
      });
      commit.later(() => ran.push("next"));
    });
    expect(ran).toEqual(["next"]);
    expect(logs.some((l) => l.includes("sync action after commit failed"))).toBe(true);
  });
});
