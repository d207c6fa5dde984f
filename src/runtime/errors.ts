// Errors that end a command with a one-line message instead of a stack trace.
// UsageError: the user gave bad input (flag, env variable, config file) → exit 2.
// RefusalError: the agent refuses to start because of state that needs a human (a locked or
// corrupt data dir) → exit 2 as well, so that systemd's RestartPreventExitStatus=2 stops a loop.

export class UsageError extends Error {
  readonly exitCode = 2;
  override name = "UsageError";
}

export class RefusalError extends Error {
  readonly exitCode = 2;
  override name = "RefusalError";
}

/** A short, single-line description of any thrown value (no stack). */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split("\n")[0] ?? err.name;
  return String(err);
}
