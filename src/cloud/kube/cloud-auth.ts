// Who calls the cloud's Kubernetes API: the admin (the admin token, as `levee ctl kubeconfig`
// writes it), a worker on the cloud's own node (its token, checked against this node's table), or
// a node acting for one of its workers (a write the node forwards: the node's own credentials as
// HTTP Basic, the worker in `Impersonate-User` and `X-Levee-Worker`). A node can speak only for a
// worker its plan runs, under the service account that worker's template names (kubeApi). And the
// Grants in force for a service account.
import type { GrantRule, KubeCaller, WorkerCaller } from "../../kube/access.ts";
import type { KubeAuth } from "../../kube/backend.ts";
import { splitKey } from "../../manifest/namespace.ts";
import type { NodePlan } from "../../manifest/plan.ts";
import { bearerToken, tokenMatches } from "../../runtime/token-file.ts";
import type { Store } from "../../store/store.ts";
import { type NodeCredentials, parseBasic } from "../api/node-auth.ts";
import { listObjects } from "../resource-store.ts";
import { RbacObjects } from "./rbac-objects.ts";

export const WORKER_HEADER = "x-levee-worker";
export const IMPERSONATE_HEADER = "impersonate-user";

export interface CloudKubeAuthOptions {
  store: Store;
  adminToken: string;
  nodes: NodeCredentials;
  /** A token of a worker on the cloud's own node (the node's token table), or undefined. */
  identifyWorker: (token: string) => WorkerCaller | undefined;
}

export class CloudKubeAuth implements KubeAuth {
  private readonly rbac: RbacObjects;

  constructor(private readonly options: CloudKubeAuthOptions) {
    this.rbac = new RbacObjects(options.store);
  }

  authenticate(authorization: string | undefined, headers?: Headers): KubeCaller | undefined {
    const header = authorization ?? "";
    const bearer = bearerToken(header);
    if (bearer !== undefined) {
      if (tokenMatches(bearer, this.options.adminToken)) return { kind: "admin" };
      return this.options.identifyWorker(bearer);
    }
    const basic = parseBasic(header);
    if (!basic || !headers || !this.options.nodes.check(basic.user, basic.password)) return undefined;
    return this.onBehalf(basic.user, headers.get(IMPERSONATE_HEADER), headers.get(WORKER_HEADER));
  }

  /** The Grants for the account, and what ClusterRoleBindings give it in its namespace. */
  grants(namespace: string, serviceAccount: string): GrantRule[] {
    const granted = listObjects(this.options.store.db, "Grant", { namespace }).flatMap((g) => {
      const spec = g.spec as { serviceAccount?: string; rules?: GrantRule[] } | undefined;
      return spec?.serviceAccount === serviceAccount ? (spec.rules ?? []) : [];
    });
    return [...granted, ...this.rbac.grants(namespace, serviceAccount)];
  }

  /** The worker `node` speaks for, when that node's plan runs it under that service account. */
  private onBehalf(node: string, user: string | null, worker: string | null): WorkerCaller | undefined {
    const account = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(user ?? "");
    const id = /^(.+)\/(\d+)$/.exec(worker ?? "");
    if (!account || !id) return undefined;
    const [, namespace, serviceAccount] = account as unknown as [string, string, string];
    const service = id[1] as string;
    const index = Number(id[2]);
    if (splitKey(service).namespace !== namespace) return undefined;
    const row = this.options.store.db
      .query<{ plan: string }, [string]>("SELECT plan FROM plans WHERE node = ?")
      .get(node);
    if (!row) return undefined;
    const plan = JSON.parse(row.plan) as NodePlan;
    const template = plan.services.find((s) => s.name === service)?.workers.find((w) => w.index === index)
      ?.template as { kubeApi?: { serviceAccount?: string } } | undefined;
    const planned = template?.kubeApi ? (template.kubeApi.serviceAccount ?? "default") : undefined;
    return planned === serviceAccount
      ? { kind: "worker", namespace, serviceAccount, service, node, index }
      : undefined;
  }
}
