// The files a worker with kubeApi reads, as a pod reads its service account volume: `token` (no
// trailing newline: the Python client sends the file's bytes as they are), `ca.crt` (the agent's
// Kubernetes API CA) and `namespace`, in <worker dir>/serviceaccount. Containers see that directory
// at /var/run/secrets/kubernetes.io/serviceaccount (a read-only bind mount), exec workers too when
// the agent can give them a mount namespace (drivers/mount-namespace.ts).
//
// Private by default: the directory 0700 and the token 0600, owned by the worker's user when the
// template names one the agent can resolve. A container whose user is not known on the host (none,
// or a name from the image's own /etc/passwd) gets the modes Kubernetes gives a service account
// volume (0755, files 0644), or it could not read its token; the data dir (0700) still keeps the
// files from the host's other users. Every file is replaced atomically at each start.
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { replaceFileDurably } from "../../runtime/durable-file.ts";

/** Where a pod finds its service account files. */
export const SERVICE_ACCOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";

export const SERVICE_ACCOUNT_DIR = "serviceaccount";

export function serviceAccountDir(workerDir: string): string {
  return join(workerDir, SERVICE_ACCOUNT_DIR);
}

export interface ServiceAccountFiles {
  token: string;
  caPem: string;
  namespace: string;
}

export interface FileAccess {
  /** Who owns the directory and the files (the worker's user); undefined: the agent's. */
  owner?: { uid?: number | undefined; gid?: number | undefined } | undefined;
  /** The worker's user is not known: readable by any user that can reach the directory. */
  shared: boolean;
}

/** Writes the three files into `dir` (created), with the modes and owner of `access`. */
export function writeServiceAccountFiles(dir: string, files: ServiceAccountFiles, access: FileAccess): void {
  const dirMode = access.shared ? 0o755 : 0o700;
  mkdirSync(dir, { recursive: true, mode: dirMode });
  chmodSync(dir, dirMode);
  own(dir, access);
  write(dir, "token", files.token, access.shared ? 0o644 : 0o600, access);
  write(dir, "ca.crt", files.caPem, 0o644, access);
  write(dir, "namespace", files.namespace, 0o644, access);
}

function write(dir: string, name: string, content: string, mode: number, access: FileAccess): void {
  replaceFileDurably(
    join(dir, name),
    (temp) => {
      writeFileSync(temp, content, { mode });
      own(temp, access);
    },
    { mode },
  );
}

function own(path: string, access: FileAccess): void {
  const owner = access.owner;
  if (owner === undefined || (owner.uid === undefined && owner.gid === undefined)) return;
  chownSync(path, owner.uid ?? -1, owner.gid ?? -1);
}
