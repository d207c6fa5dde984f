// Parsing of HOST:PORT listen addresses (":7400", "127.0.0.1:7400", "[::1]:7400"), and the ports
// levee's own listeners take by default.

/**
 * The default port of each of levee's listeners: the options' defaults (src/config/schema.ts), and
 * the ports a service may not take (src/manifest/fields.ts), said once.
 */
export const DEFAULT_PORTS = {
  /** The embedded MQTT broker (--mqtt-listen). */
  mqtt: 1883,
  /** The cloud API (--api-listen). */
  api: 7400,
  /** The local agent API (--agent-port). */
  agent: 7401,
  /** The mesh tunnel (--tunnel-port). */
  tunnel: 7402,
  /** The mesh forward proxy (--proxy-port). */
  proxy: 7403,
} as const;

export interface HostPort {
  /** Empty string: "use the bind address". */
  host: string;
  port: number;
}

/** Returns the parsed address, or a message saying what was expected. */
export function parseHostPort(value: string): HostPort | string {
  const expected = `expected HOST:PORT or :PORT, got "${value}"`;
  const match = /^(?:\[([0-9a-fA-F:.%\w]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  if (!match) return expected;
  const host = match[1] ?? match[2] ?? "";
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return `expected a port between 1 and 65535 in "${value}"`;
  if (host !== "" && !/^[A-Za-z0-9.:%_-]+$/.test(host)) return expected;
  return { host, port };
}

/** Resolves a validated listen address against the agent's bind address. */
export function listenAddress(value: string, bindAddress: string): HostPort {
  const parsed = parseHostPort(value);
  if (typeof parsed === "string") throw new Error(parsed);
  return { host: parsed.host === "" ? bindAddress : parsed.host, port: parsed.port };
}

/** Whether a host is a loopback address (127.0.0.0/8, ::1, IPv4-mapped 127.x, localhost). */
export function isLoopbackAddress(host: string): boolean {
  const v4 = host.toLowerCase().startsWith("::ffff:") ? host.slice(7) : host;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || host === "::1" || host.toLowerCase() === "localhost";
}
