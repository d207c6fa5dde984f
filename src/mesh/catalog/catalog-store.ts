// This node's copy of the catalog (table catalog, one row): written when a newer catalog arrives
// (another epoch, or a higher revision in the same one), read at start so that routing works at
// once, with or without the cloud. In-memory subscribers hear about every accepted catalog.
import { EventEmitter } from "node:events";
import type { Store } from "../../store/store.ts";
import type { Catalog } from "../contracts.ts";
import { parseCatalog } from "./schema.ts";

export type CatalogDecision = "accept" | "stale";

/** Pure: is `incoming` newer than what the node has? */
export function decideCatalog(
  current: Pick<Catalog, "epoch" | "revision"> | undefined,
  incoming: Pick<Catalog, "epoch" | "revision">,
): CatalogDecision {
  if (!current || current.epoch !== incoming.epoch) return "accept";
  return incoming.revision > current.revision ? "accept" : "stale";
}

export class CatalogStore extends EventEmitter<{ change: [Catalog] }> {
  private current: Catalog | undefined;

  constructor(private readonly store: Store) {
    super();
    const row = store.db.query<{ body: string }, []>("SELECT body FROM catalog WHERE id = 1").get();
    if (row) {
      const parsed = parseCatalog(row.body);
      if (parsed.ok) this.current = parsed.catalog;
    }
  }

  get(): Catalog | undefined {
    return this.current;
  }

  /** Stores a catalog if it is newer; returns what was decided. */
  offer(catalog: Catalog): CatalogDecision {
    const decision = decideCatalog(this.current, catalog);
    if (decision === "stale") return decision;
    this.store.db
      .query(
        `INSERT INTO catalog (id, epoch, revision, body, received_at) VALUES (1, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET epoch = excluded.epoch, revision = excluded.revision,
           body = excluded.body, received_at = excluded.received_at`,
      )
      .run(catalog.epoch, catalog.revision, JSON.stringify(catalog), new Date().toISOString());
    this.current = catalog;
    this.emit("change", catalog);
    return decision;
  }
}
