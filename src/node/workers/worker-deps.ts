// What a worker controller needs from its agent: who and where this node is (for the instances'
// environment and the drivers' labels), its Kubernetes API (tokens for workers with kubeApi), the drivers, the host's port registry, the sources of
// artifacts and Config content, the exec log rotator, and where its record is saved and its
// status reported. The supervisor builds one for each controller.
import type { Template } from "../../manifest/template.ts";
import type { Logger } from "../../runtime/log.ts";
import type { KubeAccess } from "../kube-access/kube-access.ts";
import type { Driver } from "./drivers/driver.ts";
import type { ConfigContentSource } from "./prestart/config-content-step.ts";
import type { ArtifactSource } from "./prestart/mount-resolver.ts";
import type { PortRegistry } from "./prestart/port-registry.ts";
import type { WorkerStateSink } from "./worker-state.ts";

export interface WorkerDeps extends WorkerStateSink {
  node: string;
  dataDir: string;
  agentId: string;
  agentUrl: string;
  /** The mesh forward proxy, for workers with meshProxy: true. */
  proxy?: { url: string; host: string } | undefined;
  /** This agent's Kubernetes API, for workers with kubeApi; undefined when it serves none. */
  kubeAccess?: KubeAccess | undefined;
  log: Logger;
  driver(name: Template["driver"]): Driver;
  ports: PortRegistry;
  artifacts: ArtifactSource | undefined;
  /** Config file content by reference; missing() tells what is not on this node yet. */
  configFiles: ConfigContentSource | undefined;
  rotator: { watch(dir: string): void; unwatch(dir: string): void } | undefined;
  remove(service: string, index: number): void;
  /** After every health probe of a worker (the agent's levee_health_checks_total). */
  onHealthCheck?: ((passed: boolean) => void) | undefined;
}
