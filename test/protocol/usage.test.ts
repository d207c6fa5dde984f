// Usage on the wire: rounded to millicores and KiB, workers in a stable order and cut to the byte
// budget, read back at that precision; and in a heartbeat: optional, a usage the cloud cannot
// read is left out without dropping the heartbeat, and unknown fields (what an older cloud sees
// of `usage`) are ignored.
import { describe, expect, test } from "bun:test";
import { decodeMessage, encodeMessage, newMessage } from "../../src/protocol/messages.ts";
import {
  fromUsageReport,
  toUsageReport,
  USAGE_WORKERS_MAX_BYTES,
  type UsageSample,
  type WorkerUsage,
} from "../../src/protocol/usage.ts";

const AT = "2030-01-01T00:00:10.000Z";
const worker = (service: string, index: number, cpuNanocores = 12_400_000): WorkerUsage => ({
  service,
  index,
  cpuNanocores,
  memoryBytes: 52 * 1024 * 1024 + 300,
  windowSeconds: 10.0004,
  sampledAt: AT,
});
const sample = (workers: WorkerUsage[]): UsageSample => ({
  node: {
    cpuNanocores: 250_600_000,
    memoryBytes: 1_000_000_000,
    cpus: 4,
    memoryCapacityBytes: 8 * 1024 ** 3,
    windowSeconds: 10.0004,
    sampledAt: AT,
  },
  workers,
});

describe("usage report", () => {
  test("rounded to millicores and KiB, workers by service then index; read back at that precision", () => {
    const report = toUsageReport(sample([worker("b", 0), worker("a", 10), worker("a", 2, 400_000)]));
    expect(report).toEqual({
      sampledAt: AT,
      windowSeconds: 10,
      node: { cpuMillicores: 251, memoryKiB: 976_563, cpus: 4, memoryCapacityKiB: 8 * 1024 ** 2 },
      workers: [
        { service: "a", index: 2, cpuMillicores: 0, memoryKiB: 53_248 },
        { service: "a", index: 10, cpuMillicores: 12, memoryKiB: 53_248 },
        { service: "b", index: 0, cpuMillicores: 12, memoryKiB: 53_248 },
      ],
    });
    const back = fromUsageReport(report);
    expect(back.node).toMatchObject({ cpuNanocores: 251_000_000, memoryBytes: 976_563 * 1024, cpus: 4 });
    expect(back.workers[1]).toEqual({
      service: "a",
      index: 10,
      cpuNanocores: 12_000_000,
      memoryBytes: 53_248 * 1024,
      windowSeconds: 10,
      sampledAt: AT,
    });
  });

  test("workers beyond the byte budget are left out, the same ones every time; the heartbeat still fits", () => {
    const many = Array.from({ length: 5_000 }, (_, i) =>
      worker(`service-with-a-long-name-${"x".repeat(200)}`, i),
    );
    const report = toUsageReport(sample(many.reverse()));
    expect(report.workers.length).toBeGreaterThan(100);
    expect(report.workers.length).toBeLessThan(5_000);
    expect(Buffer.byteLength(JSON.stringify(report.workers))).toBeLessThanOrEqual(
      USAGE_WORKERS_MAX_BYTES + 1,
    );
    expect(report.workers.map((w) => w.index)).toEqual(report.workers.map((_, i) => i));
    const beat = newMessage("e1", {
      type: "heartbeat",
      epoch: null,
      appliedRevision: 0,
      outboxDepth: 0,
      usage: report,
    });
    expect(() => encodeMessage(beat)).not.toThrow();
  });
});

describe("usage in a heartbeat", () => {
  const heartbeat = (extra: Record<string, unknown>) =>
    Buffer.from(
      JSON.stringify({
        ...newMessage("e1", { type: "heartbeat", epoch: null, appliedRevision: 0, outboxDepth: 0 }),
        ...extra,
      }),
    );

  test("with usage: decoded; without: decoded, no usage", () => {
    const usage = toUsageReport(sample([worker("a", 0)]));
    const withUsage = decodeMessage("e1", heartbeat({ usage }), "up");
    expect(withUsage.ok && withUsage.msg.type === "heartbeat" && withUsage.msg.usage).toEqual(usage);
    const without = decodeMessage("e1", heartbeat({}), "up");
    expect(
      without.ok && without.msg.type === "heartbeat" && "usage" in without.msg && without.msg.usage,
    ).toBe(false);
  });

  test("a usage the cloud cannot read is left out; the heartbeat is kept", () => {
    for (const usage of [{ node: "x" }, "usage", { ...toUsageReport(sample([])), windowSeconds: -1 }]) {
      const decoded = decodeMessage("e1", heartbeat({ usage }), "up");
      expect(decoded.ok).toBe(true);
      expect(decoded.ok && decoded.msg.type === "heartbeat" && decoded.msg.usage).toBeUndefined();
    }
  });

  test("fields a receiver does not know are ignored (an older cloud and `usage`)", () => {
    const decoded = decodeMessage("e1", heartbeat({ future: { anything: [1, 2] } }), "up");
    expect(decoded.ok).toBe(true);
    expect(decoded.ok && "future" in decoded.msg).toBe(false);
  });
});
