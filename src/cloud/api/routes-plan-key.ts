// GET /api/v1/plan-key: the public key the cloud signs plans with (plan-signing-key.ts), for a
// node that joined before plans were signed and so did not get it in its join answer. Only a node
// (HTTP Basic with its MQTT credentials) or the admin may ask (`guard`): a node trusts the first
// key it gets over this authenticated route.
import type { MiddlewareHandler } from "hono";
import type { PlanKey } from "../../protocol/plan-signature.ts";
import type { PlanSigner } from "../plan-signing-key.ts";
import type { ApiRoutes } from "./route-registry.ts";

export function mountPlanKeyRoute(api: ApiRoutes, signer: PlanSigner, guard: MiddlewareHandler): void {
  const spec = {
    method: "get",
    path: "/plan-key",
    summary: "The public key plans are signed with",
    tag: "nodes",
    auth: "admin-or-node",
    responses: { 200: "the key: {publicKey (SPKI PEM, Ed25519), keyId}" },
  } as const;
  api.add(spec, guard, (c) => c.json(signer.key satisfies PlanKey));
}
