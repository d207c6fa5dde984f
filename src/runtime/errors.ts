// levee's one error vocabulary.
//
// Whether trying again can help is one marker, `recoverable`, on LeveeError: RecoverableError (a
// cloud that cannot be reached, a 5xx, a busy lock, a cut transfer: retry with backoff) and
// PermanentError (bad input, a refusal, a missing object: retrying gives the same answer). A
// thrown value that is not a LeveeError is a bug or an I/O failure the caller did not classify:
// isRecoverable says false, so nothing loops on it unawares.
//
// Errors that end a command carry their exit code: ExitError (UsageError and RefusalError exit 2,
// so that systemd's RestartPreventExitStatus=2 stops a restart loop; a command's own failures exit 1).
// The CLI prints them as one message, without a stack trace.
//
// describeError is the one way to turn any thrown value into text for a log line or a message.

/** An error that says whether trying again can help. */
export abstract class LeveeError extends Error {
  abstract readonly recoverable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Trying again later may work. */
export class RecoverableError extends LeveeError {
  readonly recoverable = true;
}

/** Trying again will give the same answer. */
export class PermanentError extends LeveeError {
  readonly recoverable = false;
}

/** Whether trying again can help: the error's own marker; false for anything unclassified. */
export function isRecoverable(err: unknown): boolean {
  return err instanceof LeveeError && err.recoverable;
}

/** An error that ends a command with this exit code and its message (no stack trace). */
export abstract class ExitError extends PermanentError {
  abstract readonly exitCode: number;
}

/** The user gave bad input (flag, environment variable, config file): exit 2. */
export class UsageError extends ExitError {
  readonly exitCode = 2;
}

/**
 * The agent refuses to go on because of state that needs a human (a locked or corrupt data dir, a
 * join token the cloud refused): exit 2.
 */
export class RefusalError extends ExitError {
  readonly exitCode = 2;
}

/** Any thrown value as text: an Error's message (its name when empty), anything else as a string. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
