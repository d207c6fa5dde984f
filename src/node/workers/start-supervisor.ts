// Builds this node's supervisor from the agent's configuration: the drivers, the host-wide port
// registry, the artifact cache (under the node's download cap), the stager of held-back generations, the Config content store, the agent URL workers get as
// LEVEE_AGENT_URL and the Kubernetes API workers with kubeApi get (--kube-port, at the advertise
// address); its status goes to the node's one status outbox from the first change on.
// Registered with the lifecycle so that shutting the agent down detaches from the workers (they
// keep running).

import { join } from "node:path";
import type { StagingEntry } from "../../protocol/messages.ts";
import type { HostPort } from "../../runtime/host-port.ts";
import { ArtifactCache, type ArtifactCacheOptions } from "../artifacts/artifact-cache.ts";
import type { ArtifactSource } from "../artifacts/artifact-source.ts";
import { BandwidthLimit } from "../artifacts/bandwidth-limit.ts";
import { ConfigContent } from "../configs/config-content.ts";
import type { ConfigContentSource } from "../configs/content-source.ts";
import { kubeAccess } from "../kube-access/kube-access.ts";
import type { StatusOutbox } from "../link/status-outbox.ts";
import type { LocalNode } from "../local-node.ts";
import { artifactFetcher } from "../staging/fetchables.ts";
import { imageFetcher } from "../staging/image-fetcher.ts";
import { Stager } from "../staging/stager.ts";
import { ContainerDriver } from "./drivers/container-driver.ts";
import { ExecDriver } from "./drivers/exec-driver.ts";
import { LogRotator, PREVIOUS_LOG, workerLogDir } from "./logs/log-files.ts";
import { defaultRegistryPath, PortRegistry } from "./prestart/port-registry.ts";
import { Supervisor } from "./supervisor.ts";

export interface SupervisorStartOptions {
  /** The name this node joined as. */
  name: string;
  /** The node's status outbox: every worker status change is recorded there. */
  outbox: StatusOutbox;
  /** Where Config content comes from when not from the cloud over HTTP (the cloud's own node). */
  configSource?: ConfigContentSource | undefined;
  /** Metrics hooks: after every health probe, after every artifact fetch attempt. */
  onHealthCheck?: ((passed: boolean) => void) | undefined;
  onArtifactFetch?: ArtifactCacheOptions["onFetch"];
  /** The node's download cap (shared with what it serves to peers); default one from its config. */
  bandwidth?: BandwidthLimit | undefined;
  /** Where artifacts come from; default the cloud (peer-fetch.ts: peers first). */
  artifactSource?: ArtifactSource | undefined;
  /** Where this node's staging reports go (the edge link's reportStaging). */
  reportStaging?: ((entries: StagingEntry[]) => void) | undefined;
}

export function startSupervisor(
  node: Pick<LocalNode, "config" | "store" | "log" | "lifecycle">,
  options: SupervisorStartOptions,
): Supervisor {
  const { config, store, log, lifecycle } = node;
  const { outbox } = options;
  const ports = new PortRegistry(defaultRegistryPath(), config.dataDir);
  // One cap for all downloads of the node: its own setting, lowered by the cloud's (in the plan).
  const bandwidth = options.bandwidth ?? new BandwidthLimit(config.downloadBandwidth);
  const artifacts = new ArtifactCache({
    ...(options.artifactSource ? { source: options.artifactSource } : {}),
    store,
    dataDir: config.dataDir,
    log: log.child({ component: "artifacts" }),
    onFetch: options.onArtifactFetch,
    bandwidth,
  });
  // One container driver for the workers and for staging's image loads (it shares a load in flight).
  let container: ContainerDriver | undefined;
  const containerDriver = () =>
    (container ??= new ContainerDriver({
      socket: config.dockerSocket,
      previousLog: (key) => join(workerLogDir(config.dataDir, key.service, key.index), PREVIOUS_LOG),
    }));
  const stager = new Stager({
    fetchers: [artifactFetcher(artifacts), imageFetcher(containerDriver, artifacts)],
    report: (entries) => options.reportStaging?.(entries),
    log: log.child({ component: "staging" }),
  });
  const rotator = new LogRotator({ log: log.child({ component: "logs" }) });
  rotator.start();
  const supervisor = new Supervisor({
    store,
    log: log.child({ component: "supervisor" }),
    node: options.name,
    dataDir: config.dataDir,
    agentId: config.dataDir,
    agentUrl: agentUrl(workerReachable(config.agentListen, config.proxyListen.host)),
    proxy: { url: agentUrl(config.proxyListen), host: config.proxyListen.host },
    kubeAccess: config.kubeListen
      ? kubeAccess({
          db: store.db,
          dataDir: config.dataDir,
          node: options.name,
          host: config.advertiseAddress,
          port: config.kubeListen.port,
        })
      : undefined,
    drivers: {
      exec: new ExecDriver(process.env, {
        warn: (message, fields) => log.child({ component: "supervisor" }).warn(message, fields),
      }),
      container: containerDriver,
    },
    ports,
    rotator,
    artifacts,
    configFiles: new ConfigContent({
      store,
      log: log.child({ component: "config-content" }),
      source: options.configSource,
    }),
    status: (status) => outbox.record(status),
    onHealthCheck: options.onHealthCheck,
    onPlan: (plan) => {
      bandwidth.setCloudCap(plan.downloadBandwidth);
      stager.apply(plan);
    },
  });
  lifecycle.add("supervisor", async () => {
    if (config.stopWorkersOnExit) await supervisor.stopAll();
    supervisor.close();
    stager.close();
    await rotator.close();
    ports.close();
  });
  return supervisor;
}

/** A wildcard listener is reached over loopback: workers then need no agent token. */
function workerReachable(listen: HostPort, loopbackHost: string): HostPort {
  return listen.host === "0.0.0.0" || listen.host === "::"
    ? { host: loopbackHost, port: listen.port }
    : listen;
}

function agentUrl(listen: HostPort): string {
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  return `http://${host}:${listen.port}`;
}
