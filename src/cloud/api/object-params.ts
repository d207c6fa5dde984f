// How API routes read which object they are about: `:name` and `?namespace=` (lists: every
// namespace when absent; one object: `default` when absent), checked as DNS labels.
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
