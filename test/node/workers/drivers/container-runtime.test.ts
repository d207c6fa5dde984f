// Runtimes and images against the real dockerd: a worker asking for a runtime this Docker lacks
// fails before anything is created, with a message naming the node, the runtime and the runtimes
// it has; the cloud's copy of an image (a `docker save` tarball) is loaded, tagged when the
// tarball did not carry the worker's reference, and found present the next time; a tarball that
// names the reference counts as loaded whatever ID Docker gives it (containerd image store), and
// that ID is then known as present.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  dockerRuntimes,
  loadCloudImage,
  saveImage,
} from "../../../../src/node/workers/drivers/docker-images.ts";
import { WorkerSpecError } from "../../../../src/node/workers/drivers/driver.ts";
import { dockerSkipReason } from "../../../harness/docker.ts";
import { containerFixture, testInstanceKey } from "../../../harness/docker-fixture.ts";

const skip = await dockerSkipReason();
if (skip) console.warn(`skipping the container runtime tests: ${skip}`);

describe.skipIf(skip !== undefined)("container driver: runtimes and cloud images", () => {
  const f = containerFixture("runtime");
  const dir = mkdtempSync(join(tmpdir(), "levee-image-"));
  const tag = `levee-test/loaded:${process.pid}-${Date.now()}`;
  beforeAll(() => f.setup(), 120_000);
  afterAll(async () => {
    await f.docker.cli(["rmi", "-f", tag]);
    rmSync(dir, { recursive: true, force: true });
    await f.cleanup();
  });

  test("a runtime Docker lacks: the worker's spec error names node, runtime and what it has", async () => {
    const runtimes = await dockerRuntimes(f.docker.client);
    expect(runtimes).toContain("runc");
    const spec = f.launch(
      { runtime: "nvidia", command: ["true"] },
      { key: testInstanceKey({ node: "edge1" }) },
    );
    const start = f.driver.start(spec);
    await expect(start).rejects.toBeInstanceOf(WorkerSpecError);
    await expect(start).rejects.toThrow(
      `docker on edge1 has no runtime "nvidia" (it has: ${[...runtimes].sort().join(", ")})`,
    );
  });

  test("a saved image loaded from its tarball and tagged with the worker's reference", async () => {
    const tarball = join(dir, "image.tar");
    const stream = await saveImage(f.docker.client, f.docker.image);
    writeFileSync(tarball, new Uint8Array(await new Response(stream).arrayBuffer()));
    const id = (await f.docker.client.inspectImage(f.docker.image))?.Id as string;
    const cloud = { sha256: "e".repeat(64), size: 1, id };
    const said: string[] = [];
    let fetched = 0;
    const options = {
      fetch: async () => {
        fetched++;
        return tarball;
      },
      say: (m: string) => said.push(m),
    };
    // The ID is here already (the test image): only the reference is missing, so it is tagged.
    expect(await loadCloudImage(f.docker.client, tag, cloud, options)).toEqual({ outcome: "tagged", id });
    expect(await loadCloudImage(f.docker.client, tag, cloud, options)).toEqual({ outcome: "present", id });
    expect(fetched).toBe(0);
    // Another image under that tag: the cloud's copy wins (loaded, then tagged again).
    await f.docker.cli(["rmi", tag]);
    const other = { ...cloud, id: `sha256:${"f".repeat(64)}` };
    await f.docker.cli(["tag", f.docker.image, tag]);
    const failed = loadCloudImage(f.docker.client, tag, other, options);
    await expect(failed).rejects.toThrow(
      `image "${tag}": loaded the cloud's copy (artifact ${"e".repeat(64)})`,
    );
    expect(fetched).toBe(1);
    expect(said).toEqual([`loading image ${tag} into docker`]);
    // Loaded, and the tarball names the reference: Docker's own ID (containerd image store) is kept.
    const named = { ...other, id: `sha256:${"9".repeat(64)}` };
    const loaded = await loadCloudImage(f.docker.client, f.docker.image, named, options);
    expect(loaded).toEqual({ outcome: "loaded", id });
    const known = { loadedAs: id };
    expect(await loadCloudImage(f.docker.client, f.docker.image, named, options, known)).toEqual({
      outcome: "present",
      id,
    });
    expect(fetched).toBe(2);
  });
});
