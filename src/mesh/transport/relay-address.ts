// Where an edge finds the cloud's relay: the cloud node's first catalog address and tunnel port,
// else (no catalog yet) the host of the cloud URL the edge joined with and this agent's tunnel
// port. Shared by the agent's main thread and its mesh threads (src/mesh/threads/), which dial
// through the relay on their own.
import type { Catalog } from "../contracts.ts";
import type { RelayAddress } from "./relay-offers.ts";

export function relayAddressOf(
  catalog: Catalog | undefined,
  fallbackHost: string | undefined,
  defaultPort: number,
): RelayAddress | undefined {
  const cloud = catalog?.nodes.find((n) => n.role === "cloud");
  const host = cloud?.addresses[0] ?? fallbackHost;
  return host ? { host, port: cloud?.tunnelPort ?? defaultPort } : undefined;
}
