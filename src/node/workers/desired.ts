// What this node should run, derived from its stored plan (pure). One DesiredWorker per
// (service, index), with two hashes that tell the supervisor what a change needs:
//   specHash   everything whose change replaces the worker (template, port, the content of
//              config mounts with changeMode restart (the sha256 of each file, as the plan names
//              it), the artifact of artifact mounts with it);
//   filesHash  the content of mounts with changeMode signal:NAME or none: a change rewrites the
//              files in place and signals (or not) the running worker.
// and the restarts requested for it (the plan's `restart`): another count than the one the
// instance was started for replaces the instance, the spec (and the generation) unchanged.
// A container worker whose image the cloud holds carries it (`image`, from the plan's `images`):
// the image step loads it when this node's Docker lacks it. It is not part of specHash: a new
// push under the same tag reaches the worker at its next start (change the tag to roll it out).

import { canonicalJson, sha256Hex } from "../../manifest/canonical.ts";
import type { PlannedImage } from "../../manifest/image-ref.ts";
import { filesMount, type Mount, mountSource } from "../../manifest/mounts.ts";
import type { NodePlan } from "../../manifest/plan.ts";
import { secretPlanKey } from "../../manifest/secret.ts";
import { type Template, templateSchema } from "../../manifest/template.ts";

export interface DesiredWorker {
  /** "service/index": the worker's identity on this node. */
  key: string;
  service: string;
  index: number;
  generation: number;
  template: Template;
  specHash: string;
  filesHash: string;
  /** How many restarts were requested (the plan's `restart`; 0: none). */
  restartRequest: number;
  /** The configs this worker's mounts read: name → file name → content reference (from the plan). */
  configs: NodePlan["configFiles"];
  /** The cloud's copy of the worker's container image, when it holds one. */
  image?: PlannedImage | undefined;
}

export function workerKey(service: string, index: number): string {
  return `${service}/${index}`;
}

/** The workers of a plan. A template the plan carries but this agent cannot parse is an error entry. */
export function desiredWorkers(plan: NodePlan): { workers: DesiredWorker[]; invalid: InvalidWorker[] } {
  const workers: DesiredWorker[] = [];
  const invalid: InvalidWorker[] = [];
  for (const service of plan.services) {
    for (const worker of service.workers) {
      const parsed = templateSchema.safeParse(worker.template);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        invalid.push({
          service: service.name,
          index: worker.index,
          message: `this agent cannot run the worker's template: ${issue?.path.join(".") || "template"}: ${issue?.message ?? "invalid"} (is the agent older than the cloud?)`,
        });
        continue;
      }
      workers.push(
        desiredWorker(
          service.name,
          worker.index,
          service.generation,
          parsed.data,
          plan.configFiles,
          worker.restart ?? 0,
          plan.images,
        ),
      );
    }
  }
  return { workers, invalid };
}

export interface InvalidWorker {
  service: string;
  index: number;
  message: string;
}

export function desiredWorker(
  service: string,
  index: number,
  generation: number,
  template: Template,
  allConfigs: NodePlan["configFiles"],
  restartRequest = 0,
  images: NodePlan["images"] = undefined,
): DesiredWorker {
  const configs: NodePlan["configFiles"] = {};
  const restartContent: unknown[] = [];
  const liveContent: unknown[] = [];
  const mounts = template.mounts.map((mount, i) => {
    const source = mountSource(mount);
    const live = isLive(mount);
    const shown = filesMount(source);
    if (shown) {
      const files = allConfigs[shown.planName];
      if (files) configs[shown.planName] = files;
      (live ? liveContent : restartContent).push([i, files ?? null]);
      return mount;
    }
    if (source.kind === "artifact" && live) {
      liveContent.push([i, source.artifact.sha256]);
      // The artifact's identity moves to filesHash: a new model is swapped in place.
      const { sha256: _sha, ...rest } = source.artifact;
      return { ...mount, artifact: rest };
    }
    return mount;
  });
  for (const [name, ref] of Object.entries(template.secretEnv ?? {})) {
    const planName = secretPlanKey(ref.secret);
    const files = allConfigs[planName];
    if (files) configs[planName] = files;
    restartContent.push([name, files?.[ref.key] ?? null]);
  }
  const specHash = sha256Hex(canonicalJson({ template: { ...template, mounts }, restartContent }));
  const filesHash = sha256Hex(canonicalJson(liveContent));
  const image =
    template.driver === "container" &&
    template.image !== undefined &&
    images &&
    Object.hasOwn(images, template.image)
      ? images[template.image]
      : undefined;
  return {
    key: workerKey(service, index),
    service,
    index,
    generation,
    template,
    specHash,
    filesHash,
    restartRequest,
    configs,
    ...(image ? { image } : {}),
  };
}

/** Whether a change of this mount's content is applied to the running worker (no restart). */
export function isLive(mount: Mount): boolean {
  return mount.changeMode !== undefined && mount.changeMode !== "restart";
}
