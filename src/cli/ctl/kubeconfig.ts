// `levee ctl kubeconfig [-n NAMESPACE]`: a kubeconfig for the admin, so that `kubectl` (and any
// Kubernetes client) works against the cloud's Kubernetes API: the server and its CA come from the
// cloud (GET /api/v1/kubeconfig), the token is the one this ctl uses. Printed to stdout:
// `levee ctl kubeconfig > ~/.kube/levee && KUBECONFIG=~/.kube/levee kubectl get nodes`. It holds
// the admin token: keep the file private (mode 0600).
import { type CtlContext, takeArgs } from "./context.ts";
import { toJson, toYaml } from "./format.ts";

interface KubeAccess {
  server: string;
  certificateAuthority: string;
}

export async function kubeconfig(ctx: CtlContext): Promise<number> {
  takeArgs(ctx.args, 0);
  const client = ctx.client();
  const access = await client.request<KubeAccess>("GET", "/kubeconfig");
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "levee",
        cluster: {
          server: access.server,
          "certificate-authority-data": Buffer.from(access.certificateAuthority).toString("base64"),
        },
      },
    ],
    users: [{ name: "levee-admin", user: { token: client.target.token } }],
    contexts: [
      {
        name: "levee",
        context: { cluster: "levee", user: "levee-admin", namespace: ctx.options.namespace ?? "default" },
      },
    ],
    "current-context": "levee",
  };
  ctx.out(ctx.options.output === "json" ? toJson(config) : toYaml(config));
  return 0;
}
