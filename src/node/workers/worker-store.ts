// The supervisor's durable memory (table workers, migration 3): per worker the instance that runs
// (how to find it again), its phase and restart count. Written before a start (instance id, no
// pid yet) and right after it (pid or container id), so a crash at any point leaves a row from
// which a restarted agent either adopts the instance or knows to look for an orphan.
import type { Store } from "../../store/store.ts";

export interface WorkerRecord {
  service: string;
  index: number;
  generation: number;
  specHash: string;
  /** The restarts requested (DesiredWorker.restartRequest) when the instance was started. */
  restartRequest: number;
  driver: "exec" | "container";
  instance: string | null;
  pid: number | null;
  pidStart: string | null;
  containerId: string | null;
  port: number | null;
  phase: string;
  ready: boolean;
  restarts: number;
  message: string;
  exitCode: number | null;
  signal: string | null;
  startedAt: string | null;
  since: string;
}

interface Row {
  service: string;
  idx: number;
  generation: number;
  spec_hash: string;
  restart_request: number;
  driver: string;
  instance: string | null;
  pid: number | null;
  pid_start: string | null;
  container_id: string | null;
  port: number | null;
  phase: string;
  ready: number;
  restarts: number;
  message: string;
  exit_code: number | null;
  signal: string | null;
  started_at: string | null;
  since: string;
}

export class WorkerStore {
  constructor(private readonly store: Store) {}

  all(): WorkerRecord[] {
    return this.store.db.query<Row, []>("SELECT * FROM workers ORDER BY service, idx").all().map(fromRow);
  }

  save(record: WorkerRecord): void {
    this.store.db
      .query(
        `INSERT INTO workers (service, idx, generation, spec_hash, restart_request, driver, instance, pid,
           pid_start, container_id, port, phase, ready, restarts, message, exit_code, signal, started_at, since)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (service, idx) DO UPDATE SET generation = excluded.generation,
           spec_hash = excluded.spec_hash, restart_request = excluded.restart_request,
           driver = excluded.driver, instance = excluded.instance,
           pid = excluded.pid, pid_start = excluded.pid_start, container_id = excluded.container_id,
           port = excluded.port, phase = excluded.phase, ready = excluded.ready,
           restarts = excluded.restarts, message = excluded.message, exit_code = excluded.exit_code,
           signal = excluded.signal, started_at = excluded.started_at, since = excluded.since`,
      )
      .run(
        record.service,
        record.index,
        record.generation,
        record.specHash,
        record.restartRequest,
        record.driver,
        record.instance,
        record.pid,
        record.pidStart,
        record.containerId,
        record.port,
        record.phase,
        record.ready ? 1 : 0,
        record.restarts,
        record.message,
        record.exitCode,
        record.signal,
        record.startedAt,
        record.since,
      );
  }

  remove(service: string, index: number): void {
    this.store.db.query("DELETE FROM workers WHERE service = ? AND idx = ?").run(service, index);
  }
}

function fromRow(row: Row): WorkerRecord {
  return {
    service: row.service,
    index: row.idx,
    generation: row.generation,
    specHash: row.spec_hash,
    restartRequest: row.restart_request,
    driver: row.driver === "container" ? "container" : "exec",
    instance: row.instance,
    pid: row.pid,
    pidStart: row.pid_start,
    containerId: row.container_id,
    port: row.port,
    phase: row.phase,
    ready: row.ready === 1,
    restarts: row.restarts,
    message: row.message,
    exitCode: row.exit_code,
    signal: row.signal,
    startedAt: row.started_at,
    since: row.since,
  };
}
