// The edge's durable status outbox (table status_outbox; docs/PROTOCOL.md, "Status"): one row
// per worker, a newer status replacing an unsent older one (coalesced), each change bumping the
// row's version. A batch takes a new seq (persisted in meta, so it keeps growing across restarts)
// and marks its rows with (seq, version); the cloud's status-ack for that seq deletes exactly
// the rows that were carried and have not changed since.
//
// One outbox per node: the supervisor records into it (its status sink from construction on),
// and the node's link, made afterwards, sends from it and hears "recorded" to send promptly.

import { EventEmitter } from "node:events";
import type { WorkerStatus } from "../../protocol/messages.ts";
import type { Store } from "../../store/store.ts";

const SEQ_KEY = "status-seq";
/** Workers per status message: keeps a message far below the 1 MiB limit. */
export const DEFAULT_BATCH_LIMIT = 500;
const MAX_MESSAGE_CHARS = 1000;

export interface StatusBatch {
  seq: number;
  workers: WorkerStatus[];
}

export interface BatchOptions {
  /** false (default): only rows never sent or changed since they were sent. true: any unacked row. */
  resend?: boolean;
  limit?: number;
}

export class StatusOutbox extends EventEmitter<{ recorded: [] }> {
  constructor(private readonly store: Store) {
    super();
  }

  /** Records a worker's status; an identical status to the pending one is not a change. */
  record(status: WorkerStatus): void {
    const entry: WorkerStatus = {
      ...status,
      message:
        status.message.length > MAX_MESSAGE_CHARS
          ? status.message.slice(0, MAX_MESSAGE_CHARS)
          : status.message,
    };
    this.store.db
      .query(
        `INSERT INTO status_outbox (service, idx, status, version) VALUES (?, ?, ?, 1)
         ON CONFLICT (service, idx) DO UPDATE SET status = excluded.status, version = version + 1
         WHERE status != excluded.status`,
      )
      .run(entry.service, entry.index, JSON.stringify(entry));
    this.emit("recorded");
  }

  /** The next status message's content, or undefined when there is nothing to send. */
  nextBatch(options: BatchOptions = {}): StatusBatch | undefined {
    const limit = options.limit ?? DEFAULT_BATCH_LIMIT;
    return this.store.tx((db) => {
      const where = options.resend ? "" : "WHERE sent_version IS NULL OR sent_version != version";
      // Resending goes oldest-sent first, so repeated partial batches cycle through every row.
      const rows = db
        .query<{ service: string; idx: number; status: string; version: number }, [number]>(
          `SELECT service, idx, status, version FROM status_outbox ${where}
           ORDER BY sent_seq IS NOT NULL, sent_seq, service, idx LIMIT ?`,
        )
        .all(limit);
      if (rows.length === 0) return undefined;
      const seq = Number(this.store.getMeta(SEQ_KEY) ?? "0") + 1;
      this.store.setMeta(SEQ_KEY, String(seq));
      const mark = db.query(
        "UPDATE status_outbox SET sent_seq = ?, sent_version = ? WHERE service = ? AND idx = ?",
      );
      for (const row of rows) mark.run(seq, row.version, row.service, row.idx);
      return { seq, workers: rows.map((r) => JSON.parse(r.status) as WorkerStatus) };
    });
  }

  /** The cloud stored batch `seq`: forget the rows it carried unless they changed since. */
  ack(seq: number): number {
    return this.store.db
      .query("DELETE FROM status_outbox WHERE sent_seq = ? AND sent_version = version")
      .run(seq).changes;
  }

  /** Rows not yet acknowledged. */
  depth(): number {
    return this.store.db.query<{ n: number }, []>("SELECT count(*) AS n FROM status_outbox").get()?.n ?? 0;
  }

  /** Rows that a non-resend batch would carry (never sent, or changed since). */
  unsent(): number {
    return (
      this.store.db
        .query<{ n: number }, []>(
          "SELECT count(*) AS n FROM status_outbox WHERE sent_version IS NULL OR sent_version != version",
        )
        .get()?.n ?? 0
    );
  }
}
