// The ImageMap kind: how container images of Dayu manifests run on a box without Docker. Each rule
// maps one image (exact) or every image starting with a prefix to a local program; translation of
// JointMultiEdgeService and RuntimeService objects then makes those containers exec workers. It is a
// resource (applied, listed and deleted like the rest, stored in the cloud's SQLite, atomic with the
// manifests that need it) rather than a file named in the cloud's configuration: changing it needs
// no restart, `levee ctl convert` can take it from the same file, and every Dayu object is
// translated again when it changes.
//
//   apiVersion: levee/v1
//   kind: ImageMap
//   metadata: { name: dev-box }
//   spec:
//     images:
//       - imagePrefix: "repo:5000/dayuhub/processor:"   # every tag
//         command: [python3, processor.py]
//         workingDir: /opt/dayu/processor
//         env: { PYTHONPATH: /opt/dayu/dependency }
//       - image: repo:5000/dayuhub/controller:v1.3      # exactly this image
//         command: [python3, controller.py]
//
// An exact rule beats a prefix; among prefixes the longest wins. The same image or prefix in two
// ImageMaps is refused at apply (which one would run is not a guess levee makes).
import { z } from "zod";
import { commandSchema, envSchema, processString } from "../fields.ts";
import { exactlyOne, strict } from "../issues.ts";
import { resourceSchema } from "../meta.ts";

const imageRef = z.string().regex(/^[^\s]+$/, "expected an image reference without spaces");

const ruleSchema = strict({
  image: imageRef
    .optional()
    .meta({ description: "this image exactly, e.g. repo:5000/dayuhub/controller:v1.3" }),
  imagePrefix: imageRef
    .optional()
    .meta({ description: 'every image that starts with this, e.g. "repo:5000/dayuhub/processor:"' }),
  command: commandSchema.meta({ description: "the program that stands for the image's entrypoint" }),
  args: z
    .array(processString)
    .optional()
    .meta({ description: "arguments that stand for the image's command (replaced by the container's args)" }),
  workingDir: processString
    .min(1)
    .optional()
    .meta({ description: "working directory of the process; default: the worker's own directory" }),
  env: envSchema.optional().meta({ description: "variables the container's own env may override" }),
}).superRefine(exactlyOne(["image", "imagePrefix"], "rule"));

export const imageMapSpecSchema = strict({
  images: z.array(ruleSchema).min(1, "must have at least one rule"),
}).superRefine((spec, ctx) => {
  const seen = new Map<string, number>();
  spec.images.forEach((rule, i) => {
    const key = ruleKey(rule);
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else
      ctx.addIssue({
        code: "custom",
        message: `${describeRule(rule)} is already mapped by images[${first}]`,
        path: ["images", i],
      });
  });
});

export const imageMapSchema = resourceSchema("ImageMap", { spec: imageMapSpecSchema });

export type ImageRule = z.output<typeof ruleSchema>;
export type ImageMapResource = z.output<typeof imageMapSchema>;

/** A rule with the ImageMap it comes from (for messages). */
export interface SourcedRule extends ImageRule {
  from: string;
}

function ruleKey(rule: ImageRule): string {
  return rule.image !== undefined ? `=${rule.image}` : `^${rule.imagePrefix}`;
}

export function describeRule(rule: ImageRule): string {
  return rule.image !== undefined ? `image ${rule.image}` : `image prefix ${rule.imagePrefix}`;
}

/** The rules of several ImageMaps, or the first image or prefix that two of them map. */
export function mergeImageMaps(
  maps: readonly { name: string; spec: { images: readonly ImageRule[] } }[],
): { ok: true; rules: SourcedRule[] } | { ok: false; message: string; map: string } {
  const owner = new Map<string, string>();
  const rules: SourcedRule[] = [];
  for (const map of [...maps].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const rule of map.spec.images) {
      const key = ruleKey(rule);
      const other = owner.get(key);
      if (other !== undefined && other !== map.name) {
        return {
          ok: false,
          map: map.name,
          message: `${describeRule(rule)} is mapped by ImageMap ${other} and ImageMap ${map.name}: keep it in one`,
        };
      }
      owner.set(key, map.name);
      rules.push({ ...rule, from: map.name });
    }
  }
  return { ok: true, rules };
}

/** The rule for an image: exact match first, then the longest prefix. */
export function matchImage(rules: readonly SourcedRule[], image: string): SourcedRule | undefined {
  const exact = rules.find((rule) => rule.image === image);
  if (exact) return exact;
  let best: SourcedRule | undefined;
  for (const rule of rules) {
    const prefix = rule.imagePrefix;
    if (prefix === undefined || !image.startsWith(prefix)) continue;
    if (!best || prefix.length > (best.imagePrefix?.length ?? 0)) best = rule;
  }
  return best;
}
