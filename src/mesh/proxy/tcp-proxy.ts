// The TCP data path (protocol: tcp service ports, local upstream ports): for each connection route()
// decides once where it goes; the proxy dials it and splices both ways with back-pressure. A refusal
// closes the connection at once (no bytes are sent: TCP has no way to say why).

import { describeError } from "../../runtime/errors.ts";
import type { Dialer, DialTarget, Duplex } from "../contracts.ts";
import { asError, errorKind, type ProxyOutcome } from "./dial-errors.ts";
import type { ConnectionInfo } from "./http-types.ts";
import { Splice } from "./splice.ts";

export type TcpRouteDecision =
  | { kind: "dial"; target: DialTarget; done?(outcome: ProxyOutcome): void }
  | { kind: "refuse"; reason: string };

export type TcpRouteFn = (info: ConnectionInfo) => TcpRouteDecision | Promise<TcpRouteDecision>;

export type TcpProxyEvent =
  | { kind: "refused"; reason: string; remoteAddress: string }
  | { kind: "upstream-error"; error: string; message: string; target: DialTarget };

export interface TcpProxyOptions {
  dialer: Dialer;
  route: TcpRouteFn;
  /** Default 5 s. */
  connectTimeoutMs?: number;
  onEvent?(event: TcpProxyEvent): void;
}

export interface TcpProxy {
  serve(inbound: Duplex, info: ConnectionInfo): void;
  readonly activeConnections: number;
  /** Destroys every open connection. */
  close(): void;
}

export function createTcpProxy(options: TcpProxyOptions): TcpProxy {
  const active = new Set<Splice>();
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const onEvent = options.onEvent ?? (() => {});

  /** One client connection: its splice, and what to tell the balancer when the splice ends. */
  interface Conn {
    splice: Splice;
    onEnd(error?: Error): void;
  }

  async function connect(conn: Conn, info: ConnectionInfo): Promise<void> {
    const { splice } = conn;
    let decision: TcpRouteDecision;
    try {
      decision = await options.route(info);
    } catch (error) {
      decision = { kind: "refuse", reason: `route failed: ${describeError(error)}` };
    }
    if (decision.kind === "refuse") {
      onEvent({ kind: "refused", reason: decision.reason, remoteAddress: info.remoteAddress });
      splice.abort(new Error(decision.reason));
      return;
    }
    const { target, done } = decision;
    const t0 = performance.now();
    let reported = false;
    const report = (outcome: ProxyOutcome) => {
      if (reported) return;
      reported = true;
      try {
        done?.(outcome);
      } catch {
        // the balancer's bookkeeping must not break the data path
      }
    };
    let upstream: Duplex;
    try {
      upstream = await options.dialer.dial(target, AbortSignal.timeout(connectTimeoutMs));
    } catch (error) {
      const kind = errorKind(error);
      onEvent({ kind: "upstream-error", error: kind, message: describeError(error), target });
      report({ ok: false, error: kind, latencyMs: performance.now() - t0 });
      splice.abort(asError(error));
      return;
    }
    if (splice.done) {
      upstream.destroy();
      report({ ok: false, latencyMs: performance.now() - t0 });
      return;
    }
    conn.onEnd = (error) => {
      const latencyMs = performance.now() - t0;
      report(error === undefined ? { ok: true, latencyMs } : { ok: false, error: "reset", latencyMs });
    };
    splice.attach(upstream);
  }

  return {
    serve(inbound, info) {
      const conn: Conn = {
        splice: new Splice(inbound, (result) => {
          active.delete(conn.splice);
          conn.onEnd(result.error);
        }),
        onEnd: () => {},
      };
      active.add(conn.splice);
      void connect(conn, info);
    },
    get activeConnections() {
      return active.size;
    },
    close() {
      for (const splice of [...active]) splice.abort(new Error("proxy closed"));
    },
  };
}
