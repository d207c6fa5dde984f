// The entry of a mesh thread (a Bun Worker started by threads.ts): the service and upstream ports of
// this node, opened once more with SO_REUSEPORT so that the kernel spreads their connections over
// the threads, routed with this thread's own copy of the routing state (posted by the main thread
// on every refresh), its own balancers, upstream pool and tunnel dialer. The forward proxy, the
// tunnel listener (inbound streams) and the kernel fast path stay on the main thread. Counters are
// kept in a ThreadTally and posted as deltas (every second, and when a /metrics scrape asks); log
// lines are posted to the main thread's logger. Built into the compiled binary as an extra entry
// point (build/build.ts).
import type { Fields, Logger, LogLevel } from "../../runtime/log.ts";
import type { Catalog, LocalEndpoint } from "../contracts.ts";
import { MeshAgent } from "../mesh-agent.ts";
import type { NodeTls } from "../transport/node-tls.ts";
import { relayAddressOf } from "../transport/relay-address.ts";
import { catalogRevocations } from "../transport/revocation.ts";
import { TunnelDialer } from "../transport/tunnel-dialer.ts";
import {
  type CountsDelta,
  decodeToThread,
  type FromThread,
  THREAD_MESSAGES_VERSION,
  type ThreadInit,
  type ToThread,
} from "./messages.ts";
import { isEmpty, ThreadTally } from "./thread-counts.ts";

// In a Worker, `self` is the thread's side of the channel.
declare const self: Worker;
const post = (message: FromThread): void => self.postMessage(message);

/** A logger that posts its lines to the main thread (which adds the thread's number). */
function postingLogger(debug: boolean, bound: Fields = {}): Logger {
  const emit = (level: LogLevel, msg: string, fields?: Fields) => {
    if (level === "debug" && !debug) return;
    post({ v: THREAD_MESSAGES_VERSION, type: "log", level, msg, fields: { ...bound, ...fields } });
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => postingLogger(debug, { ...bound, ...fields }),
  };
}

class MeshThread {
  private catalog: Catalog | undefined;
  private local: LocalEndpoint[] = [];
  private tls: NodeTls | undefined;
  private readonly tally = new ThreadTally();
  private readonly agent: MeshAgent;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly failed = new Set<string>();

  constructor(init: ThreadInit) {
    const log = postingLogger(init.debug);
    const catalog = () => this.catalog;
    const dialer = new TunnelDialer({
      node: init.node,
      credentials: () => this.tls,
      lookup: (name) => this.catalog?.nodes.find((n) => n.name === name),
      relay: () => relayAddressOf(this.catalog, init.fallbackRelayHost, init.tunnelPort),
      relayOnly: init.relayOnly,
      revoked: catalogRevocations(catalog),
      onEvent: (event, fields) => log.debug(event, fields),
    });
    this.agent = new MeshAgent({
      node: init.node,
      log,
      bindHost: init.bindHost,
      loopbackHost: init.loopbackHost,
      proxyPort: 0,
      reusePort: true,
      onAccept: () => {
        this.tally.accepted++;
      },
      catalog,
      localWorkers: () => this.local,
      dialer,
      distance: (node) => dialer.distance(node),
      metrics: this.tally,
      onRoutes: (routes) => {
        // The main thread reports routes; a thread says when it could not open one (the port is
        // still served by the main thread's listener).
        for (const route of routes) {
          const id = `${route.kind}/${route.service}/${route.port}`;
          if (route.state !== "failed") this.failed.delete(id);
          else if (!this.failed.has(id)) {
            this.failed.add(id);
            log.warn("mesh thread cannot listen; the other threads serve the port", {
              route: id,
              error: route.message,
            });
          }
        }
      },
    });
    this.timer = setInterval(() => this.postCounts(), init.countsEveryMs);
  }

  handle(message: ToThread): void {
    if (message.type === "state") {
      this.catalog = message.catalog ?? undefined;
      this.local = message.local;
      this.tls = message.tls ?? undefined;
      this.agent.refresh();
    } else if (message.type === "flush") {
      post({ v: THREAD_MESSAGES_VERSION, type: "counts", counts: this.tally.take(), flush: message.id });
    } else if (message.type === "stop") {
      clearInterval(this.timer);
      this.agent.close();
      post({ v: THREAD_MESSAGES_VERSION, type: "stopped", counts: this.tally.take() });
    }
  }

  private postCounts(): void {
    const counts: CountsDelta = this.tally.take();
    if (!isEmpty(counts)) post({ v: THREAD_MESSAGES_VERSION, type: "counts", counts });
  }
}

let thread: MeshThread | undefined;
self.onmessage = (event: MessageEvent) => {
  const message = decodeToThread(event.data);
  if (!message) return;
  if (message.type === "init") {
    thread ??= new MeshThread(message);
    return;
  }
  thread?.handle(message);
};
