// The end of a command that follows something until Ctrl-C (events -f, get -w): SIGINT or SIGTERM
// stops it and the command exits 0; the work failing ends it with that failure.

/** Resolves to 0 when interrupted (after `stop`), or rejects when `work` fails first. */
export async function untilInterrupted(work: Promise<unknown>, stop: () => void): Promise<number> {
  let onSignal: (() => void) | undefined;
  const interrupted = new Promise<void>((resolve) => {
    onSignal = () => resolve();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
  try {
    await Promise.race([interrupted, work]);
    return 0;
  } finally {
    if (onSignal) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    stop();
  }
}
