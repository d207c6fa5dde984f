// The bytes of a Config file, found by their sha256 for the node that asks: only among the files
// that node's current plan references (a node reads no other node's Configs), read from the stored
// Config and checked against the hash. Plans are rewritten in the transaction that changes a
// Config, so the current plan and the stored Configs always agree; content a node's older plan
// referenced is no longer served (its newer plan is on its way). Served by
// GET /api/v1/config-content/SHA, and read directly by the cloud's own node.
import type { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { type ConfigResource, configFile } from "../manifest/config.ts";
import type { NodePlan } from "../manifest/plan.ts";
import { type ConfigContentSource, NotInPlan } from "../node/configs/content-source.ts";
import type { Store } from "../store/store.ts";
import { getObject, listObjects, storedSpec } from "./resource-store.ts";

/** Where a sha256 may be found: (Config, file) pairs. */
type Candidates = { config: string; file: string }[];

function inPlan(db: Database, node: string, sha256: string): Candidates {
  const row = db.query<{ plan: string }, [string]>("SELECT plan FROM plans WHERE node = ?").get(node);
  if (!row) return [];
  const plan = JSON.parse(row.plan) as Partial<NodePlan>;
  const out: Candidates = [];
  for (const [config, files] of Object.entries(plan.configFiles ?? {})) {
    for (const [file, ref] of Object.entries(files)) if (ref.sha256 === sha256) out.push({ config, file });
  }
  return out;
}

function inAnyConfig(db: Database): Candidates {
  return listObjects(db, "Config").flatMap((o) => {
    const spec = storedSpec(o) as Partial<ConfigResource>;
    return [...Object.keys(spec.data ?? {}), ...Object.keys(spec.binaryData ?? {})].map((file) => ({
      config: o.metadata.name,
      file,
    }));
  });
}

/**
 * The bytes with this sha256 among the Config files `node`'s plan references (every Config's
 * files for the admin: node undefined), or undefined when there are none.
 */
export function configContent(
  db: Database,
  node: string | undefined,
  sha256: string,
): Uint8Array | undefined {
  const candidates = node === undefined ? inAnyConfig(db) : inPlan(db, node, sha256);
  for (const { config, file } of candidates) {
    const object = getObject(db, "Config", config);
    if (!object) continue;
    const spec = storedSpec(object) as Partial<ConfigResource>;
    const bytes = configFile({ data: spec.data ?? {}, binaryData: spec.binaryData ?? {} }, file);
    if (bytes && createHash("sha256").update(bytes).digest("hex") === sha256) return bytes;
  }
  return undefined;
}

/** The cloud's own node reads its Config content from the cloud's database, not over HTTP. */
export function localConfigSource(store: Store, node: string): ConfigContentSource {
  return {
    description: "the cloud's database",
    async fetch(sha256) {
      const bytes = configContent(store.db, node, sha256);
      if (!bytes)
        throw new NotInPlan(`node ${node}'s current plan references no Config file with sha256 ${sha256}`);
      return bytes;
    },
  };
}
