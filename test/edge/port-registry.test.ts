import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PortExhausted, PortRegistry } from "../../src/edge/workers/port-registry.ts";

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

describe("PortRegistry", () => {
  test("stable per worker, never handed out twice, even to two agents sharing the file", () => {
    const { root, file } = setup();
    const range = { min: 15100, max: 15109 };
    const a = new PortRegistry(file, agentDir(root, "a"), range);
    const b = new PortRegistry(file, agentDir(root, "b"), range);
    const ports = new Set<number>();
    for (let i = 0; i < 5; i++) ports.add(a.allocate(`web/${i}`));
    for (let i = 0; i < 5; i++) ports.add(b.allocate(`web/${i}`));
    expect(ports.size).toBe(10);
    expect(a.allocate("web/3")).toBe(a.allocate("web/3"));
    expect(() => b.allocate("web/9")).toThrow(PortExhausted);
    a.releaseExcept(new Set(["web/0"]));
    const freed = b.allocate("web/9");
    expect(ports.has(freed)).toBe(true);
    a.close();
    b.close();
  });

  test("a port bound by someone else is skipped; the preferred port is kept when free", () => {
    const { root, file } = setup();
    const busy = Bun.listen({ hostname: "127.0.0.1", port: 15600, socket: { data() {} } });
    try {
      const range = { min: busy.port, max: busy.port + 1 };
      const reg = new PortRegistry(file, agentDir(root, "a"), range);
      expect(reg.allocate("w/0")).toBe(busy.port + 1);
      const other = new PortRegistry(join(root, "other.db"), agentDir(root, "c"), { min: 15200, max: 15300 });
      expect(other.allocate("w/0", { port: 15250, held: false })).toBe(15250);
      // held: our own running worker listens there, so no probe.
      expect(other.allocate("w/1", { port: busy.port, held: true })).toBe(busy.port);
      reg.close();
      other.close();
    } finally {
      busy.stop(true);
    }
  });

  test("allocations of an agent whose data dir is gone are reclaimed", () => {
    const { root, file } = setup();
    const range = { min: 15400, max: 15400 };
    const gone = agentDir(root, "gone");
    const a = new PortRegistry(file, gone, range);
    expect(a.allocate("w/0")).toBe(15400);
    rmSync(gone, { recursive: true });
    const b = new PortRegistry(file, agentDir(root, "b"), range);
    expect(b.allocate("w/0")).toBe(15400);
    a.close();
    b.close();
  });

  test("reallocate gives a new port while the old one is still bound", () => {
    const { root, file } = setup();
    const reg = new PortRegistry(file, agentDir(root, "a"), { min: 15500, max: 15505 });
    const first = reg.allocate("w/0");
    const listener = Bun.listen({ hostname: "0.0.0.0", port: first, socket: { data() {} } });
    try {
      const second = reg.reallocate("w/0");
      expect(second).not.toBe(first);
      expect(reg.allocate("w/0")).toBe(second);
    } finally {
      listener.stop(true);
      reg.close();
    }
  });
});
