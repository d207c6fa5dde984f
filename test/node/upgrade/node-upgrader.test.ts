import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import {
  NodeUpgrader,
  type UpgradeEffects,
  type UpgradeOrder,
} from "../../../src/node/upgrade/node-upgrader.ts";
import type { UpgradeResult } from "../../../src/node/upgrade/upgrade-files.ts";
import { newMessage } from "../../../src/protocol/messages.ts";
import { planKeyId } from "../../../src/protocol/plan-signature.ts";
import { signBinary } from "../../../src/protocol/upgrade.ts";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const KEY = {
  publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
  keyId: planKeyId(publicKey),
};
const SHA = "a".repeat(64);

function order(over: Partial<UpgradeOrder> = {}, sign = { sha256: SHA, size: 10 }): UpgradeOrder {
  const version = over.version ?? "1.1.0";
  const statement = { target: "linux-x64", version, sha256: sign.sha256, size: sign.size };
  return {
    ...newMessage("edge1", {
      type: "upgrade",
      format: 1,
      rollout: "u-1",
      version,
      allowDowngrade: false,
      timeoutSeconds: 60,
      keyId: KEY.keyId,
      binaries: [
        { target: "linux-x64", sha256: SHA, size: 10, signature: signBinary(privateKey, statement) },
      ],
    }),
    ...over,
  };
}

function fakes(over: Partial<UpgradeEffects> = {}) {
  const calls: string[] = [];
  const reports: UpgradeResult[] = [];
  let result: UpgradeResult | undefined;
  const fx: UpgradeEffects = {
    running: { version: "1.0.0", target: "linux-x64" },
    planKey: () => KEY,
    workersStopOnExit: () => undefined,
    download: async (b) => {
      calls.push(`download ${b.sha256.slice(0, 4)}`);
      return "/tmp/new";
    },
    probe: async (path) => {
      calls.push(`probe ${path}`);
      return { version: "1.1.0", target: "bun-linux-x64" };
    },
    workers: () => [{ service: "who", index: 0, pid: 42 }],
    swap: (path, pending) =>
      calls.push(`swap ${path} ${pending.from}->${pending.to} pids=${pending.workers.map((w) => w.pid)}`),
    restart: () => calls.push("restart"),
    pending: () => undefined,
    readResult: () => result,
    writeResult: (r) => {
      result = r;
    },
    report: (r) => reports.push(r),
    now: () => 0,
    ...over,
  };
  return { fx, calls, reports, result: () => result };
}

describe("NodeUpgrader", () => {
  test("download, run it once, swap with the workers to adopt, restart; each step reported", async () => {
    const f = fakes();
    await new NodeUpgrader(f.fx).order(order());
    expect(f.calls).toEqual([
      "download aaaa",
      "probe /tmp/new",
      "swap /tmp/new 1.0.0->1.1.0 pids=42",
      "restart",
    ]);
    expect(f.reports.map((r) => r.state)).toEqual(["downloading", "swapping", "waiting-for-health"]);
  });

  test("a binary whose signed statement does not match is refused before any download", async () => {
    const f = fakes();
    await new NodeUpgrader(f.fx).order(order({}, { sha256: "b".repeat(64), size: 10 }));
    expect(f.calls).toEqual([]);
    expect(f.reports).toEqual([
      expect.objectContaining({ state: "failed", reason: expect.stringContaining("signature") }),
    ]);
    expect(f.result()?.state).toBe("failed");
  });

  test("a download that fails its sha256, or a binary that says another version, fails without a swap", async () => {
    const corrupt = fakes({
      download: async () => {
        throw new Error("2 transfers in a row had the wrong sha256");
      },
    });
    await new NodeUpgrader(corrupt.fx).order(order());
    expect(corrupt.reports.at(-1)).toEqual(
      expect.objectContaining({ state: "failed", reason: expect.stringContaining("sha256") }),
    );
    const other = fakes({ probe: async () => ({ version: "9.9.9", target: "bun-linux-x64" }) });
    await new NodeUpgrader(other.fx).order(order());
    expect(other.calls.some((c) => c.startsWith("swap"))).toBe(false);
    expect(other.reports.at(-1)?.reason).toContain("9.9.9");
    const arch = fakes({ probe: async () => ({ version: "1.1.0", target: "bun-linux-arm64" }) });
    await new NodeUpgrader(arch.fx).order(order());
    expect(arch.reports.at(-1)?.reason).toContain("linux-arm64");
  });

  test("refusals: downgrade, no binary for this target, from source, workers that would stop", async () => {
    const cases: [Partial<UpgradeEffects>, Partial<UpgradeOrder>, string][] = [
      [{ running: { version: "2.0.0", target: "linux-x64" } }, {}, "downgrade refused"],
      [
        { running: { version: "1.0.0", target: "linux-arm64" } },
        {},
        "no binary for this node's target linux-arm64",
      ],
      [{ running: { version: "1.0.0", target: undefined } }, {}, "runs from source"],
      [{ workersStopOnExit: () => "stop-workers-on-exit is on" }, {}, "stop-workers-on-exit"],
      [{}, { format: 2 as 1 }, "format 2"],
    ];
    for (const [fx, o, reason] of cases) {
      const f = fakes(fx);
      await new NodeUpgrader(f.fx).order(order(o));
      expect(f.calls).toEqual([]);
      expect(f.reports.at(-1)?.reason).toContain(reason);
    }
  });

  test("already at the version: done at once; an order repeated after its end gets the same answer", async () => {
    const f = fakes({ running: { version: "1.1.0", target: "linux-x64" } });
    const up = new NodeUpgrader(f.fx);
    await up.order(order());
    await up.order(order());
    expect(f.reports.map((r) => r.state)).toEqual(["done", "done"]);
    up.welcomed();
    expect(f.reports).toHaveLength(3);
  });

  test("the new agent before its gate decides: waiting-for-health, not done, though at the version", async () => {
    const f = fakes({
      running: { version: "1.1.0", target: "linux-x64" },
      pending: () => ({ rollout: "u-1", to: "1.1.0" }),
    });
    await new NodeUpgrader(f.fx).order(order());
    expect(f.reports.map((r) => r.state)).toEqual(["waiting-for-health"]);
    expect(f.result()).toBeUndefined();
  });

  test("an order repeated while one is under way is answered with where it is", async () => {
    let release: (v: string) => void = () => {};
    const f = fakes({ download: () => new Promise((r) => (release = r)) });
    const up = new NodeUpgrader(f.fx);
    const first = up.order(order());
    await up.order(order());
    expect(f.reports.map((r) => r.state)).toEqual(["downloading", "downloading"]);
    release("/tmp/new");
    await first;
    expect(f.calls).toContain("restart");
  });
});
