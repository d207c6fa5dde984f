// Tells systemd how the agent is doing, when it runs as a Type=notify service (NOTIFY_SOCKET
// set): READY=1 once every readiness check passes (what makes /readyz answer 200) after the agent
// has made all its parts (it says so by calling describe(): checks are added while the agent is
// composed, so an early "all pass" would be premature), a STATUS= line
// kept current ("Ready: 4 workers, plan 12"; "Starting: join: joining the cloud" with the failing
// checks), WATCHDOG=1 at half of WATCHDOG_USEC from a timer (so it stops when the event loop
// stalls: that is what the watchdog is for), and STOPPING=1 when shutdown begins. Without
// NOTIFY_SOCKET it does nothing; a socket that is missing or refuses is logged, never fatal.
import type { Readiness } from "./health.ts";
import type { Logger } from "./log.ts";
import { notifyMessage, parseNotifySocket, watchdogIntervalMs } from "./sd-notify-protocol.ts";
import { type NotifyTransport, openNotifyTransport } from "./sd-notify-transport.ts";
import type { Lifecycle } from "./shutdown.ts";

/** How often readiness is looked at until the first READY=1, and how often the status after. */
const POLL_STARTING_MS = 250;
const POLL_READY_MS = 2000;

export interface SystemdNotify {
  /** Whether NOTIFY_SOCKET was set (and valid). */
  readonly enabled: boolean;
  /** What the status line says about the agent besides readiness (e.g. "4 workers, plan 12"). */
  describe(summary: () => string): void;
}

/**
 * The decisions, apart from timers and sockets: tick() looks at readiness and sends READY=1 once
 * and STATUS= when its text changes; watchdog() and stopping() send their message.
 */
export class Notifier {
  private readySent = false;
  private stopped = false;
  private lastStatus: string | undefined;
  private summary: (() => string) | undefined;
  private failing = false;

  constructor(
    private readonly readiness: Pick<Readiness, "report">,
    private readonly transport: Pick<NotifyTransport, "send">,
    private readonly log: Logger,
  ) {}

  get ready(): boolean {
    return this.readySent;
  }

  describe(summary: () => string): void {
    this.summary = summary;
  }

  /** Readiness → READY=1 (once) and the status line; returns the sent message, if any. */
  tick(): Promise<string | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    const { ready, checks } = this.readiness.report();
    const summary = this.describeSafely();
    const composed = this.summary !== undefined;
    const failing = failingChecks(checks);
    const status =
      ready && composed
        ? `Ready${summary ? `: ${summary}` : ""}`
        : `${this.readySent ? "Not ready" : "Starting"}${failing ? `: ${failing}` : ""}${summary ? ` (${summary})` : ""}`;
    const fields: Record<string, string> = {};
    if (ready && composed && !this.readySent) {
      this.readySent = true;
      fields.READY = "1";
    }
    if (status !== this.lastStatus || fields.READY) fields.STATUS = status;
    this.lastStatus = status;
    if (Object.keys(fields).length === 0) return Promise.resolve(undefined);
    return this.send(fields);
  }

  watchdog(): Promise<string | undefined> {
    return this.stopped ? Promise.resolve(undefined) : this.send({ WATCHDOG: "1" });
  }

  /** STOPPING=1; nothing is sent after it. */
  stopping(): Promise<string | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    const sent = this.send({ STOPPING: "1", STATUS: "Stopping" });
    this.stopped = true;
    return sent;
  }

  private describeSafely(): string {
    try {
      return this.summary?.() ?? "";
    } catch (err) {
      return `status unknown: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  private async send(fields: Record<string, string>): Promise<string> {
    const message = notifyMessage(fields);
    const error = await this.transport.send(message).catch((err: unknown) => String(err));
    if (error !== undefined) {
      // The first failure is worth a warning; a dead socket would otherwise log every ping.
      if (!this.failing) this.log.warn("cannot notify systemd", { error });
      else this.log.debug("cannot notify systemd", { error });
      this.failing = true;
    } else if (this.failing) {
      this.log.info("notifying systemd again");
      this.failing = false;
    }
    return message;
  }
}

/** "join: joining the cloud; cloud: disconnected": the checks that do not pass. */
function failingChecks(checks: Record<string, string>): string {
  return Object.entries(checks)
    .filter(([, result]) => result !== "ok")
    .map(([name, result]) => `${name}: ${result}`)
    .join("; ");
}

/** Starts notifying systemd when NOTIFY_SOCKET is set; a no-op otherwise. */
export function startSystemdNotify(options: {
  readiness: Readiness;
  lifecycle: Lifecycle;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}): SystemdNotify {
  const env = options.env ?? process.env;
  const log = options.log.child({ component: "systemd" });
  const socket = env.NOTIFY_SOCKET;
  const watchdogMs = watchdogIntervalMs(env, process.pid);
  // Read once and unset, as sd_notify(3)'s unset_environment does: programs the agent starts
  // (helpers, reload commands) must not speak to systemd in its name.
  for (const name of ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]) delete env[name];
  const disabled: SystemdNotify = { enabled: false, describe() {} };
  if (!socket) return disabled;
  const target = parseNotifySocket(socket);
  if (typeof target === "string") {
    log.warn("not notifying systemd", { error: target });
    return disabled;
  }
  const { transport, fallback } = openNotifyTransport(target, socket);
  const notifier = new Notifier(options.readiness, transport, log);
  log.info("notifying systemd", {
    socket,
    via: transport.via,
    watchdogMs,
    ...(fallback ? { fallback } : {}),
  });

  let timer: ReturnType<typeof setTimeout> | undefined;
  const poll = () => {
    void notifier.tick().finally(() => {
      if (timer === undefined) return;
      timer = setTimeout(poll, notifier.ready ? POLL_READY_MS : POLL_STARTING_MS);
      timer.unref?.();
    });
  };
  timer = setTimeout(poll, 0);
  timer.unref?.();
  const watchdog =
    watchdogMs === undefined ? undefined : setInterval(() => void notifier.watchdog(), watchdogMs);
  watchdog?.unref?.();
  if (watchdog) void notifier.watchdog();

  const stopTimers = () => {
    clearTimeout(timer);
    timer = undefined;
    clearInterval(watchdog);
  };
  let stopped: Promise<unknown> = Promise.resolve();
  options.lifecycle.onStop(() => {
    stopTimers();
    stopped = notifier.stopping();
  });
  // Registered first, so closed last: after STOPPING=1 went out.
  options.lifecycle.add("systemd-notify", async () => {
    await stopped;
    transport.close();
  });
  return { enabled: true, describe: (summary) => notifier.describe(summary) };
}
