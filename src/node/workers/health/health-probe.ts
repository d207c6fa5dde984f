// One run of a worker's health check: an HTTP GET of a path on its port (2xx/3xx healthy), a TCP
// connect, or a command (exit 0 healthy). Workers may listen on any address; the agent reaches
// them over loopback. Every probe has a timeout and resolves to a result, never throws.
import type { Health } from "../../../manifest/health.ts";
import { describeError } from "../../../runtime/errors.ts";

export interface ProbeResult {
  ok: boolean;
  /** Why it failed (or what passed), for the worker's status message. */
  detail: string;
}

/** Runs a command health check (exec: on the host; container: inside the container). */
export type CommandRunner = (command: string[], timeoutMs: number) => Promise<ProbeResult>;

export async function runProbe(
  health: Health,
  port: number | undefined,
  timeoutMs: number,
  runCommand: CommandRunner,
): Promise<ProbeResult> {
  if (health.http !== undefined) {
    if (port === undefined) return { ok: false, detail: "http check: the worker has no port" };
    return probeHttp(`http://127.0.0.1:${port}${health.http}`, timeoutMs);
  }
  if (health.tcp !== undefined) {
    const target = health.tcp === true ? port : health.tcp;
    if (target === undefined) return { ok: false, detail: "tcp check: the worker has no port" };
    return probeTcp(target, timeoutMs);
  }
  if (health.command !== undefined) return runCommand(health.command, timeoutMs);
  return { ok: false, detail: "health check has no http, tcp or command" };
}

export async function probeHttp(url: string, timeoutMs: number): Promise<ProbeResult> {
  try {
    const res = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    const ok = res.status >= 200 && res.status < 400;
    return { ok, detail: `GET ${new URL(url).pathname} answered ${res.status}` };
  } catch (err) {
    const e = err as Error & { code?: string };
    const why = e.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (e.code ?? e.message);
    return { ok: false, detail: `GET ${url}: ${why}` };
  }
}

export function probeTcp(port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(
      () => done({ ok: false, detail: `tcp 127.0.0.1:${port}: no connection within ${timeoutMs} ms` }),
      timeoutMs,
    );
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(socket) {
          socket.end();
          done({ ok: true, detail: `tcp 127.0.0.1:${port} accepted` });
        },
        data() {},
        connectError(_socket, err) {
          done({
            ok: false,
            detail: `tcp 127.0.0.1:${port}: ${(err as Error & { code?: string }).code ?? err.message}`,
          });
        },
      },
    }).catch((err: Error & { code?: string }) =>
      done({ ok: false, detail: `tcp 127.0.0.1:${port}: ${err.code ?? err.message}` }),
    );
  });
}

/** A command check run on the host with the worker's environment and directory. */
export function hostCommandRunner(env: Record<string, string>, cwd: string): CommandRunner {
  return async (command, timeoutMs) => {
    try {
      const proc = Bun.spawn(command, { env, cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const [code, out, err] = await Promise.all([
        proc.exited,
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
      ]);
      clearTimeout(timer);
      if (proc.signalCode === "SIGKILL")
        return { ok: false, detail: `command timed out after ${timeoutMs} ms` };
      const output = (err || out).trim().slice(0, 200);
      return { ok: code === 0, detail: `command exited ${code}${output ? `: ${output}` : ""}` };
    } catch (err) {
      return { ok: false, detail: `command ${command[0]} could not run: ${describeError(err)}` };
    }
  };
}
