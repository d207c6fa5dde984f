// A Service's spec as the planner reads it: the Configs and Secrets it uses and the services its upstreams
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
  const out: Json = { ...template };
  if (Array.isArray(template.mounts)) {
    out.mounts = template.mounts.map((mount) => {
      if (!isObject(mount)) return mount;
      for (const field of ["config", "secret"]) {
        const source = mount[field];
        if (isObject(source) && typeof source.name === "string")
          return { ...mount, [field]: { ...source, name: qualifiedName(namespace, source.name) } };
      }
      return mount;
    });
  }
  if (isObject(template.secretEnv)) {
    out.secretEnv = Object.fromEntries(
      Object.entries(template.secretEnv).map(([name, ref]) => [
        name,
        isObject(ref) && typeof ref.secret === "string"
          ? { ...ref, secret: qualifiedName(namespace, ref.secret) }
          : ref,
      ]),
    );
  }
  return out;
}
