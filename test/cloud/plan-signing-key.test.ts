// The cloud's plan-signing key file: made once (0600), the same key on every later start, and a
// file that is not an Ed25519 private key stops the cloud with a message naming it.
import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadOrCreatePlanSigner, PLAN_KEY_FILE } from "../../src/cloud/plan-signing-key.ts";
import { planSignatureProblem } from "../../src/protocol/plan-signature.ts";
import { makeTempDir } from "../harness/cluster.ts";

const fields = { node: "n", epoch: "e", revision: 1, hash: "h", plan: {} };

describe("plan-signing key", () => {
  test("made at the first start, mode 0600, and the same key afterwards", () => {
    const dir = makeTempDir();
    const first = loadOrCreatePlanSigner(dir);
    expect(statSync(join(dir, PLAN_KEY_FILE)).mode & 0o777).toBe(0o600);
    const again = loadOrCreatePlanSigner(dir);
    expect(again.key).toEqual(first.key);
    expect(planSignatureProblem(first.key, fields, again.sign(fields))).toBeUndefined();
  });

  test("a file that is not an Ed25519 private key is refused", () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, PLAN_KEY_FILE), "garbage");
    expect(() => loadOrCreatePlanSigner(dir)).toThrow(/plan-signing.key is not a PEM private key/);
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    writeFileSync(join(dir, PLAN_KEY_FILE), ec.export({ type: "pkcs8", format: "pem" }));
    expect(() => loadOrCreatePlanSigner(dir)).toThrow(/not an Ed25519 key/);
  });
});
