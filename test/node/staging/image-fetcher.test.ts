// Staging's image fetcher: a staged container worker whose image the plan lists as a cloud copy
// becomes one item (once per image, however many workers run it), and fetching it loads the image
// through the driver with the tarball fetched via the artifact cache, its progress reported. An
// image the cloud does not hold, and exec workers, need nothing.
import { describe, expect, test } from "bun:test";
import type { PlannedImage } from "../../../src/manifest/image-ref.ts";
import { fetchItems } from "../../../src/node/staging/fetchables.ts";
import { imageFetcher } from "../../../src/node/staging/image-fetcher.ts";
import type { CloudImageOptions } from "../../../src/node/workers/drivers/driver.ts";

const cloud: PlannedImage = { sha256: "a".repeat(64), size: 200, id: `sha256:${"b".repeat(64)}` };
const images = { "repo:5000/app:v2": cloud };
const container = (image: string) => ({ driver: "container", image, command: ["/app"] });

describe("image fetcher", () => {
  test("one item per cloud image; nothing for images the cloud lacks or exec workers", () => {
    const fetcher = imageFetcher(() => ({}), { ensure: async () => "" });
    const workers = [
      { index: 0, template: container("repo:5000/app:v2") },
      { index: 1, template: container("repo:5000/app:v2") },
      { index: 2, template: container("busybox:latest") },
      { index: 3, template: { command: ["sleep", "1"] } },
    ];
    const found = fetchItems([fetcher], workers, { images });
    expect(found).toEqual({
      items: [{ kind: "image", id: "repo:5000/app:v2", name: "repo:5000/app:v2", size: 200 }],
    });
    expect(fetchItems([fetcher], workers)).toEqual({ items: [] });
  });

  test("fetch loads the image with the tarball from the artifact cache, reporting its bytes", async () => {
    const ensured: unknown[] = [];
    const loads: { image: string; cloud: PlannedImage }[] = [];
    const driver = {
      async prepareImage(image: string, planned: PlannedImage, options: CloudImageOptions) {
        loads.push({ image, cloud: planned });
        await options.fetch();
        return "loaded";
      },
    };
    const fetcher = imageFetcher(() => driver, {
      ensure: async (ref, options) => {
        ensured.push(ref);
        options?.onProgress?.({ sha256: ref.sha256, received: 120, total: 200, attempt: 1 });
        return "/cache/file";
      },
    });
    const [item] = fetcher.items(container("repo:5000/app:v2") as never, { images });
    const progress: [number, number | undefined][] = [];
    await fetcher.fetch(item as never, new AbortController().signal, (r, t) => progress.push([r, t]));
    expect(loads).toEqual([{ image: "repo:5000/app:v2", cloud }]);
    expect(ensured).toEqual([{ sha256: cloud.sha256, size: 200 }]);
    expect(progress).toEqual([[120, 200]]);
  });
});
