// `levee ctl logs SERVICE --node N [--worker I] [-f] [--tail N] [--since D|T] [--timestamps] [-p]`:
// a worker's output, streamed from its node through the cloud (GET /api/v1/logs/SERVICE) to
// stdout as it arrives, honouring stdout's backpressure. With -f it follows until Ctrl-C (exit 0);
// an error from the cloud or the node (no such worker, node disconnected, no answer) is one line
// on stderr and exit 1, and so is a stream that breaks off. Without --node (or with --all): every
// worker of the service (GET /api/v1/workers?service=), one stream each, merged line by line with
// a `[node/index] ` prefix (log-merge.ts); a worker whose stream fails is reported on stderr and
// the others go on (exit 1 at the end).

import { flagName, isBoolean, type OptionKey, type Options } from "../../config/schema.ts";
import { qualifiedName } from "../../manifest/namespace.ts";
import { parseSince } from "../../protocol/log-since.ts";
import { describeError, UsageError } from "../../runtime/errors.ts";
import { type ApiClient, CtlFailure, oneLine } from "./client.ts";
import { type CtlContext, takeArgs } from "./context.ts";
import { type LogSource, mergeLogStreams, workerPrefix } from "./log-merge.ts";

/** How long to wait for the cloud to start answering (it gives up on a silent node after 10 s). */
const ANSWER_TIMEOUT_MS = 30_000;
/** Flags that take a value, so that the subcommand is not mistaken for one (ctlKeysFor). */
const SHORT_WITH_VALUE = new Set(["-o", "-f", "-n", "-l"]);

type LogOptions = Partial<
  Pick<Options, "node" | "worker" | "follow" | "tail" | "since" | "timestamps" | "previous" | "all">
>;

/**
 * The ctl options for an argument list: `-f` is --follow for `logs` and `events` (as in kubectl)
 * and --filename for every other subcommand, so each gets only its own.
 */
export function ctlKeysFor<K extends OptionKey>(argv: readonly string[], keys: readonly K[]): K[] {
  const sub = subcommandOf(argv, (flag) => {
    const key = keys.find((k) => `--${flagName(k)}` === flag);
    return key !== undefined && !isBoolean(key);
  });
  const drop = sub === "logs" || sub === "events" ? "filename" : "follow";
  return keys.filter((k) => k !== drop);
}

/** The first positional argument, skipping flags and the values of flags that take one. */
export function subcommandOf(
  argv: readonly string[],
  takesValue: (flag: string) => boolean,
): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") return argv[i + 1];
    if (arg.startsWith("--")) {
      if (!arg.includes("=") && takesValue(arg)) i++;
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      if (SHORT_WITH_VALUE.has(arg)) i++;
      continue;
    }
    return arg;
  }
  return undefined;
}

/** The API path of a log request. */
export function logsPath(service: string, options: LogOptions): string {
  const query = new URLSearchParams({ node: options.node ?? "", worker: String(options.worker ?? 0) });
  if (options.tail !== undefined) query.set("tail", String(options.tail));
  if (options.follow) query.set("follow", "1");
  if (options.since !== undefined) query.set("since", options.since);
  if (options.timestamps) query.set("timestamps", "1");
  if (options.previous) query.set("previous", "1");
  return `/logs/${encodeURIComponent(service)}?${query}`;
}

/** The workers of a service that have a node, from GET /api/v1/workers?service=. */
async function serviceWorkers(
  client: ApiClient,
  name: string,
  namespace: string | undefined,
): Promise<{ node: string; index: number }[]> {
  const query = new URLSearchParams({ service: name });
  if (namespace) query.set("namespace", namespace);
  const answer = await client.request<{ items: { node?: string | null; index: number }[] }>(
    "GET",
    `/workers?${query}`,
  );
  return answer.items
    .filter((w): w is { node: string; index: number } => typeof w.node === "string" && w.node !== "")
    .sort((a, b) => a.node.localeCompare(b.node) || a.index - b.index);
}

