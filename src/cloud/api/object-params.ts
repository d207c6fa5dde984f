// How API routes read which object they are about: `:name` and `?namespace=` (lists: every
// namespace when absent; one object: `default` when absent), checked as DNS labels; and the
// descriptions of a kind's list, get and delete routes, which read them (route-registry.ts).
import { z } from "zod";
import { objectKey } from "../../manifest/namespace.ts";
import { dnsLabelProblem } from "../../runtime/dns-name.ts";
import { ApiError } from "../api-error.ts";

/** The query of a list (what namespaceParam reads), for the API's document. */
export const listQuery = z.object({
  namespace: z.string().optional().describe("only this namespace (default: every namespace)"),
});

/** The query of a route about one object (what objectParams reads), for the API's document. */
export const objectQuery = z.object({
  namespace: z.string().optional().describe("the object's namespace (default: default)"),
});

/** What a kind's list, get and delete routes answer with (200), and why a delete may be a 409. */
export interface ObjectAnswers {
  list: string;
  get: string;
  remove: string;
  conflict?: string;
}

/** The descriptions of a kind's routes: GET /PLURAL, GET /PLURAL/:name, DELETE /PLURAL/:name. */
export function objectRouteSpecs<P extends string>(
  plural: P,
  kind: string,
  tag: string,
  answers: ObjectAnswers,
) {
  const base = { tag, auth: "admin" } as const;
  const one = { ...base, params: { name: `the ${kind}'s name` }, query: objectQuery } as const;
  const missing = "no such object";
  const removed: Record<number, string> = { 200: answers.remove, 404: missing };
  if (answers.conflict) removed[409] = answers.conflict;
  return {
    list: {
      ...base,
      method: "get",
      path: `/${plural}`,
      summary: `List the ${kind}s`,
      query: listQuery,
      responses: { 200: answers.list },
    },
    get: {
      ...one,
      method: "get",
      path: `/${plural}/:name`,
      summary: `One ${kind}`,
      responses: { 200: answers.get, 404: missing },
    },
    remove: {
      ...one,
      method: "delete",
      path: `/${plural}/:name`,
      summary: `Delete a ${kind}`,
      responses: removed,
    },
  } as const;
}

/** A `?namespace=` value: undefined when absent, else a DNS label (a 400 ApiError naming it if not). */
export function namespaceParam(value: string | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  const problem = dnsLabelProblem(value);
  if (problem)
    throw new ApiError(400, `namespace ${problem}`, { issues: [{ path: "namespace", message: problem }] });
  return value;
}

/** The object a route's `:name` and `?namespace=` name: its name, namespace and store key. */
export function objectParams(kind: string, name: string, namespaceQuery: string | undefined) {
  const namespace = namespaceParam(namespaceQuery);
  return { name, namespace, key: objectKey(kind, namespace, name) };
}
