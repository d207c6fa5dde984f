// Prestart step 7: a worker with kubeApi gets what a pod's service account gives it (its variables
// come from the env step). A fresh token for this instance, which stops naming the worker when
// the instance is no longer the one that runs (kube-access/worker-tokens.ts), written with the
// agent's Kubernetes API CA and the service's namespace to <worker dir>/serviceaccount; then
//   container: that directory bound read-only at /var/run/secrets/kubernetes.io/serviceaccount;
//   exec:      the same in a mount namespace of its own when the agent can make one (root and
//              util-linux), else only LEVEE_SERVICEACCOUNT_DIR (always set): warned once.
import { splitKey } from "../../../manifest/namespace.ts";
import type { Template } from "../../../manifest/template.ts";
import type { Logger } from "../../../runtime/log.ts";
import type { KubeAccess } from "../../kube-access/kube-access.ts";
import {
  type FileAccess,
  SERVICE_ACCOUNT_PATH,
  serviceAccountDir,
  writeServiceAccountFiles,
} from "../../kube-access/service-account-files.ts";
import { WorkerSpecError } from "../drivers/driver.ts";
import { mountNamespaceProblem } from "../drivers/mount-namespace.ts";
import { resolveIds } from "../drivers/system-users.ts";
import type { PrestartStep } from "./prestart-step.ts";

export interface KubeApiStepDeps {
  kubeAccess?: KubeAccess | undefined;
  log: Logger;
  /** Why exec workers get no mount namespace here (tests replace the probe). */
  namespaceProblem?: () => string | undefined;
}

export function kubeApiStep(deps: KubeApiStepDeps): PrestartStep {
  const namespaceProblem = deps.namespaceProblem ?? mountNamespaceProblem;
  let warned = false;
  return {
    name: "kube-api",
    async prestart({ desired, instance, workerDir, launch }) {
      const { template } = desired;
      if (!template.kubeApi) return {};
      const access = deps.kubeAccess;
      if (!access)
        throw new WorkerSpecError(
          "kubeApi: this node's agent serves no Kubernetes API (its --kube-port is 0)",
        );
      const container = template.driver === "container";
      if (container && launch.mounts.some((m) => m.target === SERVICE_ACCOUNT_PATH))
        throw new WorkerSpecError(
          `mounts: ${SERVICE_ACCOUNT_PATH} is where kubeApi puts the service account files; mount elsewhere`,
        );
      const dir = serviceAccountDir(workerDir);
      const token = access.issueToken({
        service: desired.service,
        index: desired.index,
        instance,
        serviceAccount: template.kubeApi.serviceAccount,
      });
      writeServiceAccountFiles(
        dir,
        { token, caPem: access.caPem(), namespace: splitKey(desired.service).namespace },
        fileAccess(template),
      );
      if (container)
        return {
          mounts: [...launch.mounts, { hostPath: dir, target: SERVICE_ACCOUNT_PATH, readOnly: true }],
        };
      const problem = namespaceProblem();
      if (problem === undefined) return { serviceAccountDir: dir };
      if (!warned) {
        warned = true;
        deps.log.warn(
          `exec worker with kubeApi: ${problem}, so it runs without ${SERVICE_ACCOUNT_PATH}; its service account files are in LEVEE_SERVICEACCOUNT_DIR (a client that reads only the standard path fails)`,
          { worker: desired.key, dir },
        );
      }
      return {};
    },
  };
}

/** Who may read the files: the worker's user when the agent can tell it (see service-account-files.ts). */
export function fileAccess(
  template: Pick<Template, "driver" | "user" | "group">,
  root = process.getuid?.() === 0,
): FileAccess {
  if (template.driver === "exec") {
    if (!root || (template.user === undefined && template.group === undefined)) return { shared: false };
    const ids = resolveIds(template.user, template.group);
    return "error" in ids ? { shared: false } : { owner: ids, shared: false };
  }
  const numeric = (value: string | number | undefined) =>
    value === undefined ? undefined : /^\d+$/.test(String(value)) ? Number(value) : Number.NaN;
  const uid = numeric(template.user);
  const gid = numeric(template.group);
  // The image's default user, or a name from its own /etc/passwd: unknown here.
  if (uid === undefined || Number.isNaN(uid) || Number.isNaN(gid) || !root) return { shared: true };
  return { owner: { uid, gid }, shared: false };
}
