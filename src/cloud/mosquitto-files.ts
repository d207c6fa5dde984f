// --mosquitto-config-dir: the cloud keeps an external Mosquitto's password and ACL files current
// itself, instead of an admin running `levee ctl broker-config mosquitto` after every join. The
// files are the same (src/cloud/mosquitto-config.ts); they are written at start and again whenever
// the set of node credentials changed, through a temporary file and a rename (Mosquitto never
// reads half a file), keeping an existing file's owner, group and mode (so a file chowned to the
// mosquitto user stays readable by it). Then --mosquitto-reload-command runs, e.g.
// `systemctl reload mosquitto`, which makes Mosquitto re-read them (SIGHUP).
//
// The cloud calls refresh() after every join and node deletion; a failed write is retried every
// few seconds until it succeeds.
import {
  chmodSync,
  chownSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { hashPassword } from "../protocol/mosquitto-password.ts";
import { CLOUD_USER } from "../protocol/topics.ts";
import { RefusalError } from "../runtime/errors.ts";
import { describeFsError } from "../runtime/fs-errors.ts";
import type { Logger } from "../runtime/log.ts";
import type { Store } from "../store/store.ts";
import { nodePasswordHashes } from "./link/sync-store.ts";
import { type MosquittoUser, mosquittoAclFile, mosquittoPasswordFile } from "./mosquitto-config.ts";

/** The names `levee ctl broker-config mosquitto` uses too. */
export const PASSWORD_FILE = "levee.passwd";
export const ACL_FILE = "levee.acl";

export interface MosquittoFilesOptions {
  store: Store;
  log: Logger;
  dir: string;
  cloudPassword: string;
  reloadCommand?: string | undefined;
  /** How soon a failed write is tried again; default 5 s. */
  retryMs?: number;
}

export interface MosquittoFiles {
  /** Rewrites the files if the credentials changed (after a join or a deletion); reloads Mosquitto if so. */
  refresh(): void;
  close(): void;
}

/** levee-cloud and every node, with the hashes the files carry (the cloud's is made once). */
export function mosquittoUsers(store: Store, cloudPassword: string): MosquittoUser[] {
  let cloudHash = store.getMeta("cloud-mqtt-password-hash");
  if (!cloudHash) {
    cloudHash = hashPassword(cloudPassword);
    store.setMeta("cloud-mqtt-password-hash", cloudHash);
  }
  return [{ username: CLOUD_USER, hash: cloudHash }, ...nodePasswordHashes(store)];
}

/**
 * Writes `text` to `path` unless it already holds exactly that: through a temporary file and a
 * rename, with the existing file's mode, owner and group (else `mode`). True when it wrote.
 */
export function writeFileIfChanged(path: string, text: string, mode: number): boolean {
  let existing: { mode: number; uid: number; gid: number } | undefined;
  try {
    if (readFileSync(path, "utf8") === text) return false;
    const st = statSync(path);
    existing = { mode: st.mode & 0o777, uid: st.uid, gid: st.gid };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const temp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(temp, text, { mode: existing?.mode ?? mode });
    chmodSync(temp, existing?.mode ?? mode);
    if (existing && (existing.uid !== process.getuid?.() || existing.gid !== process.getgid?.()))
      chownSync(temp, existing.uid, existing.gid);
    renameSync(temp, path);
    return true;
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

export function startMosquittoFiles(options: MosquittoFilesOptions): MosquittoFiles {
  const { store, log, dir } = options;
  const passwdPath = join(dir, PASSWORD_FILE);
  const aclPath = join(dir, ACL_FILE);
  let failing = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let reloading: ReturnType<typeof Bun.spawn> | undefined;
  let reloadAgain = false;
  let closed = false;

  const reload = () => {
    const command = options.reloadCommand;
    if (!command || closed) return;
    if (reloading) {
      reloadAgain = true;
      return;
    }
    const child = Bun.spawn(["/bin/sh", "-c", command], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    });
    reloading = child;
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    void Promise.all([child.exited, new Response(child.stderr as ReadableStream).text()]).then(
      ([code, err]) => {
        clearTimeout(timer);
        reloading = undefined;
        if (code === 0) log.info("mosquitto reload command done", { command });
        else
          log.warn("mosquitto reload command failed", {
            command,
            exitCode: code,
            stderr: err.trim().slice(-500),
          });
        if (reloadAgain) {
          reloadAgain = false;
          reload();
        }
      },
    );
  };

  /** Writes both files if needed; true when one changed. Throws on I/O errors. */
  const write = (): boolean => {
    mkdirSync(dir, { recursive: true });
    const users = mosquittoUsers(store, options.cloudPassword);
    const wroteAcl = writeFileIfChanged(aclPath, mosquittoAclFile(), 0o644);
    const wrotePasswd = writeFileIfChanged(passwdPath, mosquittoPasswordFile(users), 0o600);
    if (wroteAcl || wrotePasswd)
      log.info("mosquitto files written", {
        dir,
        users: users.length,
        reload: options.reloadCommand ?? "none",
      });
    return wroteAcl || wrotePasswd;
  };

  const refresh = () => {
    if (closed) return;
    clearTimeout(retry);
    try {
      if (write()) reload();
      failing = false;
    } catch (err) {
      // Logged once per streak of failures; tried again until it works.
      if (!failing) log.error("cannot write the mosquitto files", { dir, error: describeFsError(err) });
      failing = true;
      retry = setTimeout(refresh, options.retryMs ?? 5000);
      retry.unref?.();
    }
  };

  try {
    if (write()) reload();
  } catch (err) {
    throw new RefusalError(
      `cannot write the Mosquitto files in --mosquitto-config-dir ${dir}: ${describeFsError(err)}`,
    );
  }
  return {
    refresh,
    close() {
      closed = true;
      clearTimeout(retry);
      reloading?.kill();
    },
  };
}
