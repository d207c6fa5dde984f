// The I/O of a node's agent upgrade (node-upgrader.ts decides): the download through the artifact
// fetcher (resumable, sha256-verified: node/artifacts/download.ts), running the new binary once
// (`NEW version`, bounded in time), the swap (the running binary copied to <exec>.previous, the new
// one renamed over the executable's path: atomic, the running process keeps its inode), and the
// restart: the guard (guard.ts) started from the kept binary in its own session, then this agent's
// graceful shutdown with its workers left running (they are adopted by the next agent). Under
// systemd the unit restarts the agent (Restart=always); without it, the guard starts it.
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, renameSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { replaceFileDurably } from "../../runtime/durable-file.ts";
import { fsyncDir, fsyncPath } from "../../runtime/fsync-dir.ts";
import { buildTarget, versionInfo } from "../../runtime/version.ts";
import { nodeArtifactSource } from "../artifacts/artifact-source.ts";
import { download } from "../artifacts/download.ts";
import type { LocalNode } from "../local-node.ts";
import { storedPlanKey } from "../plan-key.ts";
import type { Supervisor } from "../workers/supervisor.ts";
import { probeBinary } from "./binary-probe.ts";
import type { UpgradeEffects } from "./node-upgrader.ts";
import type { UpgradeFiles, UpgradeResult } from "./upgrade-files.ts";

/** How long `NEW version` may take before the binary counts as not runnable here. */
const PROBE_TIMEOUT_MS = 15_000;

export function upgradeEffects(
  node: Pick<LocalNode, "config" | "store" | "log" | "lifecycle" | "notify">,
  supervisor: Pick<Supervisor, "snapshot">,
  files: UpgradeFiles,
  report: (result: UpgradeResult) => void,
): UpgradeEffects {
  const { config, store, log, lifecycle } = node;
  const execPath = process.execPath;
  const previous = `${execPath}.previous`;
  return {
    running: { version: versionInfo().version, target: buildTarget() },
    planKey: () => storedPlanKey(store),
    workersStopOnExit: () =>
      config.stopWorkersOnExit
        ? "stop-workers-on-exit is on: the workers would stop with the agent; turn it off to upgrade in place"
        : undefined,
    async download(binary, version) {
      files.ensureDir();
      const partial = join(files.dir, `${binary.sha256}.partial`);
      await download({
        sha256: binary.sha256,
        expectedSize: binary.size,
        partial,
        source: nodeArtifactSource(store, config.dataDir),
        signal: AbortSignal.timeout(60 * 60_000),
        backoff: { baseMs: 1000, capMs: 30_000 },
        maxCorrupt: 2,
        idleTimeoutMs: 30_000,
        onProgress: (p) => {
          if (p.error) log.warn("upgrade download retrying", { error: p.error, received: p.received });
        },
      });
      const path = join(files.dir, `levee-${version}`);
      renameSync(partial, path);
      chmodSync(path, 0o755);
      return path;
    },
    probe: (path) => probeBinary(path, PROBE_TIMEOUT_MS),
    workers: () =>
      supervisor
        .snapshot()
        .filter((w) => w.pid !== null)
        .map((w) => ({ service: w.service, index: w.index, pid: w.pid as number })),
    swap(path, pending) {
      // Both copies reach the disk before a rename makes them the ones to run: a power loss
      // leaves the old binary or the whole new one, never a partial file under either name.
      replaceFileDurably(previous, (temp) => copyFileSync(execPath, temp), {
        mode: 0o755,
        temp: `${previous}.tmp`,
      });
      copyFileSync(path, `${execPath}.new`);
      chmodSync(`${execPath}.new`, 0o755);
      fsyncPath(`${execPath}.new`);
      files.writePending({
        ...pending,
        execPath,
        previous,
        args: process.argv.slice(2),
        cwd: process.cwd(),
        // systemd started it: the units are Type=notify, so it was handed NOTIFY_SOCKET.
        systemd: node.notify.enabled,
        oldPid: process.pid,
      });
      renameSync(`${execPath}.new`, execPath);
      fsyncDir(dirname(execPath));
      unlinkSync(path);
      log.info("agent binary swapped; restarting", { to: pending.to, kept: previous });
    },
    restart() {
      const out = files.openAgentLog();
      const guard = spawn(previous, ["upgrade-guard", files.dir], {
        detached: true,
        stdio: ["ignore", out, out],
        cwd: process.cwd(),
      });
      guard.unref();
      log.info("upgrade guard started", { pid: guard.pid });
      setTimeout(() => void lifecycle.shutdown(), 100);
    },
    pending: () => files.readPending(),
    readResult: () => files.readResult(),
    writeResult: (r) => files.writeResult(r),
    report,
    now: Date.now,
  };
}
