// Plan signatures: what the cloud signs verifies with its key, and any change to what the node
// stores or runs (body, revision, epoch, hash, format, the node it is for) does not; nor does a
// plan without a signature, or one signed with another key.
import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { planSigner } from "../../src/cloud/plan-signing-key.ts";
import {
  planKeyProblem,
  planSignatureProblem,
  type SignedPlanFields,
  signedPlanBytes,
} from "../../src/protocol/plan-signature.ts";

const signer = planSigner(generateKeyPairSync("ed25519").privateKey);
const fields: SignedPlanFields = {
  node: "edge1",
  epoch: "ep-1",
  revision: 7,
  hash: "h7",
  format: 2,
  plan: { services: [{ name: "web", replicas: 2 }] },
};
const signature = signer.sign(fields);

describe("plan signatures", () => {
  test("a plan the cloud signed verifies with its key", () => {
    expect(planSignatureProblem(signer.key, fields, signature)).toBeUndefined();
    // The same content in another key order: the same bytes.
    const reordered = { plan: fields.plan, hash: "h7", revision: 7, epoch: "ep-1", node: "edge1", format: 2 };
    expect(planSignatureProblem(signer.key, reordered, signature)).toBeUndefined();
  });

  const tampered: [string, SignedPlanFields][] = [
    ["plan body", { ...fields, plan: { services: [{ name: "web", replicas: 3 }] } }],
    ["revision", { ...fields, revision: 8 }],
    ["epoch", { ...fields, epoch: "ep-2" }],
    ["hash", { ...fields, hash: "other" }],
    ["format", { ...fields, format: 1 }],
    ["node name", { ...fields, node: "edge2" }],
  ];
  for (const [what, changed] of tampered) {
    test(`a plan with another ${what} is refused`, () => {
      expect(planSignatureProblem(signer.key, changed, signature)).toContain("does not match its content");
    });
  }

  test("an absent format is signed as format 1", () => {
    const { format: _format, ...rest } = fields;
    expect(signedPlanBytes(rest).toString()).toBe(signedPlanBytes({ ...rest, format: 1 }).toString());
  });

  test("a plan without a signature is refused", () => {
    expect(planSignatureProblem(signer.key, fields, {})).toBe("the plan is not signed");
    expect(planSignatureProblem(signer.key, fields, { keyId: signer.key.keyId })).toBe(
      "the plan is not signed",
    );
  });

  test("a plan signed with another key is refused, whatever key id it claims", () => {
    const other = planSigner(generateKeyPairSync("ed25519").privateKey);
    const forged = other.sign(fields);
    expect(planSignatureProblem(signer.key, fields, forged)).toContain(
      `not the cloud's key ${signer.key.keyId}`,
    );
    expect(planSignatureProblem(signer.key, fields, { ...forged, keyId: signer.key.keyId })).toContain(
      "does not match",
    );
  });

  test("a signature that is not base64 of a signature is refused, not thrown", () => {
    expect(planSignatureProblem(signer.key, fields, { signature: "!!", keyId: signer.key.keyId })).toContain(
      "does not match",
    );
  });

  test("only Ed25519 public keys are plan keys", () => {
    expect(planKeyProblem(signer.key.publicKey)).toBeUndefined();
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({
      type: "spki",
      format: "pem",
    });
    expect(planKeyProblem(ec.toString())).toContain("not an Ed25519 key");
    expect(planKeyProblem("nonsense")).toContain("not a PEM public key");
  });
});
