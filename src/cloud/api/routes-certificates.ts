// POST /api/v1/nodes/NAME/certificate {v: 1, publicKey}: a node gets a new mesh certificate for its
// own public key (EC P-256, PEM), signed by the cluster CA (node-ca.ts), with the addresses the
// cloud has for it. Nodes call it when they have none (they joined before the mesh existed) or
// when theirs expires within 30 days. Only the node itself (HTTP Basic with its MQTT credentials)
// or the admin may ask (`guard`).
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { nodePublicKeyProblem } from "../../mesh/transport/certificates.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import type { NodeCa } from "../node-ca.ts";
import { getNode } from "../node-registry.ts";
import { apiError, parseBody } from "./errors.ts";
import type { Caller } from "./node-auth.ts";
import type { ApiRoutes } from "./route-registry.ts";

export interface CertificateRouteDeps {
  store: Store;
  log: Logger;
  ca: NodeCa;
  /** The admin or a node (c.get("caller")), and the body limit. */
  guard: MiddlewareHandler<{ Variables: { caller: Caller } }>;
}

export const certificateRequestSchema = z.strictObject({
  v: z.literal(1),
  publicKey: z.string().max(4096),
});

export interface CertificateResponse {
  v: 1;
  node: string;
  /** The cluster CA (PEM). */
  ca: string;
  /** The node's new certificate (PEM). */
  certificate: string;
}

export function mountCertificateRoutes(api: ApiRoutes, deps: CertificateRouteDeps): void {
  const routes = api.under<{ Variables: { caller: Caller } }>("/");
  const spec = {
    method: "post",
    path: "/nodes/:name/certificate",
    summary: "A new mesh certificate for the node's public key",
    description: "Only the node itself or the admin may ask.",
    tag: "nodes",
    auth: "admin-or-node",
    params: { name: "the node" },
    body: { json: certificateRequestSchema },
    responses: {
      201: "{v: 1, node, ca, certificate} (PEM)",
      403: "a node asked for another's",
      404: "no such node",
    },
  } as const;
  routes.add(spec, deps.guard, async (c) => {
    const name = c.req.param("name");
    const caller = c.get("caller");
    if (caller.kind === "node" && caller.name !== name)
      return apiError(c, 403, `node ${caller.name} may only ask for its own certificate, not ${name}'s`);
    const node = getNode(deps.store, name);
    if (!node) return apiError(c, 404, `no node named ${name}`);
    const body = await parseBody(c, certificateRequestSchema, "certificate request");
    const problem = nodePublicKeyProblem(body.publicKey);
    if (problem)
      return apiError(c, 400, "invalid certificate request", [{ path: "publicKey", message: problem }]);
    const certificate = deps.ca.issue(name, node.status.addresses, body.publicKey);
    deps.log.info("mesh certificate issued", {
      node: name,
      by: caller.kind === "node" ? caller.name : "admin",
    });
    const response: CertificateResponse = { v: 1, node: name, ca: deps.ca.cert, certificate };
    return c.json(response, 201);
  });
}
