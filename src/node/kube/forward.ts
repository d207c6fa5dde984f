// What a node's Kubernetes facade cannot answer itself (writes, the Sedna objects) goes to the
// cloud's API at /kube, with the node's own credentials (HTTP Basic, as its artifact and Config
// downloads) and the worker it speaks for (Impersonate-User: its service account; X-Levee-Worker:
// its service and index). The cloud checks that this node runs that worker under that account and
// applies the Grants. Unreachable cloud: a ServiceUnavailable Status saying so.
import type { KubeCaller } from "../../kube/access.ts";
import { statusObject } from "../../kube/status.ts";
import { describeError } from "../../runtime/errors.ts";

const TIMEOUT_MS = 30_000;

export interface ForwardOptions {
  cloudUrl: () => string | undefined;
  username: string;
  password: string;
}

const status = (message: string) =>
  new Response(JSON.stringify(statusObject("ServiceUnavailable", message)), {
    status: 503,
    headers: { "content-type": "application/json" },
  });

export function forwardToCloud(options: ForwardOptions) {
  const authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString("base64")}`;
  return async (request: Request, body: string | undefined, caller: KubeCaller): Promise<Response> => {
    const base = options.cloudUrl();
    if (!base) return status("this node does not know the cloud's address yet; writes need the cloud");
    if (caller.kind !== "worker") return status("only a worker's requests are forwarded to the cloud");
    const url = new URL(request.url);
    const headers: Record<string, string> = {
      authorization,
      "impersonate-user": `system:serviceaccount:${caller.namespace}:${caller.serviceAccount}`,
      "x-levee-worker": `${caller.service}/${caller.index}`,
      accept: request.headers.get("accept") ?? "application/json",
    };
    const type = request.headers.get("content-type");
    if (type) headers["content-type"] = type;
    const watch = url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1";
    try {
      const answer = await fetch(`${base.replace(/\/$/, "")}/kube${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        ...(body !== undefined ? { body } : {}),
        // A watch streams for as long as the client keeps it; anything else answers promptly.
        signal: watch ? request.signal : AbortSignal.any([request.signal, AbortSignal.timeout(TIMEOUT_MS)]),
      });
      return new Response(answer.body, {
        status: answer.status,
        headers: { "content-type": answer.headers.get("content-type") ?? "application/json" },
      });
    } catch (err) {
      return status(
        `the cloud is unreachable (${describeError(err)}): this node answers reads of nodes, namespaces, pods, services, endpoints and deployments itself; ${request.method === "GET" ? "this read" : "writes"} need the cloud`,
      );
    }
  };
}
