// Mesh ports for the services translated from Dayu objects that name no nodePort (Kubernetes would
// allocate a NodePort): from 30000-32767, once per service name, kept in the cloud's SQLite
// (dayu_ports) so that re-applying the object, changing it, or deleting and creating it again (how
// Dayu redeploys) keeps the port its callers know. A kept port is given to another service only when
// the range has no other free port (the least recently used first). Runs inside the caller's
// transaction.
import type { Database } from "bun:sqlite";
import { PermanentError } from "../../runtime/errors.ts";

export const PORT_RANGE = { min: 30000, max: 32767 } as const;

export class PortsExhausted extends PermanentError {}

export interface Allocation {
  port: number;
  /** Set when the service's kept port had been taken by another service and it moved. */
  moved?: { from: number; takenBy: string };
}

/**
 * The port of `service`: its kept one, or a new one. `used` maps the mesh ports of every other
 * service (stored or being applied) to its name; those are never handed out.
 */
export function allocatePort(db: Database, service: string, used: ReadonlyMap<number, string>): Allocation {
  const now = new Date().toISOString();
  const kept = keptPort(db, service);
  if (kept !== undefined) {
    const holder = used.get(kept);
    if (holder === undefined || holder === service) {
      db.query("UPDATE dayu_ports SET used_at = ? WHERE service = ?").run(now, service);
      return { port: kept };
    }
  }
  const reserved = new Set(
    db
      .query<{ port: number }, []>("SELECT port FROM dayu_ports")
      .all()
      .map((r) => r.port),
  );
  let port: number | undefined;
  for (let p = PORT_RANGE.min; p <= PORT_RANGE.max; p++) {
    if (!used.has(p) && !reserved.has(p)) {
      port = p;
      break;
    }
  }
  if (port === undefined) {
    // Reclaim the least recently used kept port of a service that is gone.
    const candidates = db
      .query<{ service: string; port: number }, []>(
        "SELECT service, port FROM dayu_ports ORDER BY used_at, port",
      )
      .all();
    const free = candidates.find((r) => !used.has(r.port) && r.service !== service);
    if (!free)
      throw new PortsExhausted(
        `no free mesh port in ${PORT_RANGE.min}-${PORT_RANGE.max} for service ${service}: set serviceConfig.nodePort`,
      );
    db.query("DELETE FROM dayu_ports WHERE service = ?").run(free.service);
    port = free.port;
  }
  db.query(
    `INSERT INTO dayu_ports (service, port, allocated_at, used_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (service) DO UPDATE SET port = excluded.port, allocated_at = excluded.allocated_at,
       used_at = excluded.used_at`,
  ).run(service, port, now, now);
  if (kept !== undefined) return { port, moved: { from: kept, takenBy: used.get(kept) as string } };
  return { port };
}

/** The port kept for a service, if any. */
function keptPort(db: Database, service: string): number | undefined {
  return db.query<{ port: number }, [string]>("SELECT port FROM dayu_ports WHERE service = ?").get(service)
    ?.port;
}
