// /api/v1/images: container images stored as artifacts (levee ctl image push).
//   POST   /images?name=NAME          admin: a `docker save` tarball as the body (streamed, at most
//                                     --artifact-max-size); records each image's references and ID
//   GET    /images                    admin: list (one row per reference)
//   DELETE /images?reference=REF      admin: the image (every reference of its ID) and, once unused,
//                                     its artifact; 409 while a Service runs it
// After a push or a delete every node is re-planned: a node whose container workers run one of the
// images gets (or loses) it in its plan. Nodes download the tarball through /artifacts/SHA.
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { fileNameProblem } from "../../manifest/fields.ts";
import type { Logger } from "../../runtime/log.ts";
import { ApiError } from "../api-error.ts";
import { ArtifactTooLarge } from "../artifact-store.ts";
import { type ImageStore, NotAnImageTarball } from "../image-store.ts";
import { apiError } from "./errors.ts";
import type { ApiRoutes } from "./route-registry.ts";

export interface ImageRouteDeps {
  images: ImageStore;
  log: Logger;
  admin: MiddlewareHandler;
  /** Re-plans every node after the images changed. */
  replan(reason: string): void;
}

const TAG = "artifacts";
const imageInfo = "{reference, id, sha256, size, createdAt}";

export function mountImageRoutes(api: ApiRoutes, deps: ImageRouteDeps): void {
  const { images, log, admin, replan } = deps;
  const routes = api.under("/images");

  const push = {
    method: "post",
    path: "/",
    summary: "Store a container image: a `docker save` tarball (streamed; at most --artifact-max-size bytes)",
    tag: TAG,
    auth: "admin",
    query: z.object({ name: z.string().optional().describe("the tarball's file name (default image.tar)") }),
    body: { contentType: "application/x-tar", description: "the output of docker save" },
    responses: {
      201: { description: `stored: {outcome: "created", artifact, images: [${imageInfo}]}` },
      200: { description: `the same tarball was stored before: {outcome: "unchanged", artifact, images}` },
    },
  } as const;
  routes.add(push, admin, async (c) => {
    const name = c.req.query("name") ?? "image.tar";
    const problem = fileNameProblem(name);
    if (problem) return apiError(c, 400, "invalid image upload", [{ path: "name", message: problem }]);
    const length = c.req.header("content-length");
    const declaredSize = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    try {
      const pushed = await images.push(c.req.raw.body, { name, declaredSize });
      log.info(`image ${pushed.outcome}`, {
        sha256: pushed.artifact.sha256,
        size: pushed.artifact.size,
        references: pushed.images.map((i) => i.reference),
      });
      replan("image pushed");
      return c.json(pushed, pushed.outcome === "created" ? 201 : 200);
    } catch (err) {
      if (err instanceof ArtifactTooLarge) throw new ApiError(413, err.message);
      if (err instanceof NotAnImageTarball)
        throw new ApiError(400, "invalid image upload", { issues: [{ path: "body", message: err.message }] });
      if ((err as NodeJS.ErrnoException).code === "ENOSPC")
        throw new ApiError(507, "no space left for the image on the cloud's disk; nothing was stored");
      throw err;
    }
  });

  routes.add(
    {
      method: "get",
      path: "/",
      summary: "List the stored container images (one item per reference)",
      tag: TAG,
      auth: "admin",
      responses: { 200: `{items: [${imageInfo}]}` },
    },
    admin,
    (c) => c.json({ items: images.list() }),
  );

  const remove = {
    method: "delete",
    path: "/",
    summary: "Delete a container image (every reference of its ID) and, once unused, its artifact",
    tag: TAG,
    auth: "admin",
    query: z.object({ reference: z.string().describe("repo:tag or the image ID (sha256:...)") }),
    responses: {
      200: `{deleted: [${imageInfo}], artifactDeleted}`,
      409: "a Service runs it: {error, services}",
    },
  } as const;
  routes.add(remove, admin, (c) => {
    const reference = c.req.query("reference");
    if (!reference) return apiError(c, 400, "required: ?reference=REPO:TAG or an image ID");
    const result = images.delete(reference);
    if (result.kind === "not-found") return apiError(c, 404, `image ${reference} is not stored in the cloud`);
    if (result.kind === "in-use") {
      const list = `service${result.services.length > 1 ? "s" : ""} ${result.services.join(", ")}`;
      return c.json(
        {
          error: `image ${reference} is run by ${list}: change their image or delete them first`,
          services: result.services,
        },
        409,
      );
    }
    log.info("image deleted", { references: result.images.map((i) => i.reference) });
    replan("image deleted");
    return c.json({ deleted: result.images, artifactDeleted: result.artifactDeleted });
  });
}
