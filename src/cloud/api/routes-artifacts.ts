// /api/v1/artifacts: content-addressed blobs that workers mount (DNN models, ...).
//   POST   /artifacts?name=NAME[&sha256=EXPECTED]  admin: upload the body (streamed, --artifact-max-size)
//   GET    /artifacts                              admin: list
//   GET    /artifacts/SHA                          admin, or a node whose plan mounts it: the bytes;
//                                                  Range (206/416), ETag = sha
//   DELETE /artifacts/SHA                          admin: 409 while a Service mounts it, it holds
//                                                  a container image (routes-images.ts) or it is a
//                                                  binary of a running or paused upgrade rollout
// Nodes read with HTTP Basic and their MQTT credentials (node-auth.ts), only what their own plan
// mounts (src/cloud/node-read-scope.ts). No route here has the API's 4 MiB body limit: an upload
// is bounded by --artifact-max-size (the artifact store counts the streamed bytes) and never held
// in memory.
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { SHA256_HEX } from "../../manifest/artifact.ts";
import { fileNameProblem } from "../../manifest/fields.ts";
import type { Logger } from "../../runtime/log.ts";
import { ApiError } from "../api-error.ts";
import { ArtifactHashMismatch, type ArtifactStore, ArtifactTooLarge, blobSize } from "../artifact-store.ts";
import type { NodeReadScope } from "../node-read-scope.ts";
import { apiError } from "./errors.ts";
import { contentRange, noneMatch, selectRange } from "./http-range.ts";
import type { Caller } from "./node-auth.ts";
import type { ApiRoutes } from "./route-registry.ts";

export interface ArtifactRouteDeps {
  artifacts: ArtifactStore;
  /** What each node may read (shared with the Config content routes). */
  scope: NodeReadScope;
  log: Logger;
  /** Who may upload, list and delete: the admin. */
  admin: MiddlewareHandler;
  /** Who may download: the admin, or a node (c.get("caller")), which reads only what its plan mounts. */
  readers: MiddlewareHandler<{ Variables: { caller: Caller } }>;
}

const SHA_MESSAGE = "expected a sha256: 64 lower-case hex digits";
const TAG = "artifacts";
const SHA_PARAM = { sha: "the artifact's sha256 (64 lower-case hex digits)" };
const artifactInfo = "{sha256, name, size, createdAt}";

/** The upload's query (checked by the route itself, with the messages it gives). */
const uploadQuery = z.object({
  name: z.string().describe("the artifact's file name, e.g. model.onnx"),
  sha256: z.string().regex(SHA256_HEX).optional().describe("the sha256 the bytes must have"),
});

