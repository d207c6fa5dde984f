// The registry of kinds. `kinds` are the native resources the API stores and serves (with their
// URL plural); `manifestKinds` are what a manifest may contain: the native kinds and Dayu's.
//
// Extension point: Dayu's manifests (apiVersion sedna.io/v1alpha1, kinds JointMultiEdgeService
// and RuntimeService, src/manifest/dayu/) are ManifestKind entries. Their objects stay Dayu objects
// after parsing (toResources is the identity): the cloud translates them into native objects (a
// Service) inside the apply transaction, where the stored ImageMaps and port allocations are known,
// and records what each created (src/cloud/dayu/). Errors, duplicates and documents work the same.
import type { z } from "zod";
import { type ConfigResource, configSchema } from "./config.ts";
import { type ImageMapResource, imageMapSchema } from "./dayu/image-map.ts";
import { dayuManifestKinds } from "./dayu/manifest-kinds.ts";
import type { DayuResource } from "./dayu/sedna-schema.ts";
import { type GrantResource, grantSchema } from "./grant.ts";
import { API_VERSION } from "./meta.ts";
import { type NamespaceResource, namespaceSchema } from "./namespace-kind.ts";
import { type NodeResource, nodeSchema } from "./node.ts";
import { type SecretResource, secretSchema } from "./secret.ts";
import { type ServiceResource, serviceSchema } from "./service.ts";

/** Any native object, discriminated by kind. */
export type NativeResource =
  | ServiceResource
  | ConfigResource
  | SecretResource
  | NodeResource
  | ImageMapResource
  | NamespaceResource
  | GrantResource;
export type ResourceKind = NativeResource["kind"];
/** Any object a manifest may hold: a native one or a Dayu one (translated by the cloud). */
export type Resource = NativeResource | DayuResource;

export interface KindInfo<K extends ResourceKind = ResourceKind> {
  apiVersion: typeof API_VERSION;
  kind: K;
  /** The name in URLs: /api/v1/services. */
  plural: string;
  schema: z.ZodType<Extract<NativeResource, { kind: K }>, unknown>;
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
  // Values for workers; the API never shows them (src/manifest/secret.ts).
  Secret: {
    apiVersion: API_VERSION,
    kind: "Secret",
    plural: "secrets",
    schema: secretSchema,
    deletable: true,
  },
  // Deleting a node forgets its identity (it must join again) and removes it from every plan.
  Node: { apiVersion: API_VERSION, kind: "Node", plural: "nodes", schema: nodeSchema, deletable: true },
  // How Dayu's container images run as processes (src/manifest/dayu/image-map.ts).
  ImageMap: {
    apiVersion: API_VERSION,
    kind: "ImageMap",
    plural: "imagemaps",
    schema: imageMapSchema,
    deletable: true,
  },
  // Deleting a namespace deletes every object in it (src/manifest/namespace.ts).
  Namespace: {
    apiVersion: API_VERSION,
    kind: "Namespace",
    plural: "namespaces",
    schema: namespaceSchema,
    deletable: true,
  },
  // What a service account may do through the Kubernetes API (src/manifest/grant.ts).
  Grant: { apiVersion: API_VERSION, kind: "Grant", plural: "grants", schema: grantSchema, deletable: true },
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

export const manifestKinds: readonly ManifestKind[] = [...kindList.map(native), ...dayuManifestKinds];

/**
 * The part of an object that the store keeps as its spec (what apply compares and generation
 * counts): a Service's spec, a Config's files ({data, binaryData}, top-level fields in the
 * manifest, like a ConfigMap), a Secret's values ({type, data, stringData}), nothing for a Node (its labels are metadata), an ImageMap's spec,
 * and for a Dayu object its namespace, annotations and spec as written.
 */
export function specOf(object: Resource): Record<string, unknown> {
  switch (object.kind) {
    case "Service":
      return object.spec;
    case "Config":
      return { data: object.data, binaryData: object.binaryData };
    case "Secret":
      return {
        ...(object.type !== undefined ? { type: object.type } : {}),
        data: object.data,
        stringData: object.stringData,
      };
    case "Node":
    case "Namespace":
      return {};
    case "ImageMap":
    case "Grant":
      return object.spec;
    case "JointMultiEdgeService":
    case "RuntimeService":
      return {
        namespace: object.metadata.namespace,
        annotations: object.metadata.annotations ?? {},
        spec: object.spec,
      };
  }
}
