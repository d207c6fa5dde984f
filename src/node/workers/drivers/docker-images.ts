// Images in and out of a Docker daemon through its API (no docker CLI): the runtimes it has (GET
// /info), an image saved as a tarball stream (GET /images/NAME/get, for levee ctl image push), a
// tarball loaded (POST /images/load, streamed from a file) and tagged. loadCloudImage() is what a
// node does before a container worker starts whose image the cloud holds: nothing when Docker has
// that image (same ID), else fetch the tarball (the caller's, through the artifact cache), load it,
// tag it if the tarball did not carry the worker's reference, and check it is there.

import type { PlannedImage } from "../../../manifest/image-ref.ts";
import { normalizeImageReference, splitRepoTag } from "../../../manifest/image-ref.ts";
import type { DockerClient } from "./docker-client.ts";
import { type CloudImageOptions, WorkerSpecError } from "./driver.ts";

/** Docker's answer to a load is a few lines of JSON; more than this is not read. */
const MAX_LOAD_ANSWER = 1024 * 1024;

/** The names of the runtimes this daemon has (runc, nvidia, ...). */
export async function dockerRuntimes(client: DockerClient): Promise<string[]> {
  const response = await client.call("/info");
  const info = (await response.json()) as { Runtimes?: Record<string, unknown> | null };
  return Object.keys(info.Runtimes ?? {});
}

/** `docker save IMAGE` as a stream of tar bytes. */
export async function saveImage(client: DockerClient, image: string): Promise<ReadableStream<Uint8Array>> {
  const response = await client.call(`/images/${encodeURIComponent(image)}/get`, { idleTimeout: false });
  if (!response.body) throw new Error(`Docker sent no bytes for docker save ${image}`);
  return response.body;
}

export interface LoadAnswer {
  /** "Loaded image: x:1" and "Loaded image ID: sha256:..." lines, as references / IDs. */
  loaded: string[];
  error?: string | undefined;
}

/** The JSON lines of POST /images/load's answer. */
export function parseLoadAnswer(text: string): LoadAnswer {
  const loaded: string[] = [];
  let error: string | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let entry: { stream?: unknown; error?: unknown; errorDetail?: { message?: unknown } };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    const message = entry.errorDetail?.message ?? entry.error;
    if (typeof message === "string") error ??= message;
    if (typeof entry.stream === "string") {
      const m = /^Loaded image(?: ID)?: (\S+)/.exec(entry.stream.trim());
      if (m?.[1]) loaded.push(m[1]);
    }
  }
  return { loaded, ...(error !== undefined ? { error } : {}) };
}

/** Loads a tarball (a Blob: a file, streamed by the runtime) into the daemon. */
export async function loadImage(client: DockerClient, tarball: Blob): Promise<LoadAnswer> {
  const response = await client.call("/images/load?quiet=1", {
    method: "POST",
    raw: { body: tarball, contentType: "application/x-tar" },
    idleTimeout: false,
  });
  const text = await response.text();
  return parseLoadAnswer(text.slice(0, MAX_LOAD_ANSWER));
}

/** Tags an image (by ID) with a reference (repo:tag; no tag: latest). */
export async function tagImage(client: DockerClient, id: string, reference: string): Promise<void> {
  const { repo, tag } = splitRepoTag(reference);
  const query = new URLSearchParams({ repo, tag: tag ?? "latest" });
  const response = await client.call(`/images/${encodeURIComponent(id)}/tag?${query}`, { method: "POST" });
  await response.arrayBuffer();
}

/** How loadCloudImage loads a tarball, and what it knows from loads before. */
export interface LoadHow {
  load?: ((tarball: string) => Promise<LoadAnswer>) | undefined;
  /**
   * The ID Docker gave this artifact's image when it was loaded before: with Docker's containerd
   * image store the ID is the manifest's digest, not the config's that the tarball names.
   */
  loadedAs?: string | undefined;
}

export type CloudImageOutcome = { outcome: "present" | "tagged" | "loaded"; id: string };

/**
 * Makes `image` present in the daemon from the cloud's copy: "present" when it already has it
 * (same ID), "tagged" when only the reference was missing, "loaded" after a load; with the ID
 * Docker has for it. A WorkerSpecError names the image and the cause when the tarball does not give it.
 */
export async function loadCloudImage(
  client: DockerClient,
  image: string,
  cloud: PlannedImage,
  options: CloudImageOptions,
  how: LoadHow = {},
): Promise<CloudImageOutcome> {
  const load = how.load ?? ((tarball: string) => loadImage(client, Bun.file(tarball)));
  const have = await client.inspectImage(image);
  if (have && (have.Id === cloud.id || have.Id === how.loadedAs)) return { outcome: "present", id: have.Id };
  if (!have && (await client.inspectImage(cloud.id)) && !image.includes("@")) {
    await tagImage(client, cloud.id, image);
    return { outcome: "tagged", id: cloud.id };
  }
  const path = await options.fetch();
  options.say(`loading image ${image} into docker`);
  const answer = await load(path);
  const from = `the cloud's copy (artifact ${cloud.sha256})`;
  if (answer.error)
    throw new WorkerSpecError(`image "${image}": docker could not load ${from}: ${answer.error}`);
  let after = await client.inspectImage(image);
  if (after?.Id !== cloud.id && (await client.inspectImage(cloud.id)) && !image.includes("@")) {
    await tagImage(client, cloud.id, image);
    after = await client.inspectImage(image);
  }
  const named = answer.loaded.some((ref) => normalizeImageReference(ref) === normalizeImageReference(image));
  if (!after || (after.Id !== cloud.id && !named)) {
    const held = answer.loaded.length > 0 ? answer.loaded.join(", ") : "nothing docker reported";
    const found = after ? `it is image ${after.Id}, not ${cloud.id}` : "docker has no such image";
    throw new WorkerSpecError(`image "${image}": loaded ${from}, but ${found} (the tarball held: ${held})`);
  }
  return { outcome: "loaded", id: after.Id };
}
