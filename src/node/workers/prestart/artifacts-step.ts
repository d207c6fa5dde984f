// Prestart step 3: the artifacts the worker's mounts name are in this node's cache (downloaded
// and verified by sha256 if needed, while the worker's status says "fetching artifacts"). A
// download a removal or a newer spec makes pointless is aborted. The mounts step then links the
// cached blobs into the worker's mount directories.
import { mountSource } from "../../../manifest/mounts.ts";
import { type ArtifactSource, ensureArtifact, hasArtifacts } from "./mount-resolver.ts";
import type { PrestartStep } from "./prestart-step.ts";

export function artifactsStep(artifacts: ArtifactSource | undefined): PrestartStep {
  return {
    name: "artifacts",
    async prestart({ desired, signal, waiting }) {
      const { template } = desired;
      if (!hasArtifacts(template)) return {};
      waiting("fetching artifacts");
      // Without a cache the mounts step refuses the mount, naming it.
      if (!artifacts) return {};
      for (const [i, mount] of template.mounts.entries()) {
        const from = mountSource(mount);
        if (from.kind === "artifact") await ensureArtifact(artifacts, from.artifact, `mounts[${i}]`, signal);
      }
      return {};
    },
  };
}
