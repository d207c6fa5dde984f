// Staging's fetcher for container images the cloud holds (levee ctl image push): a staged
// generation whose template names such an image gets it fetched (through the node's artifact
// cache: resumed, verified, under the node's download cap) and loaded into Docker while the old
// workers keep running, so that the switch starts the new containers without a transfer. The load
// goes through the driver the workers' prestart image step uses (one load per image at a time).
import type { PlannedImage } from "../../manifest/image-ref.ts";
import type { ArtifactCache } from "../artifacts/artifact-cache.ts";
import type { Driver } from "../workers/drivers/driver.ts";
import type { Fetcher } from "./fetchables.ts";

export function imageFetcher(
  driver: () => Pick<Driver, "prepareImage">,
  cache: Pick<ArtifactCache, "ensure">,
): Fetcher {
  /** The cloud's copy of each image, as the latest plan that listed it says (items() runs first). */
  const planned = new Map<string, PlannedImage>();
  return {
    kind: "image",
    items(template, { images }) {
      if (template.driver !== "container" || template.image === undefined) return [];
      const cloud = images[template.image];
      if (!cloud) return [];
      planned.set(template.image, cloud);
      return [{ kind: "image", id: template.image, name: template.image, size: cloud.size }];
    },
    async fetch(item, signal, progress) {
      const container = driver();
      const cloud = planned.get(item.id);
      if (!container.prepareImage || !cloud) return;
      await container.prepareImage(item.id, cloud, {
        fetch: () =>
          cache.ensure(
            { sha256: cloud.sha256, size: cloud.size },
            { signal, onProgress: (p) => progress(p.received, p.total) },
          ),
        say: () => {},
      });
    },
  };
}
