// ServiceAccounts and ClusterRoleBindings through the Kubernetes API, because `dayu.sh` makes them
// (`kubectl create serviceaccount`, `kubectl create clusterrolebinding ... --clusterrole=cluster-admin`,
// `kubectl patch clusterrolebinding --type=json` to add or remove a subject) and stops when that
// fails. They are kept as written, in the cloud's store (kinds ServiceAccount, namespaced, and
// ClusterRoleBinding), and mean in levee exactly this: a binding of `cluster-admin`, `admin` or
// `edit` gives each ServiceAccount subject every verb on every resource IN ITS OWN NAMESPACE (a
// Grant's power; `view` adds nothing to what a worker reads anyway). levee never lets a worker
// write cluster-wide: namespaces and bindings stay with the admin.
import type { GrantRule } from "../../kube/access.ts";
import type { KubeObject } from "../../kube/objects/meta.ts";
import { kubeTime } from "../../kube/objects/meta.ts";
import { jsonPatch, mergePatch } from "../../kube/patch.ts";
import { KubeError, notFound } from "../../kube/status.ts";
import { objectKey } from "../../manifest/namespace.ts";
import { dnsLabelProblem, dnsSubdomainProblem } from "../../runtime/dns-name.ts";
import type { Store } from "../../store/store.ts";
import { deleteObject, getObject, listObjects, type StoredObject, upsertObject } from "../resource-store.ts";

export const RBAC_KINDS: Record<string, { kind: string; apiVersion: string; namespaced: boolean }> = {
  serviceaccounts: { kind: "ServiceAccount", apiVersion: "v1", namespaced: true },
  clusterrolebindings: {
    kind: "ClusterRoleBinding",
    apiVersion: "rbac.authorization.k8s.io/v1",
    namespaced: false,
  },
};

/** Roles whose binding levee reads as "everything in the account's own namespace". */
const WRITING_ROLES = new Set(["cluster-admin", "admin", "edit"]);

type Body = Record<string, unknown> & { metadata?: Record<string, unknown> };

export class RbacObjects {
  constructor(private readonly store: Store) {}

  list(resource: string, namespace: string | undefined): KubeObject[] {
    const info = RBAC_KINDS[resource];
    if (!info) return [];
    return listObjects(this.store.db, info.kind, namespace ? { namespace } : {}).map((o) => served(info, o));
  }

  create(resource: string, namespace: string | undefined, body: unknown): KubeObject {
    const info = known(resource);
    const object = checked(info, resource, body);
    const name = String(object.metadata?.name);
    const key = objectKey(info.kind, namespace, name);
    return this.store.tx((db) => {
      if (getObject(db, info.kind, key))
        throw new KubeError("AlreadyExists", `${resource} "${name}" already exists`, {
          name,
          kind: resource,
        });
      upsertObject(db, info.kind, key, labelsOf(object), specOf(object));
      return served(info, getObject(db, info.kind, key) as StoredObject);
    });
  }

  patch(
    resource: string,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: "merge" | "json",
  ): KubeObject {
    const info = known(resource);
    const key = objectKey(info.kind, namespace, name);
    return this.store.tx((db) => {
      const stored = getObject(db, info.kind, key);
      if (!stored)
        throw notFound(resource, name, info.apiVersion.includes("/") ? "rbac.authorization.k8s.io" : "");
      const current = served(info, stored);
      const next = checked(
        info,
        resource,
        type === "merge" ? mergePatch(current, patch) : jsonPatch(current, patch),
      );
      if (next.metadata?.name !== name)
        throw new KubeError("Invalid", `${resource} "${name}" is invalid: metadata.name: may not be changed`);
      upsertObject(db, info.kind, key, labelsOf(next), specOf(next));
      return served(info, getObject(db, info.kind, key) as StoredObject);
    });
  }

  delete(resource: string, namespace: string | undefined, name: string): void {
    const info = known(resource);
    const gone = this.store.tx((db) => deleteObject(db, info.kind, objectKey(info.kind, namespace, name)));
    if (!gone) throw notFound(resource, name);
  }

  /** What the bindings give a service account, as Grant rules (for its own namespace). */
  grants(namespace: string, serviceAccount: string): GrantRule[] {
    const bound = listObjects(this.store.db, "ClusterRoleBinding").some((b) => {
      const spec = b.spec as {
        roleRef?: { name?: string };
        subjects?: { kind?: string; name?: string; namespace?: string }[];
      };
      return (
        WRITING_ROLES.has(spec.roleRef?.name ?? "") &&
        (spec.subjects ?? []).some(
          (s) => s.kind === "ServiceAccount" && s.name === serviceAccount && s.namespace === namespace,
        )
      );
    });
    return bound ? [{ verbs: ["*"], resources: ["*"] }] : [];
  }
}

function known(resource: string) {
  const info = RBAC_KINDS[resource];
  if (!info) throw new KubeError("NotFound", "the server could not find the requested resource");
  return info;
}

function checked(info: { kind: string; apiVersion: string }, resource: string, body: unknown): Body {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new KubeError("BadRequest", `the body must be a ${info.kind} object`);
  const object = body as Body;
  const name = object.metadata?.name;
  const problem =
    typeof name !== "string"
      ? "Required value"
      : info.kind === "ServiceAccount"
        ? dnsLabelProblem(name)
        : dnsSubdomainProblem(name);
  if (problem)
    throw new KubeError(
      "Invalid",
      `${info.kind} "${String(name ?? "")}" is invalid: metadata.name: ${problem}`,
      {
        kind: resource,
        causes: [{ reason: "FieldValueInvalid", message: problem, field: "metadata.name" }],
      },
    );
  if (info.kind === "ClusterRoleBinding") {
    const roleRef = object.roleRef as { name?: unknown } | undefined;
    if (typeof roleRef?.name !== "string")
      throw new KubeError(
        "Invalid",
        `ClusterRoleBinding "${name}" is invalid: roleRef.name: Required value`,
        {
          kind: resource,
          causes: [{ reason: "FieldValueRequired", message: "Required value", field: "roleRef.name" }],
        },
      );
    if (object.subjects !== undefined && object.subjects !== null && !Array.isArray(object.subjects))
      throw new KubeError("Invalid", `ClusterRoleBinding "${name}" is invalid: subjects: must be a list`);
  }
  const size = JSON.stringify(object).length;
  if (size > 256 * 1024) throw new KubeError("RequestEntityTooLarge", `${info.kind} larger than 256 KiB`);
  return object;
}

function labelsOf(object: Body): Record<string, string> {
  const labels = object.metadata?.labels;
  if (!labels || typeof labels !== "object") return {};
  return Object.fromEntries(Object.entries(labels).filter(([, v]) => typeof v === "string")) as Record<
    string,
    string
  >;
}

/** What is kept of the object: everything but metadata (and status). */
function specOf(object: Body): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, metadata: _m, status: _s, ...rest } = object;
  return rest;
}

function served(info: { kind: string; apiVersion: string }, stored: StoredObject): KubeObject {
  const { name, namespace, uid, resourceVersion, labels, creationTimestamp } = stored.metadata;
  return {
    apiVersion: info.apiVersion,
    kind: info.kind,
    metadata: {
      name,
      ...(info.kind === "ServiceAccount" ? { namespace } : {}),
      uid,
      resourceVersion,
      creationTimestamp: kubeTime(creationTimestamp) ?? "",
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
    },
    ...(stored.spec ?? {}),
  };
}
