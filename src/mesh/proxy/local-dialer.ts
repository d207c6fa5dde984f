// The Dialer for workers on this node: loopback TCP to the worker's port. Targets on other nodes need
// the transport (src/mesh/transport/); given one, this dialer hands "node" targets to it.
import type { Dialer, DialTarget, Duplex } from "../contracts.ts";
import { connectDuplex, type WaterMarks } from "./socket-duplex.ts";

export interface LocalDialerOptions extends WaterMarks {
  /** Default 127.0.0.1. */
  host?: string;
  /** Where targets of kind "node" go; without it they fail. */
  remote?: Dialer;
}

export function localDialer(options: LocalDialerOptions = {}): Dialer {
  const host = options.host ?? "127.0.0.1";
  return {
    dial(target: DialTarget, signal?: AbortSignal): Promise<Duplex> {
      if (target.kind === "local")
        return connectDuplex(host, target.port, {
          ...(signal ? { signal } : {}),
          highWaterMark: options.highWaterMark,
          lowWaterMark: options.lowWaterMark,
        });
      if (options.remote !== undefined) return options.remote.dial(target, signal);
      return Promise.reject(
        Object.assign(new Error(`no transport to reach node ${target.node}`), { code: "ENOTRANSPORT" }),
      );
    },
  };
}
