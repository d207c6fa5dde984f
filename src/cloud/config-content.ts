// The bytes of a Config file or Secret value, found by their sha256 for the node that asks: only
// among the files that node's current plan references (a node reads no other node's Configs; node-read-scope.ts),
// read from the stored Config and checked against the hash. Plans are rewritten in the transaction
// that changes a Config, so the current plan and the stored Configs always agree; content a node's
// older plan referenced is no longer served (its newer plan is on its way). Served by
// GET /api/v1/config-content/SHA, and read directly by the cloud's own node.
import type { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { type ConfigResource, configFile } from "../manifest/config.ts";
import { secretOfPlanKey, secretValue } from "../manifest/secret.ts";
import { type ConfigContentSource, NotInPlan } from "../node/configs/content-source.ts";
import type { Store } from "../store/store.ts";
import { type ConfigFileAt, NodeReadScope } from "./node-read-scope.ts";
import { getObject, listObjects, secretSpecs, storedKey, storedSpec } from "./resource-store.ts";

function inAnyConfig(db: Database): ConfigFileAt[] {
  return listObjects(db, "Config").flatMap((o) => {
    const spec = storedSpec(o) as Partial<ConfigResource>;
    return [...Object.keys(spec.data ?? {}), ...Object.keys(spec.binaryData ?? {})].map((file) => ({
      config: storedKey(o),
      file,
    }));
  });
}

/**
 * The bytes with this sha256 among the Config files and Secret values `node`'s plan references
 * (its read scope; for the admin, node undefined: every Config's files, never a Secret's value),
 * or undefined when there are none. `secret`: the bytes are a Secret's value (not to be logged,
 * not even by their hash).
 */
export function configContent(
  db: Database,
  scope: NodeReadScope,
  node: string | undefined,
  sha256: string,
): { bytes: Uint8Array; secret: boolean } | undefined {
  const candidates = node === undefined ? inAnyConfig(db) : scope.configFilesWith(node, sha256);
  for (const { config, file } of candidates) {
    const bytes = fileOf(db, config, file);
    if (bytes && createHash("sha256").update(bytes).digest("hex") === sha256)
      return { bytes, secret: secretOfPlanKey(config) !== undefined };
  }
  return undefined;
}

/** One file of a Config, or one value of a Secret (its plan name: secretPlanKey). */
function fileOf(db: Database, planName: string, file: string): Uint8Array | undefined {
  const secret = secretOfPlanKey(planName);
  if (secret !== undefined) {
    const spec = secretSpecs(db, secret).get(secret);
    return spec ? secretValue(spec, file) : undefined;
  }
  const object = getObject(db, "Config", planName);
  if (!object) return undefined;
  const spec = storedSpec(object) as Partial<ConfigResource>;
  return configFile({ data: spec.data ?? {}, binaryData: spec.binaryData ?? {} }, file);
}

/** The cloud's own node reads its Config content from the cloud's database, not over HTTP. */
export function localConfigSource(store: Store, node: string): ConfigContentSource {
  const scope = new NodeReadScope(store);
  return {
    description: "the cloud's database",
    async fetch(sha256) {
      const found = configContent(store.db, scope, node, sha256);
      if (!found)
        throw new NotInPlan(`node ${node}'s current plan references no Config file with sha256 ${sha256}`);
      return found.bytes;
    },
  };
}
