// The catalog's zod schema: a node validates every catalog it receives (and the one it reads back
// from SQLite) before routing with it, so a malformed or foreign message can never half-apply.
import { z } from "zod";
import { parseJsonWithin } from "../../runtime/bounded-json.ts";
import { isDnsSubdomain } from "../../runtime/dns-name.ts";
import { CATALOG_VERSION, type Catalog } from "../contracts.ts";
import { MAX_REVOKED } from "../transport/revocation.ts";

/** Node and service names (`edge-1`, `cloud.kubeedge`; `svc`, `svc.namespace`): DNS subdomains. */
const name = z.string().max(253).refine(isDnsSubdomain, "expected a DNS subdomain");
const port = z.int().min(1).max(65535);

export const catalogSchema = z.object({
  v: z.literal(CATALOG_VERSION),
  revision: z.int().min(0),
  epoch: z.string().min(1).max(128),
  nodes: z.array(
    z.object({
      name,
      role: z.enum(["cloud", "edge"]),
      addresses: z.array(z.string().max(253)).max(64),
      labels: z.record(z.string(), z.string()),
      state: z.enum(["Ready", "Disconnected", "Lost"]),
      tunnelPort: port,
    }),
  ),
  services: z.array(
    z.object({
      name,
      port,
      protocol: z.enum(["http", "tcp"]),
      balance: z.enum(["round-robin", "least-request", "p2c-ewma"]),
      fallback: z.enum(["none", "cloud", "any"]),
      upstreams: z.array(z.object({ service: name, node: name, localPort: port })),
      workers: z.array(z.object({ node: name, index: z.int().min(0), ready: z.boolean() })),
    }),
  ),
  kube: z.unknown().optional(),
  revoked: z
    .array(
      z.object({
        fingerprint: z.string().regex(/^[0-9a-f]{64}$/, "expected a SHA-256 fingerprint (64 hex digits)"),
        expiresAt: z.iso.datetime({ offset: true }),
      }),
    )
    .max(MAX_REVOKED)
    .optional(),
}) satisfies z.ZodType<Catalog>;

/** The catalog in a message or a stored row, or why not. */
export function parseCatalog(text: string): { ok: true; catalog: Catalog } | { ok: false; reason: string } {
  const read = parseJsonWithin(text, "the catalog");
  if (!read.ok) return { ok: false, reason: read.reason };
  const parsed = catalogSchema.safeParse(read.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `${issue?.path.join(".") || "catalog"}: ${issue?.message ?? "invalid"}` };
  }
  return { ok: true, catalog: parsed.data };
}
