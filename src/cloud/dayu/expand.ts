// What an apply does with Dayu objects, inside its transaction: each JointMultiEdgeService or
// RuntimeService is stored as written and translated (with the ImageMaps in force and the ports
// kept in dayu_ports) into the Service it stands for, which is stored too, labelled and recorded as
// owned by it. The Service it owned and no longer makes is removed. When the ImageMaps change, every
// stored Dayu object is translated again. Refused (nothing applied): an object the translation
// rejects, a Service that exists and is not the object's own, a native Service in the request that a
// Dayu object owns, a nodePort that another service uses, a changed RuntimeService that kept its
// revision.
import type { Database } from "bun:sqlite";
import { canonicalJson } from "../../manifest/canonical.ts";
import { type ImageRule, mergeImageMaps } from "../../manifest/dayu/image-map.ts";
import {
  DAYU_KINDS,
  type DayuResource,
  jmesSchema,
  runtimeServiceSchema,
  SEDNA_API_VERSION,
} from "../../manifest/dayu/sedna-schema.ts";
import { translateDayu } from "../../manifest/dayu/translate.ts";
import type { Warning } from "../../manifest/dayu/warnings.ts";
import type { Resource } from "../../manifest/kinds.ts";
import { describeKey, keyOf, qualifiedName } from "../../manifest/namespace.ts";
import { serviceSchema } from "../../manifest/service.ts";
import { rejected } from "../api-error.ts";
import { getObject, listObjects, type StoredObject, storedKey, storedSpec } from "../resource-store.ts";
import { describeRef, type ObjectRef, ownedBy, ownerLabels, ownerOf, setOwned } from "./owners.ts";
import { allocatePort, PortsExhausted } from "./ports.ts";
import { savedDayu } from "./views.ts";

export interface ExpandedItem {
  object: Resource;
  /** The labels to store (an owned object's carry its owner). */
  labels: Record<string, string>;
  owner?: ObjectRef;
  warnings?: Warning[];
}

export interface Expansion {
  /** In order: every object of the request, each Dayu object followed by what it makes. */
  items: ExpandedItem[];
  /** Objects their owner no longer makes: deleted after the upserts. */
  removed: (ObjectRef & { owner: ObjectRef })[];
  /** Records ownership; call after the upserts, in the same transaction. */
  commit(): void;
}

const isDayu = (object: Resource): object is DayuResource =>
  (DAYU_KINDS as readonly string[]).includes(object.kind);

