// Kubernetes API paths, parsed (pure):
//   /api/v1/<resource>[/<name>[/<sub>]]                               cluster scope, or every namespace
//   /api/v1/namespaces/<ns>/<resource>[/<name>[/<sub>]]               one namespace
//   /apis/<group>/<version>/... the same, for a named group
// `/api/v1/namespaces/<name>` is the Namespace object itself.
export interface KubePath {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const SEGMENT = /^[A-Za-z0-9][-A-Za-z0-9_.:]{0,252}$/;

export function parseKubePath(path: string): KubePath | undefined {
  const parts = path.split("/").filter((p) => p !== "");
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 3) {
    group = "";
    version = parts[1] as string;
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 4) {
    group = parts[1] as string;
    version = parts[2] as string;
    rest = parts.slice(3);
  } else return undefined;
  if (!rest.every((p) => SEGMENT.test(decodeURIComponent(p)))) return undefined;
  rest = rest.map((p) => decodeURIComponent(p));
  if (rest[0] === "namespaces" && rest.length >= 3) {
    const [, namespace, resource, name, subresource, ...extra] = rest;
    if (extra.length > 0) return undefined;
    return { group, version, resource: resource as string, namespace, ...opt(name, subresource) };
  }
  const [resource, name, subresource, ...extra] = rest;
  if (extra.length > 0) return undefined;
  return { group, version, resource: resource as string, ...opt(name, subresource) };
}

function opt(name: string | undefined, subresource: string | undefined) {
  return { ...(name !== undefined ? { name } : {}), ...(subresource !== undefined ? { subresource } : {}) };
}
