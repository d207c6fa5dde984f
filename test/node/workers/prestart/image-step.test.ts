// The image step with fakes (a driver whose prepareImage records what it is asked, an artifact
// cache that reports progress): a container worker whose image the cloud holds gets it prepared
// with the status saying "pulling image from the cloud: N of M MB"; a fetch failure names the
// image; without a cloud copy, or for an exec worker, nothing happens.
import { describe, expect, test } from "bun:test";
import type { PlannedImage } from "../../../../src/manifest/image-ref.ts";
import { desiredWorker } from "../../../../src/node/workers/desired.ts";
import type { CloudImageOptions, Driver } from "../../../../src/node/workers/drivers/driver.ts";
import { WorkerSpecError } from "../../../../src/node/workers/drivers/driver.ts";
import { imageStep, pullingMessage } from "../../../../src/node/workers/prestart/image-step.ts";
import type { ArtifactSource } from "../../../../src/node/workers/prestart/mount-resolver.ts";
import type { PrestartRequest } from "../../../../src/node/workers/prestart/prestart-step.ts";
import { createLogger } from "../../../../src/runtime/log.ts";
import { template } from "../lifecycle-helpers.ts";

const IMAGE = "repo:5000/dayuhub/cam:v1";
const cloud: PlannedImage = { sha256: "a".repeat(64), size: 200_000_000, id: `sha256:${"b".repeat(64)}` };
const log = createLogger({ level: "error", format: "json", write: () => {} });

function setup(fields: Record<string, unknown>, images: Record<string, PlannedImage> | undefined) {
  const waited: string[] = [];
  const prepared: string[] = [];
  const driver = {
    name: "container",
    async prepareImage(image: string, planned: PlannedImage, options: CloudImageOptions) {
      prepared.push(`${image} ${planned.sha256.slice(0, 4)}`);
      const path = await options.fetch();
      prepared.push(`fetched ${path}`);
      return "loaded";
    },
  } as unknown as Driver;
  const req: PrestartRequest = {
    desired: desiredWorker("cam", 0, 1, template(fields), {}, 0, images),
    instance: "i-1",
    workerDir: "/data/workers/cam/0",
    heldPort: undefined,
    signal: new AbortController().signal,
    waiting: (message) => waited.push(message),
    launch: { mounts: [], mountEnv: {}, port: undefined, env: {} },
  };
  return { req, waited, prepared, driver };
}

describe("imageStep", () => {
  test("fetches the cloud's copy through the artifact cache, with progress in the status", async () => {
    const { req, waited, prepared, driver } = setup(
      { driver: "container", image: IMAGE },
      { [IMAGE]: cloud },
    );
    expect(req.desired.image).toEqual(cloud);
    const artifacts: ArtifactSource = {
      async ensure(ref, options) {
        expect(ref).toEqual({ sha256: cloud.sha256, size: cloud.size });
        options?.onProgress?.({ received: 57_300_000, total: 200_000_000 });
        return `/cache/${ref.sha256}`;
      },
    };
    await imageStep({ driver: () => driver, artifacts, log }).prestart(req);
    expect(prepared).toEqual([`${IMAGE} aaaa`, `fetched /cache/${cloud.sha256}`]);
    expect(waited).toEqual([
      "pulling image from the cloud: 0 of 200 MB",
      "pulling image from the cloud: 57 of 200 MB",
    ]);
  });

  test("a failed fetch is a spec error naming the image", async () => {
    const { req, driver } = setup({ driver: "container", image: IMAGE }, { [IMAGE]: cloud });
    const artifacts: ArtifactSource = {
      ensure: async () => {
        throw new Error("the cloud refused: no such artifact");
      },
    };
    const run = imageStep({ driver: () => driver, artifacts, log }).prestart(req);
    await expect(run).rejects.toBeInstanceOf(WorkerSpecError);
    await expect(run).rejects.toThrow(`image "${IMAGE}": cannot fetch it from the cloud: the cloud refused`);
  });

  test("no cloud copy, another image, or an exec worker: nothing to do", async () => {
    const artifacts: ArtifactSource = {
      ensure: async () => {
        throw new Error("not called");
      },
    };
    for (const [fields, images] of [
      [{ driver: "container", image: IMAGE }, undefined],
      [{ driver: "container", image: "other:1" }, { [IMAGE]: cloud }],
      [{ driver: "exec", command: ["run"] }, { [IMAGE]: cloud }],
    ] as const) {
      const { req, prepared, driver } = setup(fields, images);
      expect(await imageStep({ driver: () => driver, artifacts, log }).prestart(req)).toEqual({});
      expect(prepared).toEqual([]);
    }
  });

  test("the worker carries the plan's image; its specHash does not change with it", () => {
    const { req } = setup({ driver: "container", image: IMAGE }, { [IMAGE]: cloud });
    const without = setup({ driver: "container", image: IMAGE }, undefined).req.desired;
    expect(without.image).toBeUndefined();
    expect(req.desired.specHash).toBe(without.specHash);
  });

  test("the message counts MB as Docker does", () => {
    expect(pullingMessage(57_999_999, 200_000_000)).toBe("pulling image from the cloud: 57 of 200 MB");
    expect(pullingMessage(0, 1000)).toBe("pulling image from the cloud: 0 of 1 MB");
  });
});
