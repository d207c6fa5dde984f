// Dayu's kinds as manifest kinds (the extension point of src/manifest/kinds.ts): a document with
// apiVersion sedna.io/v1alpha1 is validated by its schema, and then translated once without
// context, so that every mistake (a missing nodeName, a PVC mount, an unknown pos) is reported with
// its document and path like any other manifest mistake. The object stays a Dayu object: the cloud
// translates it again inside the apply transaction, with the stored ImageMaps and its ports.
import type { z } from "zod";
import type { DayuResource } from "./sedna-schema.ts";
import { jmesSchema, runtimeServiceSchema, SEDNA_API_VERSION } from "./sedna-schema.ts";
import { CHECK_CONTEXT, translateDayu } from "./translate.ts";

function checked<T extends z.ZodType<DayuResource>>(schema: T) {
  return schema.superRefine((object, ctx) => {
    for (const issue of translateDayu(object, CHECK_CONTEXT).rawIssues) {
      ctx.addIssue({ code: "custom", message: issue.message, path: [...issue.path] });
    }
  });
}

export const dayuManifestKinds = [
  {
    apiVersion: SEDNA_API_VERSION,
    kind: "JointMultiEdgeService",
    schema: checked(jmesSchema),
    toResources: (parsed: unknown) => [parsed as DayuResource],
  },
  {
    apiVersion: SEDNA_API_VERSION,
    kind: "RuntimeService",
    schema: checked(runtimeServiceSchema),
    toResources: (parsed: unknown) => [parsed as DayuResource],
  },
] as const;
