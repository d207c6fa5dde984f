// Defaults that depend on the machine: data dir, node name, advertise address, log format.
import { hostname, networkInterfaces } from "node:os";
import { join } from "node:path";
import { isLoopbackAddress } from "../runtime/host-port.ts";

export function defaultDataDir(env: Record<string, string | undefined> = process.env): string {
  if (process.getuid?.() === 0) return "/var/lib/levee";
  const base = env.XDG_DATA_HOME || join(env.HOME || "/tmp", ".local", "share");
  return join(base, "levee");
}

/**
 * The host name's first label, lower-cased and cut to a DNS label. A node name may be a whole DNS
 * subdomain (`--node-name edge.site-a`), but the default stays the short host name, so that a node
 * keeps the name it was first given.
 */
export function defaultNodeName(): string {
  const name = hostname()
    .split(".")[0]
    ?.toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 63)
    .replace(/^-+|-+$/g, "");
  return name || "levee";
}

const WILDCARDS = new Set(["0.0.0.0", "::", ""]);

/** The bind address when it is a real address; else the first non-loopback IPv4, then IPv6 address. */
export function defaultAdvertiseAddress(bindAddress: string): string {
  if (!WILDCARDS.has(bindAddress)) return bindAddress;
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  const external = all.filter((a) => !a.internal && !a.address.startsWith("fe80:"));
  const pick = external.find((a) => a.family === "IPv4") ?? external[0];
  return pick?.address ?? "127.0.0.1";
}

export function defaultLogFormat(): "json" | "text" {
  return process.stderr.isTTY ? "text" : "json";
}

/**
 * The loopback address of an agent, where the local agent API (unless --agent-address says
 * otherwise), the forward proxy and the upstream ports listen: the bind address itself when it is a
 * loopback address (several agents on one host, each on its own 127.x address, as `levee demo` and
 * the tests run them), ::1 for ::, else 127.0.0.1 — never an address other hosts reach.
 */
export function agentApiHost(bindAddress: string): string {
  if (isLoopbackAddress(bindAddress)) return bindAddress;
  if (bindAddress === "::") return "::1";
  return "127.0.0.1";
}
