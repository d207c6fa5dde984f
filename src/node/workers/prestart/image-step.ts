// Prestart step 4: a container worker whose image the cloud holds (the plan's `images`, levee ctl
// image push) has it in this node's Docker before it starts: when Docker lacks it (or has another
// image under that name), the tarball is fetched through the node's artifact cache (resumed,
// verified by sha256, shared by the workers that need it) and loaded; meanwhile the worker's status
// says "pulling image from the cloud: 57 of 200 MB". A failure names the image and the cause.
// Without a cloud copy nothing happens here: the driver then says the image is missing.
import { describeError } from "../../../runtime/errors.ts";
import { WorkerSpecError } from "../drivers/driver.ts";
import type { WorkerDeps } from "../worker-deps.ts";
import type { ArtifactProgress } from "./mount-resolver.ts";
import type { PrestartStep } from "./prestart-step.ts";

/** The status is updated at most this often while bytes flow. */
const PROGRESS_EVERY_MS = 1000;

export function imageStep(deps: Pick<WorkerDeps, "driver" | "artifacts" | "log">): PrestartStep {
  return {
    name: "image",
    async prestart({ desired, signal, waiting }) {
      const { template, image: cloud } = desired;
      if (template.driver !== "container" || template.image === undefined || !cloud) return {};
      const driver = deps.driver("container");
      const artifacts = deps.artifacts;
      if (!driver.prepareImage || !artifacts) return {};
      const image = template.image;
      let last = 0;
      const onProgress = (progress: ArtifactProgress) => {
        const now = Date.now();
        if (now - last < PROGRESS_EVERY_MS) return;
        last = now;
        waiting(pullingMessage(progress.received, progress.total ?? cloud.size));
      };
      const fetch = async () => {
        waiting(pullingMessage(0, cloud.size));
        try {
          return await artifacts.ensure({ sha256: cloud.sha256, size: cloud.size }, { signal, onProgress });
        } catch (err) {
          if (signal.aborted) throw err;
          throw new WorkerSpecError(
            `image "${image}": cannot fetch it from the cloud: ${describeError(err)}`,
          );
        }
      };
      const done = await driver.prepareImage(image, cloud, { fetch, say: waiting });
      if (done !== "present") deps.log.info(`image ${done} from the cloud`, { image, sha256: cloud.sha256 });
      return {};
    },
  };
}

/** "pulling image from the cloud: 57 of 200 MB" (MB: 10^6 bytes, as Docker counts). */
export function pullingMessage(received: number, total: number): string {
  const mb = (n: number) => Math.floor(n / 1e6);
  return `pulling image from the cloud: ${mb(received)} of ${Math.max(1, Math.ceil(total / 1e6))} MB`;
}
