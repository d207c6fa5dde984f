// The first line of every tunnel stream, sent by the dialer inside the TLS session:
//   LEVEE-TUNNEL/1 service=<name>\n   a stream for that service's port on the accepting node
//   LEVEE-TUNNEL/1 service=<name> forwarded\n   the same, sent by a fallback: serve it or refuse it,
//                                    never forward it again
//   LEVEE-TUNNEL/1 ping\n             a reachability / RTT probe: answered "pong\n", then closed
//   LEVEE-TUNNEL/1 artifact=<sha256> range=<start>-\n   the bytes of a verified artifact of the
//                                    accepting node's cache from <start> on (artifact-answer.ts)
// The line names only what is wanted; who wants it is the verified client certificate. The service
// is named as nodes know it (`svc`, or `svc.namespace`): a DNS subdomain. Pure.
import { isDnsSubdomain } from "../../runtime/dns-name.ts";

const TUNNEL_VERSION = 1;
export const PREAMBLE_MAX_BYTES = 512;
const MAGIC = `LEVEE-TUNNEL/${TUNNEL_VERSION}`;

export type Preamble =
  | { kind: "stream"; service: string; forwarded?: boolean }
  | { kind: "ping" }
  | { kind: "artifact"; sha256: string; from: number };

const SHA256 = /^[0-9a-f]{64}$/;
/** A decimal offset without leading zeros, followed by "-" (an open-ended range). */
const RANGE = /^range=(0|[1-9][0-9]{0,15})-$/;

export function formatPreamble(p: Preamble): string {
  if (p.kind === "ping") return `${MAGIC} ping\n`;
  if (p.kind === "artifact") {
    if (!SHA256.test(p.sha256)) throw new Error(`not an artifact sha256: "${p.sha256}"`);
    if (!Number.isSafeInteger(p.from) || p.from < 0) throw new Error(`not a byte offset: ${p.from}`);
    return `${MAGIC} artifact=${p.sha256} range=${p.from}-\n`;
  }
  if (!isDnsSubdomain(p.service)) throw new Error(`not a valid service name for the tunnel: "${p.service}"`);
  return `${MAGIC} service=${p.service}${p.forwarded ? " forwarded" : ""}\n`;
}

export type ParsedPreamble = { ok: true; preamble: Preamble } | { ok: false; reason: string };

export function parsePreamble(line: string): ParsedPreamble {
  const [magic, arg, flag, ...extra] = line.split(" ");
  if (!magic?.startsWith("LEVEE-TUNNEL/")) return { ok: false, reason: "not a levee tunnel stream" };
  if (magic !== MAGIC) return { ok: false, reason: `unsupported tunnel version ${magic.slice(13)}` };
  if (extra.length > 0 || arg === undefined) return { ok: false, reason: "malformed tunnel preamble" };
  if (arg === "ping" && flag === undefined) return { ok: true, preamble: { kind: "ping" } };
  if (arg.startsWith("artifact=")) return parseArtifact(arg.slice(9), flag);
  const service = arg.startsWith("service=") ? arg.slice(8) : undefined;
  if (service === undefined || !isDnsSubdomain(service))
    return { ok: false, reason: "malformed service name" };
  if (flag !== undefined && flag !== "forwarded") return { ok: false, reason: "malformed tunnel preamble" };
  return { ok: true, preamble: { kind: "stream", service, forwarded: flag === "forwarded" } };
}

function parseArtifact(sha256: string, range: string | undefined): ParsedPreamble {
  if (!SHA256.test(sha256)) return { ok: false, reason: "malformed artifact sha256" };
  const from = range === undefined ? undefined : RANGE.exec(range)?.[1];
  if (from === undefined) return { ok: false, reason: "malformed artifact range" };
  const offset = Number(from);
  if (!Number.isSafeInteger(offset)) return { ok: false, reason: "artifact range out of bounds" };
  return { ok: true, preamble: { kind: "artifact", sha256, from: offset } };
}
