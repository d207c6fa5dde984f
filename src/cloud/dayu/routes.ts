// Cloud API routes of Dayu's kinds (apply is POST /api/v1/apply like every kind):
//   GET    /api/v1/jointmultiedgeservices[/NAME]   the stored objects with their status (views.ts)
//   GET    /api/v1/runtimeservices[/NAME]
//   DELETE /api/v1/jointmultiedgeservices/NAME     the object and exactly what it made
//   DELETE /api/v1/runtimeservices/NAME
import type { MiddlewareHandler } from "hono";
import type { DAYU_KINDS } from "../../manifest/dayu/sedna-schema.ts";
import { describeKey, refOf } from "../../manifest/namespace.ts";
import type { Store } from "../../store/store.ts";
import { apiError, notFound } from "../api/errors.ts";
import { namespaceParam, objectParams, objectRouteSpecs } from "../api/object-params.ts";
import type { ApiRoutes } from "../api/route-registry.ts";
import type { ControlPlane } from "../control-plane.ts";
import { getObject, type StoredObject, storedKey } from "../resource-store.ts";
import { listWorkers } from "../workers-view.ts";
import { ownedBy } from "./owners.ts";
import { dayuView } from "./views.ts";

export const DAYU_PLURALS: Record<string, (typeof DAYU_KINDS)[number]> = {
  jointmultiedgeservices: "JointMultiEdgeService",
  runtimeservices: "RuntimeService",
};

/** `guard` (the admin token and the body limit) is on every route. */
export function mountDayuRoutes(
  api: ApiRoutes,
  store: Store,
  plane: ControlPlane,
  guard: MiddlewareHandler,
): void {
  const view = (stored: StoredObject) => {
    const made = ownedBy(store.db, { kind: stored.kind, name: storedKey(stored) });
    const service = made.find((r) => r.kind === "Service");
    const object = service ? getObject(store.db, "Service", service.name) : undefined;
    const workers = service ? listWorkers(store, { service: service.name }) : [];
    return dayuView(
      stored,
      made.map((r) => refOf(r.kind, r.name)),
      object,
      workers,
    );
  };
  for (const [plural, kind] of Object.entries(DAYU_PLURALS)) {
    const specs = objectRouteSpecs(plural, kind, "dayu", {
      list: "{items: [object with its status and what it made]}",
      get: "the object with its status and what it made",
      remove: "the object and exactly what it made: {deleted: {kind, name}, alsoDeleted: [{kind, name}]}",
    });
    api.add(specs.list, guard, (c) => {
      const namespace = namespaceParam(c.req.query("namespace"));
      return c.json({ items: plane.list(kind, namespace ? { namespace } : {}).map(view) });
    });
    api.add(specs.get, guard, (c) => {
      const { name, namespace, key } = objectParams(kind, c.req.param("name"), c.req.query("namespace"));
      const stored = plane.get(kind, name, namespace);
      return stored ? c.json(view(stored)) : apiError(c, 404, notFound(kind, describeKey(key)));
    });
    api.add(specs.remove, guard, (c) => {
      const { key } = objectParams(kind, c.req.param("name"), c.req.query("namespace"));
      const deleted = plane.delete(kind, key);
      if (!deleted) return apiError(c, 404, notFound(kind, describeKey(key)));
      const [self, ...made] = deleted.map((r) => refOf(r.kind, r.name));
      return c.json({ deleted: self, alsoDeleted: made });
    });
  }
}
