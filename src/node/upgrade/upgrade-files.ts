// The files of an agent upgrade, in <data-dir>/upgrade/, which three processes share: the old
// agent, the new one and the guard (the old binary run as `levee upgrade-guard`; guard.ts).
//
//   pending.json    written by the old agent just before the swap: what was swapped, the workers
//                   (pids) the new agent must adopt, and by when. Exactly one of two renames
//                   ends it, so the new agent and the guard can never both win:
//   committed.json  the new agent passed its health gate (health-gate.ts) and renamed it so;
//   rollback.json   the guard claimed it (deadline passed, or the new agent exited) and rolls back.
//   result.json     the upgrade's outcome for the cloud (done, rolled-back, failed), reported after
//                   every welcome until another order replaces it.
//   agent.pid       the pid of the agent running while an upgrade is pending (the guard stops it).
//   agent.log       output of the guard and of an agent it started (no systemd: nobody else would
//                   keep it). Opened for appending; past AGENT_LOG_MAX_BYTES when opened it becomes
//                   agent.log.1 (replacing the one before) and a new one starts.
// Every JSON write is a write to a temporary file, fsync, rename and directory fsync
// (writeFileDurably).
import { mkdirSync, openSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ReportedState } from "../../protocol/upgrade.ts";
import { parseJsonWithin } from "../../runtime/bounded-json.ts";
import { writeFileDurably } from "../../runtime/durable-file.ts";
import { fsyncDir } from "../../runtime/fsync-dir.ts";

/** agent.log is rotated when it is larger than this when opened: 4 MiB. */
export const AGENT_LOG_MAX_BYTES = 4 * 1024 * 1024;

export interface AdoptedWorker {
  service: string;
  index: number;
  pid: number;
}

export interface PendingUpgrade {
  rollout: string;
  from: string;
  to: string;
  sha256: string;
  /** The running executable, now the new binary; the old one kept at `previous`. */
  execPath: string;
  previous: string;
  /** The agent's arguments and directory, for the guard to start it again (no systemd). */
  args: string[];
  cwd: string;
  /** systemd restarts the agent (Restart=always); else the guard starts it. */
  systemd: boolean;
  /** The old agent's pid: without systemd the guard starts the new one once it has exited. */
  oldPid: number;
  workers: AdoptedWorker[];
  /** ms since the epoch: the new agent must have passed its gate by then. */
  deadline: number;
  timeoutSeconds: number;
  /** Set by the guard when it claims the file (rollback.json). */
  reason?: string;
}

export interface UpgradeResult {
  rollout: string;
  state: ReportedState;
  from: string;
  to: string;
  reason: string;
}

export class UpgradeFiles {
  readonly dir: string;
  constructor(dataDir: string) {
    this.dir = join(dataDir, "upgrade");
  }

  path(
    name: "pending.json" | "committed.json" | "rollback.json" | "result.json" | "agent.pid" | "agent.log",
  ) {
    return join(this.dir, name);
  }

  ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  readPending(): PendingUpgrade | undefined {
    return this.readJson<PendingUpgrade>("pending.json");
  }

  readRollback(): PendingUpgrade | undefined {
    return this.readJson<PendingUpgrade>("rollback.json");
  }

  readResult(): UpgradeResult | undefined {
    return this.readJson<UpgradeResult>("result.json");
  }

  writePending(p: PendingUpgrade): void {
    this.writeJson("pending.json", p);
  }

  writeRollback(p: PendingUpgrade): void {
    this.writeJson("rollback.json", p);
  }

  writeResult(r: UpgradeResult): void {
    this.writeJson("result.json", r);
  }

  /**
   * Ends the pending upgrade by renaming it to `to`: true for the one caller that did, false when
   * it was gone already (the other side won).
   */
  claim(to: "committed.json" | "rollback.json"): boolean {
    try {
      renameSync(this.path("pending.json"), this.path(to));
      fsyncDir(this.dir);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
  }

  writeAgentPid(pid: number): void {
    this.ensureDir();
    this.writeRaw("agent.pid", `${pid}\n`);
  }

  /**
   * Opens agent.log for appending (a file descriptor for a child's output). When it is larger than
   * `maxBytes`, it becomes agent.log.1 first, so the two never take much more than twice that.
   */
  openAgentLog(maxBytes = AGENT_LOG_MAX_BYTES): number {
    this.ensureDir();
    const path = this.path("agent.log");
    let size = 0;
    try {
      size = statSync(path).size;
    } catch {
      // none yet
    }
    if (size > maxBytes) renameSync(path, `${path}.1`);
    return openSync(path, "a", 0o600);
  }

  readAgentPid(): number | undefined {
    try {
      const pid = Number(readFileSync(this.path("agent.pid"), "utf8").trim());
      return Number.isInteger(pid) && pid > 1 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private readJson<T>(name: "pending.json" | "rollback.json" | "result.json"): T | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.dir, name), "utf8");
    } catch {
      return undefined;
    }
    if (text.length > 1024 * 1024) return undefined;
    const parsed = parseJsonWithin(text, name);
    return parsed.ok && typeof parsed.value === "object" && parsed.value !== null
      ? (parsed.value as T)
      : undefined;
  }

  private writeJson(name: "pending.json" | "rollback.json" | "result.json", value: unknown): void {
    this.ensureDir();
    this.writeRaw(name, `${JSON.stringify(value, null, 2)}\n`);
  }

  private writeRaw(name: string, text: string): void {
    writeFileDurably(join(this.dir, name), text, { mode: 0o600 });
  }
}
