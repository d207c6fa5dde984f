// This node's copy of the Config files its plan references (table config_content): one row per
// sha256, written only after the bytes matched it, so a worker starts from verified content also
// offline and after a reboot. Rows no plan references any more are deleted (keepOnly) once a new
// plan has been applied.
import { createHash } from "node:crypto";
import type { Store } from "../../store/store.ts";

export function sha256Of(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export class ConfigContentStore {
  constructor(private readonly store: Store) {}

  get(sha256: string): Uint8Array | undefined {
    const row = this.store.db
      .query<{ content: Uint8Array }, [string]>("SELECT content FROM config_content WHERE sha256 = ?")
      .get(sha256);
    return row ? new Uint8Array(row.content) : undefined;
  }

  has(sha256: string): boolean {
    return (
      this.store.db
        .query<{ one: number }, [string]>("SELECT 1 AS one FROM config_content WHERE sha256 = ?")
        .get(sha256) !== null
    );
  }

  /** Keeps the bytes under their sha256; throws when they do not have it. */
  put(sha256: string, bytes: Uint8Array): void {
    const actual = sha256Of(bytes);
    if (actual !== sha256) throw new Error(`the content's sha256 is ${actual}, not ${sha256}`);
    this.store.tx((db) =>
      db
        .query("INSERT OR IGNORE INTO config_content (sha256, content, fetched_at) VALUES (?, ?, ?)")
        .run(sha256, bytes, new Date().toISOString()),
    );
  }

  /** Deletes the content of every sha256 not in `inUse`; returns how many rows went. */
  keepOnly(inUse: ReadonlySet<string>): number {
    return this.store.tx((db) => {
      const all = db.query<{ sha256: string }, []>("SELECT sha256 FROM config_content").all();
      const remove = db.query("DELETE FROM config_content WHERE sha256 = ?");
      let removed = 0;
      for (const { sha256 } of all) {
        if (!inUse.has(sha256)) removed += remove.run(sha256).changes;
      }
      return removed;
    });
  }
}
