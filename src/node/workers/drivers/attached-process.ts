// A command run in a worker's context with its streams attached (`levee ctl exec`): what a driver's
// attach() gives the node's exec server, whichever way the command runs (a process on the host
// in the worker's environment, or `docker exec` in its container).

/** How the command ended: its exit code, or the signal that ended it (code null). */
export interface AttachedExit {
  code: number | null;
  signal: string | null;
}

export interface AttachedProcess {
  /** The command's stdout (with a TTY: the terminal's output, stderr included). */
  stdout: AsyncIterable<Uint8Array>;
  /** Its stderr (absent with a TTY). */
  stderr?: AsyncIterable<Uint8Array> | undefined;
  /** Writes to its stdin; resolves when the bytes were taken. */
  write(data: Uint8Array): Promise<void>;
  /** Closes its stdin. */
  endInput(): void;
  /** The terminal's new size (a TTY only; may be ignored). */
  resize(rows: number, cols: number): void;
  /** Resolves when the command ended and its output was read. */
  exited: Promise<AttachedExit>;
  /** Ends the command (the session went away). */
  kill(): void;
}

/** The exit code a shell would report: the code, or 128 + the signal's number. */
export function exitStatus(exit: AttachedExit, signals: Record<string, number>): number {
  if (exit.code !== null) return exit.code;
  const number = exit.signal ? signals[exit.signal] : undefined;
  return number === undefined ? 255 : 128 + number;
}