export function mountArtifactRoutes(api: ApiRoutes, deps: ArtifactRouteDeps): void {
  const { artifacts, scope, log, admin, readers } = deps;
  const routes = api.under<{ Variables: { caller: Caller } }>("/artifacts");

  const upload = {
    method: "post",
    path: "/",
    summary: "Upload an artifact (streamed; at most --artifact-max-size bytes)",
    tag: TAG,
    auth: "admin",
    query: uploadQuery,
    body: { contentType: "application/octet-stream", description: "the artifact's bytes" },
    responses: {
      201: { description: `stored: {outcome: "created", artifact: ${artifactInfo}}` },
      200: { description: `already stored: {outcome: "unchanged", artifact}` },
      507: "no space left on the cloud's disk; nothing was stored",
    },
  } as const;
  routes.add(upload, admin, async (c) => {
    const name = c.req.query("name");
    const expected = c.req.query("sha256");
    const issues = [];
    const nameProblem =
      name === undefined ? "required: the artifact's name, e.g. ?name=model.onnx" : fileNameProblem(name);
    if (nameProblem) issues.push({ path: "name", message: nameProblem });
    if (expected !== undefined && !SHA256_HEX.test(expected))
      issues.push({ path: "sha256", message: SHA_MESSAGE });
    if (issues.length > 0) return apiError(c, 400, "invalid artifact upload", issues);
    const length = c.req.header("content-length");
    const declaredSize = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    try {
      const stored = await artifacts.put(c.req.raw.body, {
        name: name as string,
        expectedSha256: expected,
        declaredSize,
      });
      log.info(`artifact ${stored.outcome}`, { ...stored.artifact });
      return c.json(stored, stored.outcome === "created" ? 201 : 200);
    } catch (err) {
      // What the store refuses, as the API says it.
      if (err instanceof ArtifactTooLarge) throw new ApiError(413, err.message);
      if (err instanceof ArtifactHashMismatch)
        throw new ApiError(400, "invalid artifact upload", {
          issues: [{ path: "sha256", message: err.message }],
        });
      if ((err as NodeJS.ErrnoException).code === "ENOSPC") {
        log.error("artifact upload failed: disk full", { dir: artifacts.dir });
        throw new ApiError(507, "no space left for the artifact on the cloud's disk; nothing was stored");
      }
      throw err;
    }
  });

  routes.add(
    {
      method: "get",
      path: "/",
      summary: "List the stored artifacts",
      tag: TAG,
      auth: "admin",
      responses: { 200: `{items: [${artifactInfo}]}` },
    },
    admin,
    (c) => c.json({ items: artifacts.list() }),
  );

  const download = {
    method: "get",
    path: "/:sha",
    summary: "Download an artifact (Range requests, ETag = its sha256)",
    description: "A node may read only the artifacts its current plan mounts.",
    tag: TAG,
    auth: "admin-or-node",
    params: SHA_PARAM,
    responses: {
      200: {
        description: "the bytes",
        body: { contentType: "application/octet-stream", description: "the bytes" },
      },
      206: "the range asked for",
      304: "not modified (If-None-Match)",
      403: "a node asked for an artifact its plan does not mount",
      416: "the range is outside the artifact",
    },
  } as const;
  routes.add(download, readers, (c) => {
    const sha = c.req.param("sha");
    if (!SHA256_HEX.test(sha))
      return apiError(c, 400, `invalid artifact ${JSON.stringify(sha)}: ${SHA_MESSAGE}`);
    const caller = c.get("caller");
    if (caller.kind === "node" && !scope.mayReadArtifact(caller.name, sha)) {
      log.warn("artifact download refused: not in the node's plan", { node: caller.name, sha256: sha });
      return apiError(
        c,
        403,
        `node ${caller.name} may read only the artifacts its plan mounts; ${sha} is not one`,
      );
    }
    const info = artifacts.get(sha);
    const path = artifacts.blobPath(sha);
    const size = info ? blobSize(path) : undefined;
    if (!info || size === undefined) {
      if (info) log.error("artifact file missing", { sha256: sha, path });
      return apiError(
        c,
        404,
        `artifact ${sha} is not stored in the cloud (upload it with levee ctl artifact push)`,
      );
    }
    const etag = `"${sha}"`;
    const headers: Record<string, string> = {
      etag,
      "accept-ranges": "bytes",
      "content-type": "application/octet-stream",
      "cache-control": "private, max-age=31536000, immutable",
    };
    if (noneMatch(c.req.header("if-none-match"), etag)) return new Response(null, { status: 304, headers });
    const answer = selectRange(c.req.header("range"), c.req.header("if-range"), size, etag);
    const range = contentRange(answer, size);
    if (range) headers["content-range"] = range;
    log.debug("artifact download", {
      sha256: sha,
      by: caller.kind === "node" ? caller.name : "admin",
      range: range ?? "all",
    });
    if (answer.kind === "unsatisfiable") {
      return c.json(
        { error: `range ${c.req.header("range")} is outside the artifact's ${size} bytes` },
        416,
        headers,
      );
    }
    const file = Bun.file(path);
    if (answer.kind === "partial") {
      headers["content-length"] = String(answer.end + 1 - answer.start);
      return new Response(file.slice(answer.start, answer.end + 1), { status: 206, headers });
    }
    headers["content-length"] = String(size);
    return new Response(file, { status: 200, headers });
  });

  const remove = {
    method: "delete",
    path: "/:sha",
    summary: "Delete an artifact",
    tag: TAG,
    auth: "admin",
    params: SHA_PARAM,
    responses: {
      200: `{deleted: ${artifactInfo}}`,
      409:
        "a Service mounts it: {error, services}; it holds a container image (levee ctl image rm); " +
        "or it is a binary of a running or paused upgrade rollout (levee ctl upgrade abort)",
    },
  } as const;
  routes.add(remove, admin, (c) => {
    const sha = c.req.param("sha");
    if (!SHA256_HEX.test(sha))
      return apiError(c, 400, `invalid artifact ${JSON.stringify(sha)}: ${SHA_MESSAGE}`);
    const result = artifacts.delete(sha);
    if (result.kind === "not-found") return apiError(c, 404, `artifact ${sha} is not stored in the cloud`);
    if (result.kind === "in-use") {
      const list = `service${result.services.length > 1 ? "s" : ""} ${result.services.join(", ")}`;
      return c.json(
        {
          error: `artifact ${sha} is mounted by ${list}: remove the mount or delete the service first`,
          services: result.services,
        },
        409,
      );
    }
    if (result.kind === "image")
      return apiError(
        c,
        409,
        `artifact ${sha} holds the container image ${result.references.join(", ")}: delete it with levee ctl image rm`,
      );
    if (result.kind === "upgrade") {
      const uses = result.uses.map(
        (u) => `the ${u.target} binary of upgrade rollout ${u.rollout} (${u.state})`,
      );
      return apiError(
        c,
        409,
        `artifact ${sha} is ${uses.join(" and ")}: abort it first with levee ctl upgrade abort`,
      );
    }
    log.info("artifact deleted", { ...result.artifact });
    return c.json({ deleted: result.artifact });
  });
}
