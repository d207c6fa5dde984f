// A pod's service account → the worker template's kubeApi. On Kubernetes a pod with
// serviceAccountName gets that account's token, the cluster CA and its namespace at
// /var/run/secrets/kubernetes.io/serviceaccount; on levee each worker gets the same from its own
// node's agent (template kubeApi), unless the pod opts out (automountServiceAccountToken: false).
// Where the API is, KUBERNETES_SERVICE_HOST/PORT, is then the agent's to say: Dayu writes the
// cloud's apiserver address into every container's env, which levee replaces (said once).
import { dnsLabelProblem, isDnsLabel } from "../../runtime/dns-name.ts";
import type { RawTemplate } from "./native.ts";
import type { PodSpec } from "./pod-schema.ts";
import type { Path, Report } from "./warnings.ts";

/** The variables the agent sets for a worker with kubeApi. */
export const KUBE_API_ENV = ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"];

export const SERVICE_ACCOUNT_FIELDS = [
  "serviceAccountName",
  "serviceAccount",
  "automountServiceAccountToken",
];

/** The pod's kubeApi, or undefined: no service account named, opted out, or a name levee refuses. */
export function podKubeApi(pod: PodSpec, path: Path, report: Report): RawTemplate["kubeApi"] {
  const field = pod.serviceAccountName
    ? "serviceAccountName"
    : pod.serviceAccount
      ? "serviceAccount"
      : undefined;
  if (pod.serviceAccountName && pod.serviceAccount && pod.serviceAccount !== pod.serviceAccountName)
    report.warn(
      [...path, "serviceAccount"],
      "deprecated alias of serviceAccountName, which names another account and is the one used; ignored",
    );
  if (field === undefined) {
    if (pod.automountServiceAccountToken === true)
      report.warn(
        [...path, "automountServiceAccountToken"],
        "no serviceAccountName: the worker gets no Kubernetes API token on levee (name the account); ignored",
      );
    return undefined;
  }
  if (pod.automountServiceAccountToken === false) return undefined;
  const name = pod[field] as string;
  if (!isDnsLabel(name)) {
    report.issue([...path, field], `levee's service accounts are DNS labels: ${dnsLabelProblem(name)}`);
    return undefined;
  }
  return { serviceAccount: name };
}

/** A container's env with a kubeApi: the agent's KUBERNETES_SERVICE_HOST/PORT replace Dayu's. */
export function dropKubeApiEnv(env: Record<string, string>, at: Path, report: Report): void {
  const present = KUBE_API_ENV.filter((name) => Object.hasOwn(env, name));
  if (present.length === 0) return;
  for (const name of present) delete env[name];
  report.warn(
    [...at, "env"],
    `${present.join(", ")}: levee points each worker at its own node's agent, which serves the Kubernetes API and sets ${present.length > 1 ? "these" : "this"} itself; replaced`,
  );
}
