// Output that survives process.exit: a pipe takes 64 KiB at once, and exiting while the rest waits
// in the process cuts it off (`levee ctl schema jmes | jq` read half a schema). The tracker notes
// when a write had to be buffered, so that the exit can wait for the stream to drain first.

export interface DrainTracker {
  /** Resolves once everything written so far is out (at once when nothing waits). */
  drained(): Promise<void>;
}

export function drainTracker(stream: NodeJS.WriteStream): DrainTracker {
  let waiting = false;
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((...args: unknown[]) => {
    const ok = write(...args);
    if (!ok) waiting = true;
    return ok;
  }) as typeof stream.write;
  stream.on("drain", () => {
    waiting = false;
  });
  return {
    drained: () =>
      waiting
        ? new Promise((resolve) => {
            stream.once("drain", () => resolve());
            stream.once("error", () => resolve());
          })
        : Promise.resolve(),
  };
}