export function expandDayu(db: Database, objects: readonly Resource[], retranslateAll = false): Expansion {
  if (!retranslateAll && !objects.some((o) => isDayu(o) || o.kind === "ImageMap")) {
    // Native objects only (the common case): nothing to translate, only ownership to respect.
    return { items: objects.map((object) => nativeItem(db, object)), removed: [], commit() {} };
  }
  const inRequest = new Set(objects.map((o) => `${o.kind}/${keyOf(o)}`));
  const rules = imageRules(db, objects);
  const changedMaps =
    retranslateAll ||
    objects.some((o) => {
      if (o.kind !== "ImageMap") return false;
      const stored = getObject(db, "ImageMap", o.metadata.name);
      return !stored || canonicalJson(storedSpec(stored)) !== canonicalJson(o.spec);
    });
  const dayu: { object: DayuResource; fromRequest: boolean }[] = objects
    .filter(isDayu)
    .map((object) => ({ object, fromRequest: true }));
  if (changedMaps) {
    for (const kind of DAYU_KINDS) {
      for (const stored of listObjects(db, kind)) {
        if (!inRequest.has(`${kind}/${storedKey(stored)}`))
          dayu.push({ object: fromStored(stored), fromRequest: false });
      }
    }
  }
  const used = meshPorts(db, objects);
  const existing = (kind: "Config" | "Secret") =>
    new Set([...listObjects(db, kind).map(storedKey), ...objects.filter((o) => o.kind === kind).map(keyOf)]);
  const configs = { Config: existing("Config"), Secret: existing("Secret") };
  const made = new Map<string, DayuResource>();
  const produced = new Map<string, { items: ExpandedItem[]; warnings: Warning[]; refs: ObjectRef[] }>();
  const removed: Expansion["removed"] = [];

  for (const { object, fromRequest } of dayu) {
    const namespace = object.metadata.namespace;
    const owner = { kind: object.kind, name: keyOf(object) };
    // A Dayu object's Configs, Secrets and the Service it makes are in its own namespace.
    const configExists = (name: string, kind: "Config" | "Secret" = "Config") =>
      configs[kind].has(qualifiedName(namespace, name));
    const reject = (status: 400 | 409, path: string, message: string): never => {
      throw rejected(status, [{ ...owner, path, message }]);
    };
    const warnings: Warning[] = [];
    if (fromRequest) checkStored(db, object, warnings, reject);
    const translation = translateDayu(object, {
      rules,
      configExists,
      meshPort: (serviceName, requested) => {
        const service = qualifiedName(namespace, serviceName);
        for (const [port, holder] of used) if (holder === service) used.delete(port);
        if (requested !== undefined) {
          const holder = used.get(requested);
          if (holder !== undefined)
            reject(
              409,
              "spec.serviceConfig.nodePort",
              `port ${requested} is already the mesh port of service ${describeKey(holder)}`,
            );
          used.set(requested, service);
          return requested;
        }
        try {
          const allocation = allocatePort(db, service, used);
          if (allocation.moved)
            warnings.push({
              path: "spec",
              message: `mesh port ${allocation.moved.from} is now used by service ${allocation.moved.takenBy}; moved to ${allocation.port}`,
            });
          used.set(allocation.port, service);
          return allocation.port;
        } catch (err) {
          if (err instanceof PortsExhausted) return reject(409, "spec", err.message);
          throw err;
        }
      },
    });
    const [first, ...rest] = translation.issues.map((issue) => ({ ...owner, ...issue }));
    if (first) throw rejected(400, [first, ...rest]);
    warnings.push(...translation.warnings);
    const items: ExpandedItem[] = [];
    const refs: ObjectRef[] = [];
    for (const raw of translation.services) {
      if (namespace !== "default") raw.metadata.namespace = namespace;
      const ref = { kind: raw.kind, name: qualifiedName(namespace, raw.metadata.name) };
      const key = `${ref.kind}/${ref.name}`;
      const path = "metadata.name";
      if (inRequest.has(key))
        reject(
          409,
          path,
          `${describeRef(ref)} is also in this request; it is made from ${describeRef(owner)}`,
        );
      const other = made.get(key);
      if (other) reject(409, path, `${describeRef(ref)} is also made from ${other.kind}/${keyOf(other)}`);
      made.set(key, object);
      const current = ownerOf(db, ref);
      const exists = getObject(db, ref.kind, ref.name) !== undefined;
      if (exists && (!current || current.kind !== owner.kind || current.name !== owner.name)) {
        const by = current ? `was made from ${describeRef(current)}` : "was applied on its own";
        reject(409, path, `${describeRef(ref)} exists and ${by}; delete it first (levee ctl delete)`);
      }
      const parsed = serviceSchema.parse(raw);
      items.push({ object: parsed, labels: { ...parsed.metadata.labels, ...ownerLabels(owner) }, owner });
      refs.push(ref);
    }
    for (const before of ownedBy(db, owner)) {
      if (!refs.some((r) => r.kind === before.kind && r.name === before.name))
        removed.push({ ...before, owner });
    }
    produced.set(`${owner.kind}/${owner.name}`, { items, warnings, refs });
  }

  const items: ExpandedItem[] = [];
  for (const object of objects) {
    if (isDayu(object)) {
      const out = produced.get(`${object.kind}/${keyOf(object)}`);
      items.push({ object, labels: object.metadata.labels, warnings: out?.warnings ?? [] });
      items.push(...(out?.items ?? []));
      continue;
    }
    items.push(nativeItem(db, object));
  }
  for (const { object, fromRequest } of dayu) {
    if (!fromRequest) items.push(...(produced.get(`${object.kind}/${keyOf(object)}`)?.items ?? []));
  }
  return {
    items,
    removed,
    commit() {
      for (const { object } of dayu) {
        const owner = { kind: object.kind, name: keyOf(object) };
        setOwned(db, owner, produced.get(`${owner.kind}/${owner.name}`)?.refs ?? []);
      }
    },
  };
}

