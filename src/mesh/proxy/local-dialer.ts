// The Dialer for workers on this node alone (the proxy's tests and benchmarks): loopback TCP to the
// worker's port. Targets on other nodes need the transport (src/mesh/transport/): they fail here.
import type { Dialer, DialTarget, Duplex } from "../contracts.ts";
import { codedError } from "./dial-errors.ts";
import { connectDuplex } from "./socket-listen-connect.ts";

export function localDialer(): Dialer {
  return {
    dial(target: DialTarget, signal?: AbortSignal): Promise<Duplex> {
      if (target.kind === "local") return connectDuplex("127.0.0.1", target.port, signal ? { signal } : {});
      return Promise.reject(codedError(`no transport to reach node ${target.node}`, "ENOTRANSPORT"));
    },
  };
}
