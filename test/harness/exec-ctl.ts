// `levee ctl exec` run as a process against a harness cluster, with input on its stdin: what the
// exec end-to-end tests share.
import { type Cluster, runLevee } from "./cluster.ts";

/** `levee ctl exec ARGS` with `input` on its stdin (with -i); its exit code and output. */
export function execCtl(cluster: Pick<Cluster, "cloud">, args: string[], input?: string) {
  // The server flags first: everything after `--` is the command.
  const server = ["--server", cluster.cloud.apiUrl, "--data-dir", cluster.cloud.dataDir];
  return runLevee(["ctl", "exec", ...server, ...args], { input, timeoutMs: 20_000 });
}
