// Writes through the Kubernetes API, on the cloud: Sedna objects created, replaced, patched and
// deleted, namespaces created and deleted, pods deleted (their workers restart) — each through the
// control plane exactly as `levee ctl apply`/`delete` does — and ServiceAccounts and
// ClusterRoleBindings kept as written (rbac-objects.ts), with the control plane's refusals
// turned into the Status a Kubernetes client expects (Invalid with the field causes, Conflict,
// AlreadyExists, NotFound).
import type { KubeWrites, SednaObjects } from "../../kube/backend.ts";
import type { KubeObject } from "../../kube/objects/meta.ts";
import { namespaceObject } from "../../kube/objects/namespaces.ts";
import { jsonPatch, mergePatch } from "../../kube/patch.ts";
import { KubeError, notFound } from "../../kube/status.ts";
import { SEDNA_API_VERSION } from "../../manifest/dayu/sedna-schema.ts";
import { parseManifests } from "../../manifest/manifest.ts";
import { objectKey } from "../../manifest/namespace.ts";
import { ApiError } from "../api-error.ts";
import type { ControlPlane } from "../control-plane.ts";
import type { RbacObjects } from "./rbac-objects.ts";

const PLURALS: Record<string, string> = {
  JointMultiEdgeService: "jointmultiedgeservices",
  RuntimeService: "runtimeservices",
};

type Body = Record<string, unknown> & { metadata?: Record<string, unknown> };

export class CloudKubeWrites implements KubeWrites {
  constructor(
    private readonly plane: ControlPlane,
    private readonly objects: SednaObjects,
    private readonly restart: (service: string, node: string, indexes: readonly number[]) => void,
    private readonly rbac: RbacObjects,
    /** After a write outside the control plane (which announces its own). */
    private readonly changed: () => void,
  ) {}

  createRbac(resource: string, namespace: string | undefined, body: unknown): KubeObject {
    const created = this.rbac.create(resource, namespace, body);
    this.changed();
    return created;
  }

  patchRbac(
    resource: string,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: "merge" | "json",
  ): KubeObject {
    const patched = this.rbac.patch(resource, namespace, name, patch, type);
    this.changed();
    return patched;
  }

  deleteRbac(resource: string, namespace: string | undefined, name: string): void {
    this.rbac.delete(resource, namespace, name);
    this.changed();
  }

  createSedna(kind: string, namespace: string, body: unknown): KubeObject {
    const object = this.checked(kind, namespace, body);
    const name = String(object.metadata?.name ?? "");
    if (this.plane.get(kind, name, namespace))
      throw new KubeError("AlreadyExists", `${PLURALS[kind]}.sedna.io "${name}" already exists`, {
        name,
        group: "sedna.io",
        kind: PLURALS[kind] ?? kind,
      });
    // A new object: whatever system metadata the client copied is not ours.
    const { resourceVersion: _rv, uid: _uid, ...metadata } = object.metadata ?? {};
    this.apply(kind, { ...object, metadata });
    return this.read(kind, namespace, name);
  }

  replaceSedna(kind: string, namespace: string, name: string, body: unknown): KubeObject {
    const object = this.checked(kind, namespace, body);
    if (object.metadata?.name !== name)
      throw invalid(
        kind,
        name,
        "metadata.name",
        `the name in the body (${String(object.metadata?.name)}) is not the one in the URL`,
      );
    if (!this.plane.get(kind, name, namespace)) throw notFound(PLURALS[kind] ?? kind, name, "sedna.io");
    this.apply(kind, object);
    return this.read(kind, namespace, name);
  }

  patchSedna(
    kind: string,
    namespace: string,
    name: string,
    patch: unknown,
    type: "merge" | "json",
  ): KubeObject {
    const current = this.objects.get(kind, namespace, name);
    if (!current) throw notFound(PLURALS[kind] ?? kind, name, "sedna.io");
    const patched = (type === "merge" ? mergePatch(current, patch) : jsonPatch(current, patch)) as Body;
    // The patch applies to the object as read now: its resourceVersion is checked by the store.
    const metadata = { ...(patched.metadata ?? {}), resourceVersion: current.metadata.resourceVersion };
    return this.replaceSedna(kind, namespace, name, { ...patched, metadata, status: undefined });
  }

  deleteSedna(kind: string, namespace: string, name: string): void {
    try {
      if (!this.plane.delete(kind, objectKey(kind, namespace, name)))
        throw notFound(PLURALS[kind] ?? kind, name, "sedna.io");
    } catch (err) {
      throw asKubeError(err, kind, name);
    }
  }

