// The /proc parsers on fixtures (including a comm with spaces and parentheses, an old kernel
// without MemAvailable, text that is not /proc at all), and the host readers on the real /proc:
// the node's counters, and a process group of this test's own that burns CPU and holds memory.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { hostReaders } from "../../../src/node/usage/host-readers.ts";
import {
  parseCpuTimes,
  parseMeminfo,
  parseProcessStat,
  parseResidentBytes,
} from "../../../src/node/usage/proc-usage.ts";

const PROC_STAT = `cpu  459375 10 179863 1218026 8782 0 52959 243 0 0
cpu0 218607 0 86694 626086 1936 0 26047 117 0 0
cpu1 240768 10 93169 591940 6846 0 26912 126 0 0
intr 18839724 0 0 0
ctxt 123
btime 1700000000
`;

describe("/proc/stat", () => {
  test("busy is everything but idle and iowait; the cpuN lines are the CPUs", () => {
    const busy = 459375 + 10 + 179863 + 0 + 52959 + 243;
    expect(parseCpuTimes(PROC_STAT)).toEqual({ busy, total: busy + 1218026 + 8782, cpus: 2 });
  });

  test("an old kernel's short cpu line still reads", () => {
    expect(parseCpuTimes("cpu 10 0 5 100\ncpu0 10 0 5 100\n")).toEqual({ busy: 15, total: 115, cpus: 1 });
  });

  test("text without a cpu line, or with garbage in it, is undefined", () => {
    expect(parseCpuTimes("intr 1 2 3\n")).toBeUndefined();
    expect(parseCpuTimes("cpu  1 x 3 4\n")).toBeUndefined();
    expect(parseCpuTimes("")).toBeUndefined();
  });
});

describe("/proc/meminfo", () => {
  test("MemTotal and MemAvailable, in bytes", () => {
    const text = "MemTotal:       24683772 kB\nMemFree:        22589428 kB\nMemAvailable:   23733140 kB\n";
    expect(parseMeminfo(text)).toEqual({ totalBytes: 24683772 * 1024, availableBytes: 23733140 * 1024 });
  });

  test("before MemAvailable existed: free + buffers + cached", () => {
    const text = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\nHugePages_Total: 0\n";
    expect(parseMeminfo(text)).toEqual({ totalBytes: 1000 * 1024, availableBytes: 420 * 1024 });
  });

  test("without MemTotal: undefined", () => {
    expect(parseMeminfo("MemFree: 100 kB\n")).toBeUndefined();
  });
});

describe("/proc/PID/stat and status", () => {
  test("group, session and CPU ticks (own and reaped children's), with a comm full of spaces and parentheses", () => {
    const line =
      "4242 (my (odd) worker) S 1 4242 4242 0 -1 4194304 102 0 0 0 7 3 20 10 20 0 1 0 967457 3133440 417 18446744073709551615";
    expect(parseProcessStat(line)).toEqual({ state: "S", pgrp: 4242, session: 4242, cpuTicks: 40 });
  });

  test("a truncated or foreign line is undefined", () => {
    expect(parseProcessStat("4242 (x) S 1 2")).toBeUndefined();
    expect(parseProcessStat("no parenthesis here")).toBeUndefined();
    expect(parseProcessStat("1 (x) S 1 a b 0 -1 0 0 0 0 0 1 1 0 0")).toBeUndefined();
  });

  test("VmRSS in bytes; 0 without it (a kernel thread, a zombie)", () => {
    expect(parseResidentBytes("Name:\tsh\nVmRSS:\t    1968 kB\nThreads:\t1\n")).toBe(1968 * 1024);
    expect(parseResidentBytes("Name:\tkthreadd\nThreads:\t1\n")).toBe(0);
  });

  test("this process's own files parse", () => {
    const stat = parseProcessStat(readFileSync("/proc/self/stat", "latin1"));
    expect(stat?.cpuTicks).toBeGreaterThanOrEqual(0);
    expect(stat?.pgrp).toBeGreaterThan(0);
    expect(parseResidentBytes(readFileSync("/proc/self/status", "latin1"))).toBeGreaterThan(1024 * 1024);
  });
});

describe("host readers on the real /proc", () => {
  test("the node: CPU ticks grow, memory in use is within capacity", async () => {
    const readers = hostReaders();
    const first = readers.node();
    await Bun.sleep(50);
    const second = readers.node();
    expect(first.cpu.cpus).toBeGreaterThanOrEqual(1);
    expect(second.cpu.total).toBeGreaterThan(first.cpu.total);
    expect(first.memory.availableBytes).toBeGreaterThan(0);
    expect(first.memory.availableBytes).toBeLessThanOrEqual(first.memory.totalBytes);
  });

  test("a process group, children included: its CPU time grows while it burns, its memory is its processes' RSS", async () => {
    // A leader in its own group (as the exec driver starts workers) with a busy child.
    const child = Bun.spawn(["sh", "-c", "sh -c 'while :; do :; done' & wait"], {
      detached: true,
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      const readers = hostReaders();
      await Bun.sleep(300);
      const first = readers.processGroups([child.pid, 999_999_999]).get(child.pid);
      await Bun.sleep(300);
      const second = readers.processGroups([child.pid]).get(child.pid);
      expect(first?.memoryBytes).toBeGreaterThan(0);
      expect(second?.cpuNanoseconds ?? 0).toBeGreaterThan(first?.cpuNanoseconds ?? 0);
      expect(readers.processGroups([999_999_999]).size).toBe(0);
      expect(readers.processGroups([]).size).toBe(0);
    } finally {
      process.kill(-child.pid, "SIGKILL");
      await child.exited;
    }
  });
});
