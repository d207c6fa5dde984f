// Bytes each node's MQTT connections carried through the embedded broker, both ways, as the
// broker's sockets count them (the MQTT stream: every packet, the catalog and pings included,
// which the cloud's own session never sees). levee_sync_node_bytes_total{node,direction} on the
// cloud's /metrics: two series per node, like levee_node_plan_lag_revisions' one, for the fleet
// sizes levee supports (10,000 nodes: 20,000 series, read at scrape time, nothing per packet).
// Connections that closed are summed per node; live ones are read when scraped.

/** A connection's byte counts: read from the broker's view (received = from the node). */
export interface ConnectionBytes {
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

interface Totals {
  up: number;
  down: number;
}

export class NodeWireBytes {
  private readonly closed = new Map<string, Totals>();
  private readonly live = new Map<ConnectionBytes, string>();

  /** A node's connection authenticated: its bytes count for `node` from now on (and since it opened). */
  track(conn: ConnectionBytes, node: string): void {
    this.live.set(conn, node);
  }

  /** The connection ended: its final counts are kept in the node's total. */
  closedConnection(conn: ConnectionBytes): void {
    const node = this.live.get(conn);
    if (node === undefined) return;
    this.live.delete(conn);
    const t = this.totals(this.closed, node);
    t.up += conn.bytesRead;
    t.down += conn.bytesWritten;
  }

  /** The node was deleted: its series go. */
  forget(node: string): void {
    this.closed.delete(node);
  }

  /** Per node: bytes up (node → broker) and down (broker → node), closed and live connections. */
  read(): Map<string, Totals> {
    const out = new Map<string, Totals>();
    for (const [node, t] of this.closed) out.set(node, { ...t });
    for (const [conn, node] of this.live) {
      const t = this.totals(out, node);
      t.up += conn.bytesRead;
      t.down += conn.bytesWritten;
    }
    return out;
  }

  /** [{node, direction}, bytes] for /metrics. */
  series(): [{ node: string; direction: string }, number][] {
    const rows: [{ node: string; direction: string }, number][] = [];
    for (const [node, t] of this.read()) {
      rows.push([{ node, direction: "up" }, t.up]);
      rows.push([{ node, direction: "down" }, t.down]);
    }
    return rows;
  }

  private totals(map: Map<string, Totals>, node: string): Totals {
    let t = map.get(node);
    if (!t) {
      t = { up: 0, down: 0 };
      map.set(node, t);
    }
    return t;
  }
}
