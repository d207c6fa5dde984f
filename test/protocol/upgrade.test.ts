import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { planKeyId, signPlan } from "../../src/protocol/plan-signature.ts";
import { binarySignatureProblem, compareVersions, signBinary } from "../../src/protocol/upgrade.ts";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const KEY = {
  publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
  keyId: planKeyId(publicKey),
};
const STATEMENT = { target: "linux-x64", version: "1.1.0", sha256: "a".repeat(64), size: 100 };

describe("binary signatures", () => {
  test("valid for exactly the statement signed", () => {
    const sig = signBinary(privateKey, STATEMENT);
    expect(binarySignatureProblem(KEY, KEY.keyId, STATEMENT, sig)).toBeUndefined();
    for (const changed of [
      { ...STATEMENT, target: "linux-arm64" },
      { ...STATEMENT, version: "1.1.1" },
      { ...STATEMENT, sha256: "b".repeat(64) },
      { ...STATEMENT, size: 101 },
    ])
      expect(binarySignatureProblem(KEY, KEY.keyId, changed, sig)).toContain("does not match");
    expect(binarySignatureProblem(KEY, "other", STATEMENT, sig)).toContain("not the cloud's key");
    expect(binarySignatureProblem(KEY, KEY.keyId, STATEMENT, "garbage")).toContain("does not match");
  });

  test("a plan's signature never verifies as a binary's", () => {
    const plan = signPlan(privateKey, KEY.keyId, { node: "n", epoch: "e", revision: 1, hash: "h", plan: {} });
    expect(binarySignatureProblem(KEY, KEY.keyId, STATEMENT, plan.signature)).toBeDefined();
  });
});

describe("compareVersions", () => {
  test("semantic order; a pre-release before its release; undefined for other strings", () => {
    expect(compareVersions("1.2.0", "1.10.0")).toBeLessThan(0);
    expect(compareVersions("2.0.0", "1.99.99")).toBeGreaterThan(0);
    expect(compareVersions("1.0.0", "v1.0.0")).toBe(0);
    expect(compareVersions("1.0.0-rc.1", "1.0.0")).toBeLessThan(0);
    expect(compareVersions("1.0.0", "test")).toBeUndefined();
  });
});