/** A native object of the request, unless a Dayu object made it (then change that one). */
function nativeItem(db: Database, object: Resource): ExpandedItem {
  const ref = { kind: object.kind, name: keyOf(object) };
  const owner = object.kind === "Node" ? undefined : ownerOf(db, ref);
  if (owner) {
    throw rejected(409, [
      {
        ...ref,
        path: "metadata.name",
        message: `${describeRef(ref)} is made from ${describeRef(owner)}: change or delete that instead`,
      },
    ]);
  }
  return { object, labels: object.metadata.labels };
}

/** What an owner made, removed with it: the objects are deleted by the caller, the records here. */
export function releaseOwned(db: Database, owner: ObjectRef): ObjectRef[] {
  const owned = ownedBy(db, owner);
  setOwned(db, owner, []);
  return owned;
}

/** The image rules in force after this request: stored ImageMaps, replaced by the request's. */
function imageRules(db: Database, objects: readonly Resource[]) {
  type StoredMap = { name: string; spec: { images: readonly ImageRule[] } };
  const maps = new Map<string, StoredMap>();
  for (const stored of listObjects(db, "ImageMap")) {
    const spec = storedSpec(stored) as StoredMap["spec"];
    maps.set(stored.metadata.name, { name: stored.metadata.name, spec });
  }
  for (const object of objects)
    if (object.kind === "ImageMap")
      maps.set(object.metadata.name, { name: object.metadata.name, spec: object.spec });
  const merged = mergeImageMaps([...maps.values()]);
  if (!merged.ok)
    throw rejected(409, [
      { kind: "ImageMap", name: merged.map, path: "spec.images", message: merged.message },
    ]);
  return merged.rules;
}

/** Mesh ports in use after this request (port → service), the request's native Services included. */
function meshPorts(db: Database, objects: readonly Resource[]): Map<number, string> {
  const ports = new Map<number, string>();
  const replaced = new Set(objects.filter((o) => o.kind === "Service").map(keyOf));
  for (const stored of listObjects(db, "Service")) {
    const port = (stored.spec?.mesh as { port?: number } | undefined)?.port;
    if (port !== undefined && !replaced.has(storedKey(stored))) ports.set(port, storedKey(stored));
  }
  for (const object of objects) {
    if (object.kind === "Service" && object.spec.mesh) ports.set(object.spec.mesh.port, keyOf(object));
  }
  return ports;
}

/** A RuntimeService revision is immutable; a resourceVersion counts only when read from this levee. */
function checkStored(
  db: Database,
  object: DayuResource,
  warnings: Warning[],
  reject: (status: 400 | 409, path: string, message: string) => never,
): void {
  const stored = getObject(db, object.kind, keyOf(object));
  const meta = object.metadata;
  if (meta.resourceVersion !== undefined && (!stored || meta.uid !== stored.metadata.uid)) {
    delete meta.resourceVersion;
    warnings.push({
      path: "metadata.resourceVersion",
      message: "not read from this levee (its uid differs), so not checked; ignored",
    });
  }
  if (object.kind !== "RuntimeService" || !stored) return;
  const before = (storedSpec(stored) as { spec?: { deploymentRevision?: number } }).spec;
  if (
    before?.deploymentRevision === object.spec.deploymentRevision &&
    canonicalJson(before) !== canonicalJson(object.spec)
  ) {
    reject(
      409,
      "spec.deploymentRevision",
      `RuntimeService ${meta.name} revision ${object.spec.deploymentRevision} is immutable and its spec changed: ` +
        "apply the change as a new object with a new deploymentRevision",
    );
  }
}

/** A stored Dayu object, read back for a new translation. */
function fromStored(stored: StoredObject): DayuResource {
  const saved = savedDayu(stored);
  const raw = {
    apiVersion: SEDNA_API_VERSION,
    kind: stored.kind,
    metadata: {
      name: stored.metadata.name,
      namespace: saved.namespace,
      labels: stored.metadata.labels,
      annotations: saved.annotations,
    },
    spec: saved.spec,
  };
  const schema = stored.kind === "RuntimeService" ? runtimeServiceSchema : jmesSchema;
  return schema.parse(raw) as DayuResource;
}
