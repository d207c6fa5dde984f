// `levee ctl image push IMAGE|TARBALL | ls | rm REFERENCE`: container images kept by the cloud
// as artifacts, so that nodes load them into their Docker without a registry (air-gapped ones
// too). push streams a `docker save` tarball file, or the image saved from the operator's Docker
// (its API on the local socket: $DOCKER_HOST when unix://, else /var/run/docker.sock), to the cloud:
// never whole in memory. The cloud reads the image's references and ID from the tarball.
import { statSync } from "node:fs";
import { basename } from "node:path";
import type { ImageInfo } from "../../cloud/image-store.ts";
import { DEFAULT_DOCKER_SOCKET, DockerClient } from "../../node/workers/drivers/docker-client.ts";
import { saveImage } from "../../node/workers/drivers/docker-images.ts";
import { UsageError } from "../../runtime/errors.ts";
import { formatSize, printItems, pushListRemove } from "./artifact.ts";
import { CtlFailure } from "./client.ts";
import { type CtlContext, takeArgs } from "./context.ts";
import { age, toJson, toYaml } from "./format.ts";

interface PushAnswer {
  outcome: "created" | "unchanged";
  artifact: { sha256: string; name: string; size: number };
  images: ImageInfo[];
}

export function image(ctx: CtlContext): Promise<number> {
  return pushListRemove(ctx, "image", { push, list, remove });
}

/** The operator's Docker socket: $DOCKER_HOST when it is unix://PATH, else the default. */
export function dockerSocket(env: Record<string, string | undefined>): string {
  const host = env.DOCKER_HOST;
  if (host?.startsWith("unix://")) return host.slice("unix://".length);
  if (host) throw new UsageError(`DOCKER_HOST=${host}: only a unix:// socket is supported`);
  return DEFAULT_DOCKER_SOCKET;
}

/** A file name for the tarball of an image: repo:5000/x/cam:v1 → repo_5000_x_cam_v1.tar */
export function tarballName(reference: string): string {
  const base = reference
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._-]+/, "")
    .slice(0, 200);
  return `${base || "image"}.tar`;
}

async function push(ctx: CtlContext, args: string[]): Promise<number> {
  const [source] = takeArgs(args, 1);
  if (source === undefined)
    throw new UsageError("missing IMAGE or TARBALL: levee ctl image push IMAGE|TARBALL");
  let body: { text: ReadableStream<Uint8Array>; contentType: string; length?: number };
  let name: string;
  const size = fileSize(source);
  if (size !== undefined) {
    body = { text: Bun.file(source).stream(), contentType: "application/x-tar", length: size };
    name = tarballName(basename(source).replace(/\.tar$/, ""));
  } else {
    const client = new DockerClient({ socket: dockerSocket(process.env) });
    const found = await client.inspectImage(source);
    if (!found)
      throw new CtlFailure(
        `${source} is neither a file nor an image in the local Docker (unix://${client.socket})`,
      );
    body = { text: await saveImage(client, source), contentType: "application/x-tar" };
    name = tarballName(source);
  }
  const answer = await ctx
    .client()
    .request<PushAnswer>(
      "POST",
      `/images?name=${encodeURIComponent(name)}`,
      body,
      new AbortController().signal,
    );
  const { output } = ctx.options;
  if (output === "json") ctx.out(toJson(answer));
  else if (output === "yaml") ctx.out(toYaml(answer));
  else {
    const refs = answer.images.map((i) => `  ${i.reference}`).join("\n");
    ctx.out(
      `image ${answer.outcome} (${formatSize(answer.artifact.size)}, artifact ${answer.artifact.sha256}); ` +
        `nodes that run it load it from the cloud:\n${refs}\n`,
    );
  }
  return 0;
}

function fileSize(path: string): number | undefined {
  try {
    const stat = statSync(path);
    return stat.isFile() ? stat.size : undefined;
  } catch {
    return undefined;
  }
}

async function list(ctx: CtlContext, args: string[]): Promise<number> {
  takeArgs(args, 0);
  const answer = await ctx.client().request<{ items: ImageInfo[] }>("GET", "/images");
  return printItems(ctx, answer, "No images.", IMAGE_HEADERS, imageRows);
}

async function remove(ctx: CtlContext, args: string[]): Promise<number> {
  const [reference] = takeArgs(args, 1);
  if (reference === undefined) throw new UsageError("missing REFERENCE: levee ctl image rm REPO:TAG|ID");
  const answer = await ctx
    .client()
    .request<{ deleted: ImageInfo[]; artifactDeleted: boolean }>(
      "DELETE",
      `/images?reference=${encodeURIComponent(reference)}`,
    );
  const { output } = ctx.options;
  if (output === "json") ctx.out(toJson(answer));
  else if (output === "yaml") ctx.out(toYaml(answer));
  else
    ctx.out(
      `image deleted: ${answer.deleted.map((i) => i.reference).join(", ")}` +
        `${answer.artifactDeleted ? " (and its artifact)" : ""}\n`,
    );
  return 0;
}

export const IMAGE_HEADERS = ["REFERENCE", "IMAGE ID", "SIZE", "ARTIFACT", "AGE"];

export function imageRows(items: readonly ImageInfo[], now: number): string[][] {
  return items.map((i) => [
    i.reference,
    i.id.slice("sha256:".length, "sha256:".length + 12),
    formatSize(i.size),
    i.sha256.slice(0, 12),
    age(i.createdAt, now),
  ]);
}
