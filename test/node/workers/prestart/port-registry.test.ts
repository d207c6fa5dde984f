import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  PortExhausted,
  PortRegistry,
  PortRegistryBusy,
} from "../../../../src/node/workers/prestart/port-registry.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function agentDir(root: string, name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "levee.db"), "");
  return dir;
}

function setup() {
  const root = mkdtempSync(join(tmpdir(), "levee-ports-"));
  dirs.push(root);
  return { root, file: join(root, "run", "ports.db") };
}

describe("PortRegistry", async () => {
  test("stable per worker, never handed out twice, even to two agents sharing the file", async () => {
    const { root, file } = setup();
    const range = { min: 15100, max: 15109 };
    const a = new PortRegistry(file, agentDir(root, "a"), range);
    const b = new PortRegistry(file, agentDir(root, "b"), range);
    const ports = new Set<number>();
    for (let i = 0; i < 5; i++) ports.add(await a.allocate(`web/${i}`));
    for (let i = 0; i < 5; i++) ports.add(await b.allocate(`web/${i}`));
    expect(ports.size).toBe(10);
    expect(await a.allocate("web/3")).toBe(await a.allocate("web/3"));
    await expect(b.allocate("web/9")).rejects.toThrow(PortExhausted);
    await a.releaseExcept(new Set(["web/0"]));
    const freed = await b.allocate("web/9");
    expect(ports.has(freed)).toBe(true);
    a.close();
    b.close();
  });

  test("a port bound by someone else is skipped; the preferred port is kept when free", async () => {
    const { root, file } = setup();
    const busy = Bun.listen({ hostname: "127.0.0.1", port: 15600, socket: { data() {} } });
    try {
      const range = { min: busy.port, max: busy.port + 1 };
      const reg = new PortRegistry(file, agentDir(root, "a"), range);
      expect(await reg.allocate("w/0")).toBe(busy.port + 1);
      const other = new PortRegistry(join(root, "other.db"), agentDir(root, "c"), { min: 15200, max: 15300 });
      expect(await other.allocate("w/0", { port: 15250, held: false })).toBe(15250);
      // held: our own running worker listens there, so no probe.
      expect(await other.allocate("w/1", { port: busy.port, held: true })).toBe(busy.port);
      reg.close();
      other.close();
    } finally {
      busy.stop(true);
    }
  });

  test("allocations of an agent whose data dir is gone are reclaimed", async () => {
    const { root, file } = setup();
    const range = { min: 15400, max: 15400 };
    const gone = agentDir(root, "gone");
    const a = new PortRegistry(file, gone, range);
    expect(await a.allocate("w/0")).toBe(15400);
    rmSync(gone, { recursive: true });
    const b = new PortRegistry(file, agentDir(root, "b"), range);
    expect(await b.allocate("w/0")).toBe(15400);
    a.close();
    b.close();
  });

  test("reallocate gives a new port while the old one is still bound", async () => {
    const { root, file } = setup();
    const reg = new PortRegistry(file, agentDir(root, "a"), { min: 15500, max: 15505 });
    const first = await reg.allocate("w/0");
    const listener = Bun.listen({ hostname: "0.0.0.0", port: first, socket: { data() {} } });
    try {
      const second = await reg.reallocate("w/0");
      expect(second).not.toBe(first);
      expect(await reg.allocate("w/0")).toBe(second);
    } finally {
      listener.stop(true);
      reg.close();
    }
  });

  test("another process holding the lock never blocks the event loop; known ports are still read", async () => {
    const { root, file } = setup();
    const range = { min: 15700, max: 15709 };
    const reg = new PortRegistry(file, agentDir(root, "a"), range, undefined, 400);
    const known = await reg.allocate("w/0");
    // A second agent that takes the write lock and then stalls (as one frozen by SIGSTOP would).
    const holder = Bun.spawn(
      [
        process.execPath,
        "-e",
        `const { Database } = require("bun:sqlite");
         const db = new Database(${JSON.stringify(file)});
         db.run("BEGIN IMMEDIATE");
         console.log("locked");
         setInterval(() => {}, 1000);`,
      ],
      { stdout: "pipe", stderr: "inherit" },
    );
    try {
      const reader = holder.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain("locked");
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 10);
      const started = performance.now();
      expect(await reg.allocate("w/0")).toBe(known); // a read: no lock needed
      await expect(reg.allocate("w/1")).rejects.toThrow(PortRegistryBusy);
      const waited = performance.now() - started;
      clearInterval(ticker);
      expect(waited).toBeGreaterThanOrEqual(400);
      expect(ticks).toBeGreaterThanOrEqual(10); // the loop kept running while the lock was waited for
      await expect(reg.releaseExcept(new Set())).rejects.toThrow(/stayed locked by another levee agent/);
    } finally {
      holder.kill("SIGKILL");
      await holder.exited;
    }
    const next = await reg.allocate("w/1");
    expect(next).not.toBe(known);
    reg.close();
  });
});
