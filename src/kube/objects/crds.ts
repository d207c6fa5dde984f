// apiextensions.k8s.io/v1 CustomResourceDefinitions of the Sedna kinds levee serves, as dayu-sedna
// defines them (build/crds/): group sedna.io, version v1alpha1, namespaced, status subresource.
// Dayu's backend looks a kind's plural up here before it creates an object. Pure, constant.
import { stableUid } from "../names.ts";
import { withContentVersion } from "./meta.ts";

export interface SednaKind {
  kind: "JointMultiEdgeService" | "RuntimeService";
  plural: string;
  singular: string;
  shortNames: string[];
}

export const SEDNA_GROUP = "sedna.io";
export const SEDNA_VERSION = "v1alpha1";

export const SEDNA_KINDS: readonly SednaKind[] = [
  {
    kind: "JointMultiEdgeService",
    plural: "jointmultiedgeservices",
    singular: "jointmultiedgeservice",
    shortNames: ["mulji", "jmes"],
  },
  { kind: "RuntimeService", plural: "runtimeservices", singular: "runtimeservice", shortNames: ["rts"] },
];

/** When levee's CRDs came to be (they never change): a fixed timestamp. */
const CREATED = "2026-01-01T00:00:00Z";

export function crdObject(k: SednaKind) {
  const name = `${k.plural}.${SEDNA_GROUP}`;
  return withContentVersion({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name, uid: stableUid("crd", name), creationTimestamp: CREATED, generation: 1 },
    spec: {
      group: SEDNA_GROUP,
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.singular,
        shortNames: k.shortNames,
      },
      scope: "Namespaced",
      versions: [
        {
          name: SEDNA_VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
          subresources: { status: {} },
        },
      ],
    },
    status: {
      acceptedNames: { kind: k.kind, plural: k.plural },
      storedVersions: [SEDNA_VERSION],
      conditions: [
        { type: "Established", status: "True", reason: "InitialNamesAccepted", message: "served by levee" },
      ],
    },
  });
}