export async function logs(ctx: CtlContext): Promise<number> {
  const [service] = takeArgs(ctx.args, 1);
  if (!service)
    throw new UsageError("missing SERVICE: levee ctl logs SERVICE [--node NODE [--worker I] | --all] [-f]");
  // The ctl options carry these for `logs` (ctlKeysFor); CtlOptions lists only the common ones.
  const options = ctx.options as typeof ctx.options & LogOptions;
  if (options.since !== undefined) {
    const since = parseSince(options.since);
    if (!since.ok) throw new UsageError(`--since: ${since.error}`);
  }
  if (options.all && options.node)
    throw new UsageError("--all reads every worker of the service: leave out --node (or --all)");
  const qualified = qualifiedName(ctx.options.namespace, service);
  const client = ctx.client();
  if (!options.node) {
    const workers = await serviceWorkers(client, service, ctx.options.namespace);
    return allWorkers(client, qualified, workers, options);
  }
  return withInterrupt(async (abort, interrupted) => {
    try {
      for await (const chunk of workerStream(client, qualified, options, abort.signal)) {
        if (!(await writeOut(chunk))) {
          abort.abort(); // stdout is gone (e.g. | head): stop quietly
          return 0;
        }
      }
      return 0;
    } catch (err) {
      if (interrupted()) return 0;
      throw err instanceof CtlFailure ? err : new CtlFailure(oneLine(describeError(err)));
    }
  });
}

/** Runs `run` with an abort that SIGINT and SIGTERM fire (`interrupted()` says whether they did). */
async function withInterrupt<T>(
  run: (abort: AbortController, interrupted: () => boolean) => Promise<T>,
): Promise<T> {
  const abort = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    abort.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await run(abort, () => interrupted);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Every worker of the service at once, each line prefixed [node/index]. */
async function allWorkers(
  client: ApiClient,
  qualified: string,
  workers: readonly { node: string; index: number }[],
  options: LogOptions,
): Promise<number> {
  if (workers.length === 0)
    throw new CtlFailure(
      `service ${qualified} has no workers on any node (levee ctl get workers ${qualified})`,
    );
  return withInterrupt(async (abort, interrupted) => {
    const sources: LogSource[] = workers.map(({ node, index }) => ({
      prefix: workerPrefix(node, index),
      body: workerStream(client, qualified, { ...options, node, worker: index }, abort.signal),
    }));
    const merged = await mergeLogStreams(sources, async (bytes) => {
      const ok = await writeOut(bytes);
      if (!ok) abort.abort(); // stdout is gone: stop every stream
      return ok;
    });
    if (interrupted() || !merged.written) return 0;
    for (const failure of merged.failures) process.stderr.write(`levee ctl logs: ${oneLine(failure)}\n`);
    return merged.failures.length > 0 ? 1 : 0;
  });
}

/** One worker's log as chunks; an error from the cloud or a broken stream is thrown. */
async function* workerStream(client: ApiClient, qualified: string, options: LogOptions, signal: AbortSignal) {
  const answered = new AbortController();
  const timer = setTimeout(() => answered.abort(), ANSWER_TIMEOUT_MS);
  const both = AbortSignal.any([signal, answered.signal]);
  let res: Response;
  try {
    res = await client.stream(logsPath(qualified, options), both);
  } catch (err) {
    if (signal.aborted) return;
    if (answered.signal.aborted)
      throw new CtlFailure(
        `no answer from the cloud at ${client.server} within ${ANSWER_TIMEOUT_MS / 1000} s`,
      );
    throw err;
  } finally {
    clearTimeout(timer);
  }
  if (!res.body) return;
  const reader = res.body.getReader();
  try {
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (err) {
        if (signal.aborted) return;
        throw new CtlFailure(`the log stream broke off: ${oneLine(describeError(err))}`);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Writes to stdout, waiting for it to drain; false when stdout is closed. */
function writeOut(chunk: Uint8Array): Promise<boolean> {
  const stdout = process.stdout;
  return new Promise((resolve) => {
    const settle = (ok: boolean) => {
      stdout.off("error", failed);
      stdout.off("drain", drained);
      resolve(ok);
    };
    const failed = () => settle(false);
    const drained = () => settle(true);
    stdout.once("error", failed);
    if (stdout.write(chunk, (err) => err && settle(false))) settle(true);
    else stdout.once("drain", drained);
  });
}
