// GET /api/v1/config-content/SHA: the bytes of a Config file, for the node whose plan references
// it (HTTP Basic with the node's MQTT credentials, node-auth.ts) or the admin. Plans carry Config
// files by reference (sha256 and size), so a plan stays one small sync message however large its
// Configs are; the node fetches the bytes here, verifies them and keeps them (src/node/configs/).
// Content that is not in the asking node's current plan is a 404, whoever else may have it.
import type { MiddlewareHandler } from "hono";
import { SHA256_HEX } from "../../manifest/artifact.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import { configContent } from "../config-content.ts";
import type { NodeReadScope } from "../node-read-scope.ts";
import { apiError } from "./errors.ts";
import type { Caller } from "./node-auth.ts";
import type { ApiRoutes } from "./route-registry.ts";

export function mountConfigContentRoutes(
  api: ApiRoutes,
  deps: {
    store: Store;
    /** What each node may read (shared with the artifact routes). */
    scope: NodeReadScope;
    log: Logger;
    /** The admin or a node (c.get("caller")), and the body limit. */
    guard: MiddlewareHandler<{ Variables: { caller: Caller } }>;
  },
): void {
  const routes = api.under<{ Variables: { caller: Caller } }>("/config-content");
  const spec = {
    method: "get",
    path: "/:sha",
    summary: "The bytes of a Config file",
    description: "A node reads only the files its current plan references.",
    tag: "nodes",
    auth: "admin-or-node",
    params: { sha: "the file's sha256" },
    responses: {
      200: {
        description: "the bytes",
        body: { contentType: "application/octet-stream", description: "the file" },
      },
      404: "no such file (in the node's plan)",
    },
  } as const;
  routes.add(spec, deps.guard, (c) => {
    const sha = c.req.param("sha");
    if (!SHA256_HEX.test(sha))
      return apiError(
        c,
        400,
        `invalid content id ${JSON.stringify(sha)}: expected a sha256: 64 lower-case hex digits`,
      );
    const caller = c.get("caller");
    const node = caller.kind === "node" ? caller.name : undefined;
    const found = configContent(deps.store.db, deps.scope, node, sha);
    if (!found) {
      return apiError(
        c,
        404,
        node === undefined
          ? `no Config has a file with sha256 ${sha}`
          : `node ${node}'s current plan references no Config file with sha256 ${sha}`,
      );
    }
    const { bytes } = found;
    // No hash of a Secret's value in the log: a short value could be guessed from it.
    deps.log.debug("config content served", {
      sha256: found.secret ? "(a Secret's value)" : sha,
      bytes: bytes.length,
      to: node ?? "admin",
    });
    return new Response(bytes, {
      status: 200,
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(bytes.length),
        etag: `"${sha}"`,
        "cache-control": "private, max-age=31536000, immutable",
      },
    });
  });
}
