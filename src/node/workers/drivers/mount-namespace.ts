// A private mount namespace for an exec worker, so that it finds a directory of the agent at a
// fixed path (its service account files at /var/run/secrets/kubernetes.io/serviceaccount, where
// the Kubernetes client looks) without it appearing on the host. Needs root and util-linux.
//
// How, without a shell between the agent and the worker (a shell would drop or add environment
// variables): a holder process makes the namespace and the mount,
//     unshare --mount --propagation private -- sh -c 'mount --bind -o ro DIR TARGET; read'
// then the worker is started as  nsenter --target=HOLDER --mount --wd=CWD [--setuid --setgid] --
// PROGRAM ARGS: nsenter joins the namespace, drops to the worker's user and execs the program in
// place, so the pid the driver supervises (process group leader, start time, LEVEE_WORKER_ID in
// its environment) is the worker's own from the first instant, exactly as without it. Once the
// worker is in the namespace the holder is released (its stdin closed) and exits; the namespace
// lives as long as the worker. A holder whose agent died sees its stdin close and exits too.
import { mkdirSync, readlinkSync } from "node:fs";
import { SERVICE_ACCOUNT_PATH } from "../../kube-access/service-account-files.ts";

const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const HOLDER_SCRIPT = 'mount --bind -o ro "$1" "$2" && echo ready && read -r _';
/** How long the worker may take to enter the namespace before the holder is released anyway. */
const ENTER_TIMEOUT_MS = 5000;

interface Tools {
  unshare: string;
  nsenter: string;
  sh: string;
}

let probed: { tools: Tools } | { problem: string } | undefined;

/** Why exec workers cannot get a mount namespace on this host (undefined: they can). Probed once. */
export function mountNamespaceProblem(): string | undefined {
  const state = probeOnce();
  return "problem" in state ? state.problem : undefined;
}

function probeOnce(): { tools: Tools } | { problem: string } {
  probed ??= probe();
  return probed;
}

function probe(): { tools: Tools } | { problem: string } {
  if (process.getuid?.() !== 0) return { problem: "the agent does not run as root" };
  const find = (name: string) => Bun.which(name, { PATH: SYSTEM_PATH }) ?? undefined;
  const tools = { unshare: find("unshare"), nsenter: find("nsenter"), sh: find("sh") };
  const missing = Object.entries(tools).filter(([, path]) => path === undefined);
  if (missing.length > 0 || !find("mount"))
    return { problem: "util-linux (unshare, nsenter, mount) is not installed" };
  const trial = Bun.spawnSync(
    [tools.unshare as string, "--mount", "--propagation", "private", "--", tools.sh as string, "-c", ":"],
    { env: { PATH: SYSTEM_PATH }, stdout: "ignore", stderr: "pipe" },
  );
  if (!trial.success)
    return {
      problem: `unshare --mount fails here (${trial.stderr.toString().trim() || `exit ${trial.exitCode}`})`,
    };
  return { tools: tools as Tools };
}

/** A namespace with `source` bound read-only at SERVICE_ACCOUNT_PATH, held until a worker enters it. */
export interface HeldNamespace {
  /** The command line that runs argv inside the namespace, in cwd, as uid/gid when given. */
  enter(argv: string[], cwd: string, ids: { uid?: number | undefined; gid?: number | undefined }): string[];
  /** Waits until `pid` is in the namespace (or gone), then lets the holder exit. */
  release(pid: number | undefined): Promise<void>;
}

/** Makes the namespace; throws when it cannot (the worker start is then retried). */
export async function holdServiceAccountNamespace(source: string): Promise<HeldNamespace> {
  const state = probeOnce();
  if ("problem" in state) throw new Error(`no mount namespace for the worker: ${state.problem}`);
  const { tools } = state;
  mkdirSync(SERVICE_ACCOUNT_PATH, { recursive: true, mode: 0o755 });
  const holder = Bun.spawn(
    [
      tools.unshare,
      "--mount",
      "--propagation",
      "private",
      "--",
      tools.sh,
      "-c",
      HOLDER_SCRIPT,
      "levee-mount-holder",
      source,
      SERVICE_ACCOUNT_PATH,
    ],
    { env: { PATH: SYSTEM_PATH }, stdin: "pipe", stdout: "pipe", stderr: "pipe" },
  );
  const answer = await holder.stdout.getReader().read();
  const ready = new TextDecoder().decode(answer.value ?? new Uint8Array()).startsWith("ready");
  let namespace: string | undefined;
  try {
    namespace = ready ? readlinkSync(`/proc/${holder.pid}/ns/mnt`) : undefined;
  } catch {
    namespace = undefined;
  }
  if (!namespace) {
    holder.kill("SIGKILL");
    await holder.exited;
    const detail = (await new Response(holder.stderr).text()).trim();
    throw new Error(
      `cannot bind ${source} at ${SERVICE_ACCOUNT_PATH}: ${detail || "the mount helper ended"}`,
    );
  }
  let released = false;
  return {
    enter: (argv, cwd, ids) => [
      tools.nsenter,
      `--target=${holder.pid}`,
      "--mount",
      `--wd=${cwd}`,
      ...(ids.gid !== undefined ? [`--setgid=${ids.gid}`] : []),
      ...(ids.uid !== undefined ? [`--setuid=${ids.uid}`] : []),
      "--",
      ...argv,
    ],
    async release(pid) {
      if (released) return;
      released = true;
      const deadline = Date.now() + ENTER_TIMEOUT_MS;
      while (pid !== undefined && Date.now() < deadline) {
        const current = namespaceOf(pid);
        if (current === undefined || current === namespace) break;
        await Bun.sleep(2);
      }
      try {
        await holder.stdin.end();
      } catch {
        holder.kill("SIGKILL"); // its stdin is gone already: it ends anyway
      }
      await holder.exited;
    },
  };
}

function namespaceOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}
