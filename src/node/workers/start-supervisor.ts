// Builds this node's supervisor from the agent's configuration: the drivers, the host-wide port
// registry, the artifact cache, the Config content store, and the agent URL workers get as LEVEE_AGENT_URL. Registered with
// the lifecycle so that shutting the agent down detaches from the workers (they keep running).

import type { HostPort } from "../../runtime/host-port.ts";
import { ArtifactCache } from "../artifacts/artifact-cache.ts";
import { ConfigContent } from "../configs/config-content.ts";
import { StatusOutbox } from "../link/status-outbox.ts";
import type { LocalNode } from "../local-node.ts";
import { ContainerDriver } from "./drivers/container-driver.ts";
import { ExecDriver } from "./drivers/exec-driver.ts";
import { LogRotator } from "./logs/log-files.ts";
import { defaultRegistryPath, PortRegistry } from "./prestart/port-registry.ts";
import { Supervisor } from "./supervisor.ts";

export function startSupervisor(node: LocalNode, nodeName: string): Supervisor {
  const { config, store, log, lifecycle } = node;
  const ports = new PortRegistry(defaultRegistryPath(), config.dataDir);
  const outbox = new StatusOutbox(store);
  const rotator = new LogRotator({ log: log.child({ component: "logs" }) });
  rotator.start();
  const supervisor = new Supervisor({
    store,
    log: log.child({ component: "supervisor" }),
    node: nodeName,
    dataDir: config.dataDir,
    agentId: config.dataDir,
    agentUrl: agentUrl(workerReachable(config.agentListen, config.proxyListen.host)),
    proxy: { url: agentUrl(config.proxyListen), host: config.proxyListen.host },
    drivers: {
      exec: new ExecDriver(),
      container: () => new ContainerDriver({ socket: config.dockerSocket }),
    },
    ports,
    rotator,
    artifacts: new ArtifactCache({
      store,
      dataDir: config.dataDir,
      log: log.child({ component: "artifacts" }),
    }),
    configFiles: new ConfigContent({
      store,
      log: log.child({ component: "config-content" }),
      source: node.configSource,
    }),
    status: (status) => outbox.record(status),
  });
  lifecycle.add("supervisor", async () => {
    if (config.stopWorkersOnExit) await supervisor.stopAll();
    supervisor.close();
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
