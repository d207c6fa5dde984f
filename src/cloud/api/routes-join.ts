// POST /api/v1/join: an edge presents a join token (or, when it joined before, its own
// credentials) and gets its node identity, MQTT credentials and, for a TLS broker, the CA to
// verify it with; with `mesh.publicKey`, also its mesh certificate for that key and the mesh CA;
// and the public key the cloud signs plans with.
// Not behind the admin token: `guard` is the body limit only.
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { nodePublicKeyProblem } from "../../mesh/transport/certificates.ts";
import type { PlanKey } from "../../protocol/plan-signature.ts";
import { CLOUD_USER } from "../../protocol/topics.ts";
import { DNS_SUBDOMAIN, dnsSubdomainProblem } from "../../runtime/dns-name.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import { ApiError } from "../api-error.ts";
import { consumeJoinToken } from "../join-tokens.ts";
import type { NodeCa } from "../node-ca.ts";
import { isSystemLabel, SYSTEM_LABEL_PREFIX } from "../node-labels.ts";
import { joinNode, type PasswordHasher } from "../node-registry.ts";
import type { PlanSigner } from "../plan-signing-key.ts";
import { parseBody } from "./errors.ts";
import type { ApiRoutes } from "./route-registry.ts";

const label = z.string().max(63);
export const joinRequestSchema = z.strictObject({
  v: z.literal(1),
  token: z.string().optional(),
  node: z.strictObject({
    name: z.string().regex(DNS_SUBDOMAIN, { error: (iss) => dnsSubdomainProblem(String(iss.input)) }),
    labels: z.record(z.string().max(253), label).default({}),
    addresses: z.array(z.string().max(100)).max(32).default([]),
    agentVersion: z.string().max(64).default(""),
    arch: z.string().max(32).default(""),
  }),
  credentials: z.strictObject({ username: z.string(), password: z.string() }).optional(),
  /** The node's mesh public key (PEM, EC P-256): the cloud answers with its certificate. */
  mesh: z.strictObject({ publicKey: z.string().max(4096) }).optional(),
});

export interface JoinResponse {
  v: 1;
  node: { name: string; uid: string };
  /** `ca`: the CA certificate(s) (PEM) to verify an mqtts:// broker with; null: the system CAs. */
  mqtt: { url: string; username: string; password: string; ca: string | null };
  /**
   * The mesh CA and this node's certificate (PEM) for the public key it sent; null when it sent
   * none. `key` stays null: node keys are made on the node and never travel.
   */
  mesh: { ca: string | null; certificate: string | null; key: string | null };
  /** The key every plan message is signed with (plan-signature.ts); the node keeps it. */
  planKey?: PlanKey;
}

export interface JoinDeps {
  store: Store;
  hasher: PasswordHasher;
  log: Logger;
  /** The MQTT URL edges should use (the embedded broker's advertised address, or the external one). */
  mqttUrlForNodes: () => string;
  /** The CA (PEM) edges verify the broker with (--mqtt-tls-ca or --mqtt-tls-cert), if any. */
  mqttCaForNodes?: () => string | null;
  /** The mesh CA that signs node certificates; without it joins get no certificate. */
  nodeCa?: NodeCa;
  /** The cloud's plan-signing key, whose public half joining nodes get. */
  planSigner?: PlanSigner;
  /** Called after a node joined for the first time (the planner gives it a plan). */
  onJoined: (node: string) => void;
  guard: MiddlewareHandler;
}

export function mountJoinRoutes(api: ApiRoutes, deps: JoinDeps): void {
  const spec = {
    method: "post",
    path: "/join",
    summary: "Join a node (with a join token, or its own credentials when it joined before)",
    tag: "nodes",
    auth: "none",
    body: { json: joinRequestSchema },
    responses: {
      201: "joined: {v: 1, node: {name, uid}, mqtt: {url, username, password, ca}, mesh, planKey}",
      200: "joined again (the same answer)",
      401: "no valid join token",
      409: "the name is taken by a node with other credentials",
    },
  } as const;
  api.add(spec, deps.guard, async (c) => {
    const req = await parseBody(c, joinRequestSchema, "join request");
    if (req.node.name === CLOUD_USER) {
      throw new ApiError(400, "invalid join request", {
        issues: [{ path: "node.name", message: `"${CLOUD_USER}" is reserved for the cloud's own MQTT user` }],
      });
    }
    const claimed = Object.keys(req.node.labels).filter(isSystemLabel);
    if (claimed.length > 0) {
      deps.log.warn("join refused: system labels", { node: req.node.name, labels: claimed.join(", ") });
      throw new ApiError(400, "invalid join request", {
        issues: claimed.map((key) => ({
          path: `node.labels["${key}"]`,
          message: `labels under "${SYSTEM_LABEL_PREFIX}" are set by the cloud, never by a joining node`,
        })),
      });
    }
    const keyProblem = req.mesh ? nodePublicKeyProblem(req.mesh.publicKey) : undefined;
    if (keyProblem) {
      throw new ApiError(400, "invalid join request", {
        issues: [{ path: "mesh.publicKey", message: keyProblem }],
      });
    }
    // Thrown inside the join transaction, so that it rolls back: a refused join uses no token.
    const refuse = (reason: string): never => {
      deps.log.warn("join refused", { node: req.node.name, reason });
      throw new ApiError(401, `join refused: ${reason}`, {
        headers: { "WWW-Authenticate": 'Bearer realm="levee-join"' },
      });
    };
    const request = { ...req.node, ...(req.credentials ? { credentials: req.credentials } : {}) };
    const outcome = joinNode(deps.store, deps.hasher, request, () => {
      if (!req.token) refuse("a join token is required for a new node (levee ctl token create)");
      const used = consumeJoinToken(deps.store, req.token as string);
      if (!used.ok) refuse(used.reason);
    });
    if (outcome.kind === "name-taken") {
      deps.log.warn("join refused: name taken", { node: req.node.name });
      throw new ApiError(
        409,
        `node name "${req.node.name}" is already joined with other credentials; choose another --node-name, or delete the node first (levee ctl delete node ${req.node.name})`,
      );
    }
    deps.log.info(outcome.kind === "joined" ? "node joined" : "node joined again", { node: req.node.name });
    if (outcome.kind === "joined") deps.onJoined(req.node.name);
    const response: JoinResponse = {
      v: 1,
      node: { name: req.node.name, uid: outcome.uid },
      mqtt: { url: deps.mqttUrlForNodes(), ...outcome.credentials, ca: deps.mqttCaForNodes?.() ?? null },
      mesh:
        req.mesh && deps.nodeCa
          ? {
              ca: deps.nodeCa.cert,
              certificate: deps.nodeCa.issue(req.node.name, req.node.addresses, req.mesh.publicKey),
              key: null,
            }
          : { ca: null, certificate: null, key: null },
      ...(deps.planSigner ? { planKey: deps.planSigner.key } : {}),
    };
    return c.json(response, outcome.kind === "joined" ? 201 : 200);
  });
}
