// Starts levee agents as child processes and waits until they answer /readyz. Used by
// `levee demo` and by the test harness, so that both start agents the same way.
import type { Subprocess } from "bun";
import { describeError } from "../runtime/errors.ts";
import { selfCommand } from "../runtime/self.ts";

export interface LaunchSpec {
  name: string;
  /** Arguments after the binary, e.g. ["edge", "--cloud", url, ...]. */
  args: string[];
  /** URL of the agent's /readyz. */
  readyUrl: string;
  env?: Record<string, string | undefined>;
  /** Where the child's stdout/stderr go: inherited, or each line handed to onLine. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  command?: string[];
}

export interface LaunchedAgent {
  name: string;
  proc: Subprocess;
  readyUrl: string;
  exited: Promise<number>;
}

export function launchAgent(spec: LaunchSpec): LaunchedAgent {
  const piped = spec.onLine !== undefined;
  const proc = Bun.spawn([...(spec.command ?? selfCommand()), ...spec.args], {
    env: { ...process.env, ...spec.env },
    stdin: "ignore",
    stdout: piped ? "pipe" : "inherit",
    stderr: piped ? "pipe" : "inherit",
  });
  if (spec.onLine) {
    void pumpLines(proc.stdout as ReadableStream<Uint8Array>, (l) => spec.onLine?.(l, "stdout"));
    void pumpLines(proc.stderr as ReadableStream<Uint8Array>, (l) => spec.onLine?.(l, "stderr"));
  }
  return { name: spec.name, proc, readyUrl: spec.readyUrl, exited: proc.exited };
}

async function pumpLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf("\n");
    }
  }
  if (buffered) onLine(buffered);
}

/** Polls /readyz until it answers 200, the process exits, or the timeout passes. */
export async function waitReady(agent: LaunchedAgent, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let exitCode: number | undefined;
  void agent.exited.then((code) => {
    exitCode = code;
  });
  let last = "no answer";
  while (performance.now() < deadline) {
    if (exitCode !== undefined)
      throw new Error(`${agent.name} exited with code ${exitCode} before it was ready`);
    try {
      const res = await fetch(agent.readyUrl, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
      last = `HTTP ${res.status} ${await res.text()}`;
    } catch (err) {
      last = describeError(err);
    }
    await Bun.sleep(50);
  }
  throw new Error(`${agent.name} not ready after ${timeoutMs} ms (${agent.readyUrl}: ${last})`);
}

/** SIGTERM, then SIGKILL after graceMs. Resolves with the exit code. */
export async function stopAgent(agent: LaunchedAgent, graceMs = 6000): Promise<number> {
  if (agent.proc.exitCode !== null || agent.proc.signalCode !== null) return agent.exited;
  agent.proc.kill("SIGTERM");
  const timer = setTimeout(() => agent.proc.kill("SIGKILL"), graceMs);
  const code = await agent.exited;
  clearTimeout(timer);
  return code;
}

/** Asks a running cloud for a join token (admin token from its data dir), for demo and tests. */
export async function requestJoinToken(apiUrl: string, adminToken: string, uses: number): Promise<string> {
  const res = await fetch(new URL("/api/v1/tokens", apiUrl), {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ uses: Math.max(1, uses), ttl: "1h", description: "levee demo / test harness" }),
  });
  const body = (await res.json()) as { token?: string; error?: string };
  if (!res.ok || !body.token)
    throw new Error(`cannot create a join token at ${apiUrl}: ${body.error ?? res.status}`);
  return body.token;
}
