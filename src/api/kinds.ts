// The registry of kinds. `kinds` are the native resources the API stores and serves (with their
// URL plural); `manifestKinds` are what a manifest may contain. Today they are the same three.
//
// Extension point: Dayu's manifests (apiVersion sedna.io/v1alpha1, kinds JointMultiEdgeService
// and RuntimeService) will be accepted by adding ManifestKind entries whose toResources()
// translates a validated foreign object into native objects (a Service, Configs). Nothing else in
// the parser changes: errors, duplicates and documents work the same for them.
import type { z } from "zod";
import { type ConfigResource, configSchema } from "./config.ts";
import { API_VERSION } from "./meta.ts";
import { type NodeResource, nodeSchema } from "./node.ts";
import { type ServiceResource, serviceSchema } from "./service.ts";

/** Any native object, discriminated by kind. */
export type Resource = ServiceResource | ConfigResource | NodeResource;
export type ResourceKind = Resource["kind"];

export interface KindInfo<K extends ResourceKind = ResourceKind> {
  apiVersion: typeof API_VERSION;
  kind: K;
  /** The name in URLs: /api/v1/services. */
  plural: string;
  schema: z.ZodType<Extract<Resource, { kind: K }>, unknown>;
  /** Whether users may delete it through the API (nodes go away by leaving, not by delete). */
  deletable: boolean;
}

export const kinds: { readonly [K in ResourceKind]: KindInfo<K> } = {
  Service: {
    apiVersion: API_VERSION,
    kind: "Service",
    plural: "services",
    schema: serviceSchema,
    deletable: true,
  },
  Config: {
    apiVersion: API_VERSION,
    kind: "Config",
    plural: "configs",
    schema: configSchema,
    deletable: true,
  },
  // Deleting a node forgets its identity (it must join again) and removes it from every plan.
  Node: { apiVersion: API_VERSION, kind: "Node", plural: "nodes", schema: nodeSchema, deletable: true },
};

/** The registry entry of any kind (a union, so that `schema` stays tied to `kind`). */
export type AnyKindInfo = { [K in ResourceKind]: KindInfo<K> }[ResourceKind];

export const kindList: readonly AnyKindInfo[] = Object.values(kinds);

/** Looks a kind up by name or plural, any case: "Service", "service", "services". */
export function kindInfo(name: string): AnyKindInfo | undefined {
  const wanted = name.toLowerCase();
  return kindList.find((info) => info.kind.toLowerCase() === wanted || info.plural === wanted);
}

/** A kind a manifest may contain, and how it becomes native objects. */
export interface ManifestKind {
  apiVersion: string;
  kind: string;
  schema: z.ZodType;
  /** The native objects a validated document stands for (a native kind: itself). */
  toResources: (parsed: unknown) => Resource[];
}

function native(info: AnyKindInfo): ManifestKind {
  return {
    apiVersion: info.apiVersion,
    kind: info.kind,
    schema: info.schema,
    toResources: (parsed) => [parsed as Resource],
  };
}

export const manifestKinds: readonly ManifestKind[] = [
  ...kindList.map(native),
  // Dayu (sedna.io/v1alpha1 JointMultiEdgeService, RuntimeService): added here by a later issue.
];

/**
 * The part of an object that the store keeps as its spec (what apply compares and generation
 * counts): a Service's spec, a Config's files ({data, binaryData}, top-level fields in the
 * manifest, like a ConfigMap), nothing for a Node (its labels are metadata).
 */
export function specOf(object: Resource): Record<string, unknown> {
  switch (object.kind) {
    case "Service":
      return object.spec;
    case "Config":
      return { data: object.data, binaryData: object.binaryData };
    case "Node":
      return {};
  }
}
