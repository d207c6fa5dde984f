// The store: WAL mode, migrations, transactions, the data-dir lock, and refusing corrupt or
// foreign databases without touching them.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { RefusalError } from "../../src/runtime/errors.ts";
import { migrations } from "../../src/store/migrations.ts";
import type { ModeFix } from "../../src/store/private-files.ts";
import { openStore } from "../../src/store/store.ts";
import { makeTempDir, runLevee } from "../harness/cluster.ts";

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RefusalError);
    return (err as Error).message;
  }
  throw new Error("expected a RefusalError");
}

describe("store", () => {
  test("creates the data dir (0700) and the database in WAL mode with all migrations", () => {
    const dataDir = join(makeTempDir(), "nested", "data");
    const store = openStore({ dataDir, mode: "edge" });
    try {
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      expect(store.db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode).toBe(
        "wal",
      );
      expect(store.db.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version).toBe(
        migrations.at(-1)?.version ?? 0,
      );
      expect(store.getMeta("mode")).toBe("edge");
    } finally {
      store.close();
    }
  });

  test("tx rolls back everything when the function throws", () => {
    const store = openStore({ dataDir: makeTempDir(), mode: "edge" });
    try {
      expect(() =>
        store.tx((db) => {
          db.query("INSERT INTO meta (key, value) VALUES ('a', '1')").run();
          throw new Error("boom");
        }),
      ).toThrow("boom");
      expect(store.getMeta("a")).toBeUndefined();
      store.setMeta("a", "2");
      store.setMeta("a", "3");
      expect(store.getMeta("a")).toBe("3");
    } finally {
      store.close();
    }
  });

  test("migrations are applied once, in order, and survive reopening", () => {
    const dataDir = makeTempDir();
    const extra = [...migrations, { version: 99, name: "t", sql: "CREATE TABLE t (x INTEGER) STRICT;" }];
    openStore({ dataDir, mode: "edge", migrations: extra }).close();
    const store = openStore({ dataDir, mode: "edge", migrations: extra });
    expect(store.db.query("SELECT count(*) AS n FROM t").get()).toEqual({ n: 0 });
    store.close();
  });

  test("a failing migration leaves the previous schema intact", () => {
    const dataDir = makeTempDir();
    openStore({ dataDir, mode: "edge" }).close();
    const broken = [...migrations, { version: 50, name: "bad", sql: "CREATE TABLE ok1 (x); NOT SQL;" }];
    expect(refusal(() => openStore({ dataDir, mode: "edge", migrations: broken }))).toContain(
      "migration 50 (bad) failed",
    );
    const store = openStore({ dataDir, mode: "edge" });
    expect(store.db.query("SELECT name FROM sqlite_master WHERE name = 'ok1'").get()).toBeNull();
    store.close();
  });

  test("a second agent on the same data dir is refused, naming the holder's PID", () => {
    const dataDir = makeTempDir();
    const first = openStore({ dataDir, mode: "cloud" });
    try {
      const message = refusal(() => openStore({ dataDir, mode: "cloud" }));
      expect(message).toBe(
        `data dir ${dataDir} is in use by another levee agent (levee cloud pid ${process.pid})`,
      );
    } finally {
      first.close();
    }
    openStore({ dataDir, mode: "cloud" }).close(); // released
  });

  test("a database written by a newer levee is refused", () => {
    const dataDir = makeTempDir();
    openStore({ dataDir, mode: "edge" }).close();
    const raw = new Database(join(dataDir, "levee.db"));
    raw.run("PRAGMA user_version = 999");
    raw.close();
    expect(refusal(() => openStore({ dataDir, mode: "edge" }))).toContain("schema version 999, newer than");
  });

  test("a data dir of the other mode is refused", () => {
    const dataDir = makeTempDir();
    openStore({ dataDir, mode: "edge" }).close();
    expect(refusal(() => openStore({ dataDir, mode: "cloud" }))).toContain(
      "belongs to a levee edge agent; refusing to start levee cloud",
    );
  });

  test("a file that is not a database is refused and left untouched", () => {
    const dataDir = makeTempDir();
    const path = join(dataDir, "levee.db");
    Bun.write(path, "this is not sqlite, just text that happens to be long enough ".repeat(100));
    const before = readFileSync(path);
    expect(refusal(() => openStore({ dataDir, mode: "edge" }))).toContain(`database ${path} is corrupt`);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  test("a database with a damaged page is refused and left untouched", () => {
    const dataDir = makeTempDir();
    const store = openStore({ dataDir, mode: "edge" });
    store.tx((db) => {
      db.run("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)");
      const insert = db.query("INSERT INTO filler (body) VALUES (?)");
      for (let i = 0; i < 400; i++) insert.run(`row ${i} ${"x".repeat(200)}`);
      db.run("CREATE INDEX filler_body ON filler (body)");
    });
    store.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    store.close();
    const path = join(dataDir, "levee.db");
    const fd = openSync(path, "r+");
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 4096 * 3); // garbage over page 4
    const before = readFileSync(path);
    expect(refusal(() => openStore({ dataDir, mode: "edge" }))).toMatch(
      /database .* is corrupt .*refusing to start/,
    );
    expect(readFileSync(path).equals(before)).toBe(true);
  });
});

describe("store refusals through the CLI", () => {
  test("corrupt database → exit 2 and one line", async () => {
    const dataDir = makeTempDir();
    await Bun.write(join(dataDir, "levee.db"), "garbage ".repeat(1000));
    const r = await runLevee([
      "edge",
      "--cloud",
      "http://127.0.0.1:1",
      "--data-dir",
      dataDir,
      "--bind-address",
      "127.0.0.1",
      "--agent-port",
      "1",
      "--log-level",
      "error",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("is corrupt");
    expect(r.stderr).not.toContain("    at ");
  });
});

describe("store file modes (secrets: MQTT password, mesh key)", () => {
  const mode = (path: string) => statSync(path).mode & 0o777;

  test("a data dir that existed with 0755 becomes 0700, and the database files are 0600", () => {
    const dataDir = join(makeTempDir(), "data");
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const fixes: ModeFix[] = [];
    const store = openStore({ dataDir, mode: "edge", onModesFixed: (f) => fixes.push(...f) });
    try {
      store.setMeta("a", "1");
      expect(mode(dataDir)).toBe(0o700);
      for (const name of ["levee.db", "levee.db-wal", "levee.db-shm"]) {
        expect(existsSync(join(dataDir, name))).toBe(true);
        expect(mode(join(dataDir, name)).toString(8)).toBe("600");
      }
      expect(fixes).toEqual([{ path: dataDir, from: "0755", to: "0700" }]);
    } finally {
      store.close();
    }
  });

  test("database files left 0644 by an older levee are made 0600 at the next start, and reported", () => {
    const dataDir = makeTempDir();
    openStore({ dataDir, mode: "edge" }).close();
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, "levee.db"), 0o644);
    for (const name of ["levee.db-wal", "levee.db-shm"]) {
      closeSync(openSync(join(dataDir, name), "a", 0o644));
      chmodSync(join(dataDir, name), 0o644);
    }
    const fixes: ModeFix[] = [];
    const store = openStore({ dataDir, mode: "edge", onModesFixed: (f) => fixes.push(...f) });
    try {
      expect(mode(dataDir)).toBe(0o700);
      for (const name of ["levee.db", "levee.db-wal", "levee.db-shm"])
        expect(mode(join(dataDir, name)).toString(8)).toBe("600");
      expect(fixes.map((f) => `${f.path.slice(dataDir.length)} ${f.from}`)).toEqual([
        " 0755",
        "/levee.db 0644",
        "/levee.db-wal 0644",
        "/levee.db-shm 0644",
      ]);
    } finally {
      store.close();
    }
  });
});