  restartPod(service: string, node: string, indexes: readonly number[]): void {
    this.restart(service, node, indexes);
  }

  createNamespace(name: string): KubeObject {
    if (this.plane.get("Namespace", name))
      throw new KubeError("AlreadyExists", `namespaces "${name}" already exists`, {
        name,
        kind: "namespaces",
      });
    this.apply("Namespace", { apiVersion: "levee/v1", kind: "Namespace", metadata: { name } });
    const stored = this.plane.get("Namespace", name);
    if (!stored) throw new KubeError("InternalError", `namespace ${name} was not stored`);
    return namespaceObject({ name, uid: stored.metadata.uid, created: stored.metadata.creationTimestamp });
  }

  deleteNamespace(name: string): void {
    try {
      if (!this.plane.delete("Namespace", name)) throw notFound("namespaces", name);
    } catch (err) {
      throw asKubeError(err, "Namespace", name);
    }
  }

  /** The body as a Sedna object of `kind` in `namespace`, or Invalid / BadRequest. */
  private checked(kind: string, namespace: string, body: unknown): Body {
    if (typeof body !== "object" || body === null || Array.isArray(body))
      throw new KubeError("BadRequest", `the body must be a ${kind} object`);
    const object = body as Body;
    if (object.kind !== kind || object.apiVersion !== SEDNA_API_VERSION)
      throw new KubeError(
        "BadRequest",
        `the body is ${String(object.apiVersion)}/${String(object.kind)}, not ${SEDNA_API_VERSION}/${kind}`,
      );
    const meta = object.metadata ?? {};
    if (typeof meta.name !== "string" || meta.name === "")
      throw invalid(
        kind,
        "",
        "metadata.name",
        meta.generateName ? "generateName is not supported: name the object" : "Required value",
      );
    if (meta.namespace !== undefined && meta.namespace !== namespace)
      throw new KubeError(
        "BadRequest",
        `the namespace of the provided object (${String(meta.namespace)}) does not match the namespace sent on the request (${namespace})`,
      );
    return { ...object, metadata: { ...meta, namespace } };
  }

  private apply(kind: string, object: Body): void {
    const parsed = parseManifests(JSON.stringify(object), "application/json");
    const name = String(object.metadata?.name ?? "");
    if (!parsed.ok) {
      const causes = parsed.issues.map((i) => ({
        reason: "FieldValueInvalid",
        message: i.message,
        field: i.path,
      }));
      const first = parsed.issues[0];
      throw new KubeError(
        "Invalid",
        `${kind} "${name}" is invalid: ${first ? `${first.path}: ${first.message}` : "invalid"}`,
        {
          name,
          kind: PLURALS[kind] ?? kind,
          causes,
        },
      );
    }
    try {
      this.plane.apply(parsed.objects);
    } catch (err) {
      throw asKubeError(err, kind, name);
    }
  }

  private read(kind: string, namespace: string, name: string): KubeObject {
    const object = this.objects.get(kind, namespace, name);
    if (!object) throw new KubeError("InternalError", `${kind} ${name} was not stored`);
    return object;
  }
}

function invalid(kind: string, name: string, field: string, message: string): KubeError {
  return new KubeError("Invalid", `${kind} "${name}" is invalid: ${field}: ${message}`, {
    name,
    kind: PLURALS[kind] ?? kind,
    causes: [{ reason: "FieldValueInvalid", message, field }],
  });
}

/** A control-plane refusal as a Kubernetes Status: 409 is a Conflict, 400 Invalid, 404 NotFound. */
function asKubeError(err: unknown, kind: string, name: string): unknown {
  if (!(err instanceof ApiError)) return err;
  const causes = (err.issues ?? []).map((i) => ({
    reason: "FieldValueInvalid",
    message: i.message,
    field: i.path,
  }));
  const details = { name, kind: PLURALS[kind] ?? kind, ...(causes.length > 0 ? { causes } : {}) };
  if (err.status === 409)
    return new KubeError(
      "Conflict",
      `Operation cannot be fulfilled on ${kind} "${name}": ${err.message}`,
      details,
    );
  if (err.status === 404) return new KubeError("NotFound", err.message, details);
  if (err.status === 400)
    return new KubeError("Invalid", `${kind} "${name}" is invalid: ${err.message}`, details);
  return new KubeError("BadRequest", err.message, details);
}
