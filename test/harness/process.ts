// How tests run levee itself: the source with bun (or the compiled binary in LEVEE_TEST_BIN), with
// the developer's own LEVEE_* variables removed so that they cannot change a test's outcome.
// Shared by the cluster harness and the Mosquitto harness (cluster.ts re-exports all of it), with
// the waits they use (a condition, a listening port).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REPO_ROOT = join(import.meta.dir, "..", "..");
export const BUN = process.execPath;

/** Unsets the developer's own LEVEE_* variables so that they cannot change a test's outcome. */
export function cleanEnv(): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const key of Object.keys(process.env))
    if (key.startsWith("LEVEE_") && key !== "LEVEE_TEST_BIN") out[key] = undefined;
  // Tests run as root on the host's network: agents there must not program the host's nftables
  // (a killed one would leave its table behind). The fast path's own tests turn it on by flag.
  out.LEVEE_MESH_FAST_PATH = "off";
  // A test run under systemd (a CI runner's unit) must not hand its notify socket or journal
  // stream to the agents it starts: the tests that want them set their own.
  for (const key of ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"])
    out[key] = undefined;
  // Nor may the developer's `levee ctl` contexts (<config dir>/levee/ctl.yaml): an empty config dir.
  out.XDG_CONFIG_HOME = emptyConfigDir();
  return out;
}

let configDir: string | undefined;
function emptyConfigDir(): string {
  configDir ??= mkdtempSync(join(tmpdir(), "levee-test-config-"));
  return configDir;
}

/** How to run levee in tests: the compiled binary in LEVEE_TEST_BIN, else bun + the source. */
export function leveeCommand(): string[] {
  const bin = process.env.LEVEE_TEST_BIN;
  return bin ? [bin] : [BUN, join(REPO_ROOT, "src/cli/main.ts")];
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** SIGKILL after this long (default 15 s). */
  timeoutMs?: number;
  cwd?: string;
  /** Written to its stdin, which is then closed (default: no stdin). */
  input?: string | undefined;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `levee ARGS` to completion and returns its exit code and output. */
export function runLevee(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return runCommand([...leveeCommand(), ...args], {
    ...options,
    env: { ...process.env, ...cleanEnv(), ...options.env },
  });
}

/** Runs `argv` to completion and returns its exit code and output. */
export async function runCommand(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  const input = options.input;
  const proc = Bun.spawn(argv, {
    env: options.env ?? process.env,
    stdin: input === undefined ? "ignore" : "pipe",
    stdout: "pipe",
    stderr: "pipe",
    cwd: options.cwd ?? REPO_ROOT,
  });
  if (input !== undefined && proc.stdin) {
    proc.stdin.write(input);
    await proc.stdin.end();
  }
  const timer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs ?? 15_000);
  const [code, stdout, stderr] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Polls `check` until it is true; throws `what` after timeoutMs. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await Promise.resolve(check()).catch(() => false)) return;
    await Bun.sleep(25);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Whether something accepts TCP connections on host:port. */
export async function canConnect(host: string, port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: host, port, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}
