// A Service's spec as the planner reads it: the Configs it mounts and the services its upstreams
// lead to are named within the Service's own namespace, and the plans know every object by its key
// (src/manifest/namespace.ts), so outside `default` those names are qualified here. The stored spec
// stays as written. Pure.
import { DEFAULT_NAMESPACE, qualifiedName } from "../manifest/namespace.ts";

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export function qualifyServiceSpec(spec: Json, namespace: string | undefined): Json {
  if (namespace === undefined || namespace === DEFAULT_NAMESPACE) return spec;
  const template = isObject(spec.template) ? qualifyTemplate(spec.template, namespace) : spec.template;
  const workers = Array.isArray(spec.workers)
    ? spec.workers.map((w) =>
        isObject(w) && isObject(w.template) ? { ...w, template: qualifyTemplate(w.template, namespace) } : w,
      )
    : spec.workers;
  let mesh = spec.mesh;
  if (isObject(mesh) && Array.isArray(mesh.upstreams)) {
    mesh = {
      ...mesh,
      upstreams: mesh.upstreams.map((u) =>
        isObject(u) && typeof u.service === "string"
          ? { ...u, service: qualifiedName(namespace, u.service) }
          : u,
      ),
    };
  }
  return { ...spec, template, workers, ...(mesh !== undefined ? { mesh } : {}) };
}

function qualifyTemplate(template: Json, namespace: string): Json {
  if (!Array.isArray(template.mounts)) return template;
  const mounts = template.mounts.map((mount) => {
    if (!isObject(mount) || !isObject(mount.config) || typeof mount.config.name !== "string") return mount;
    return { ...mount, config: { ...mount.config, name: qualifiedName(namespace, mount.config.name) } };
  });
  return { ...template, mounts };
}
