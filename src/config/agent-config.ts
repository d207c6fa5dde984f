// The resolved settings of a running agent (cloud or edge): loaded options with the machine
// defaults filled in and listen addresses resolved against --bind-address.
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { UsageError } from "../runtime/errors.ts";
import { type HostPort, listenAddress } from "../runtime/host-port.ts";
import {
  agentApiHost,
  defaultAdvertiseAddress,
  defaultDataDir,
  defaultLogFormat,
  defaultNodeName,
} from "./defaults.ts";
import type { Options } from "./schema.ts";

export type Mode = "cloud" | "edge";

export interface AgentConfig {
  mode: Mode;
  dataDir: string;
  nodeName: string;
  bindAddress: string;
  advertiseAddress: string;
  /** The local agent API (--agent-port on --agent-address, by default the agent's loopback address). */
  agentListen: HostPort;
  /** The mesh tunnel listener (--tunnel-port on the bind address). */
  tunnelListen: HostPort;
  /** The mesh forward proxy (--proxy-port on the agent's loopback address, whatever --agent-address is). */
  proxyListen: HostPort;
  /** This agent's Kubernetes API (--kube-port on the bind address); undefined when off (port 0). */
  kubeListen?: HostPort | undefined;
  /** Mesh traffic to other nodes always through the relay (--mesh-relay-only). */
  meshRelayOnly: boolean;
  /** Same-node service ports through the kernel when it can (--mesh-fast-path). */
  meshFastPath: "auto" | "off";
  /** Threads carrying the mesh's service and upstream ports (--mesh-threads; auto resolved). */
  meshThreads: number;
  /** Stop the workers at agent shutdown (levee demo); by default they keep running. */
  stopWorkersOnExit: boolean;
  /** Cap on the node's artifact downloads, bytes/s (undefined: none unless the cloud sets one). */
  downloadBandwidth?: number | undefined;
  /** Fetch artifacts from peers on the node's network that have them, before the cloud (--peer-fetch). */
  peerFetch: "auto" | "off";
  /** Docker Engine API socket for container workers. */
  dockerSocket: string;
  logLevel: Options["logLevel"];
  logFormat: "json" | "text";
}

export interface CloudConfig extends AgentConfig {
  mode: "cloud";
  apiListen: HostPort;
  mqttListen: HostPort;
  mqttUrl: string | undefined;
  /** Files of the embedded broker's TLS certificate and key (--mqtt-tls-cert, --mqtt-tls-key). */
  mqttTls: { certFile: string; keyFile: string } | undefined;
  /** CA file the cloud and its edges trust for the broker (--mqtt-tls-ca). */
  mqttTlsCa: string | undefined;
  /** Mosquitto files the cloud keeps current (--mosquitto-config-dir, --mosquitto-reload-command). */
  mosquitto: { configDir: string; reloadCommand: string | undefined } | undefined;
  /** Largest artifact upload in bytes (--artifact-max-size). */
  artifactMaxBytes: number;
  /** Limits of one node's plan (--max-services-per-node, --max-workers-per-node). */
  nodeLimits: { servicesPerNode: number; workersPerNode: number };
  /** Generations kept of each Service and Dayu object (rollout history). */
  historyLimit: number;
}

export interface EdgeConfig extends AgentConfig {
  mode: "edge";
  cloud: string;
  token: string | undefined;
}

type AgentOptions = Pick<
  Options,
  | "dataDir"
  | "nodeName"
  | "bindAddress"
  | "agentAddress"
  | "advertiseAddress"
  | "agentPort"
  | "tunnelPort"
  | "proxyPort"
  | "kubePort"
  | "meshRelayOnly"
  | "meshFastPath"
  | "meshThreads"
  | "stopWorkersOnExit"
  | "downloadBandwidth"
  | "peerFetch"
  | "dockerSocket"
  | "logLevel"
  | "logFormat"
>;

export function resolveAgentConfig(mode: Mode, o: AgentOptions): AgentConfig {
  return {
    mode,
    dataDir: resolve(o.dataDir ?? defaultDataDir()),
    nodeName: o.nodeName ?? defaultNodeName(),
    bindAddress: o.bindAddress,
    advertiseAddress: o.advertiseAddress ?? defaultAdvertiseAddress(o.bindAddress),
    agentListen: { host: o.agentAddress ?? agentApiHost(o.bindAddress), port: o.agentPort },
    tunnelListen: { host: o.bindAddress, port: o.tunnelPort },
    proxyListen: { host: agentApiHost(o.bindAddress), port: o.proxyPort },
    kubeListen: o.kubePort === 0 ? undefined : { host: o.bindAddress, port: o.kubePort },
    meshRelayOnly: o.meshRelayOnly,
    meshFastPath: o.meshFastPath,
    meshThreads: o.meshThreads === "auto" ? autoMeshThreads() : o.meshThreads,
    stopWorkersOnExit: o.stopWorkersOnExit,
    downloadBandwidth: o.downloadBandwidth,
    peerFetch: o.peerFetch,
    dockerSocket: o.dockerSocket,
    logLevel: o.logLevel,
    logFormat: o.logFormat ?? defaultLogFormat(),
  };
}

type CloudOptions = AgentOptions &
  Pick<
    Options,
    | "apiListen"
    | "mqttListen"
    | "mqttUrl"
    | "mqttTlsCert"
    | "mqttTlsKey"
    | "mqttTlsCa"
    | "mosquittoConfigDir"
    | "mosquittoReloadCommand"
    | "artifactMaxSize"
    | "maxServicesPerNode"
    | "maxWorkersPerNode"
    | "historyLimit"
  >;

export function resolveCloudConfig(o: CloudOptions): CloudConfig {
  const problem = cloudOptionProblem(o);
  if (problem) throw new UsageError(`levee cloud: ${problem}`);
  return {
    ...resolveAgentConfig("cloud", o),
    mode: "cloud",
    apiListen: listenAddress(o.apiListen, o.bindAddress),
    mqttListen: listenAddress(o.mqttListen, o.bindAddress),
    mqttUrl: o.mqttUrl,
    mqttTls:
      o.mqttTlsCert && o.mqttTlsKey
        ? { certFile: resolve(o.mqttTlsCert), keyFile: resolve(o.mqttTlsKey) }
        : undefined,
    mqttTlsCa: o.mqttTlsCa ? resolve(o.mqttTlsCa) : undefined,
    mosquitto: o.mosquittoConfigDir
      ? { configDir: resolve(o.mosquittoConfigDir), reloadCommand: o.mosquittoReloadCommand }
      : undefined,
    artifactMaxBytes: o.artifactMaxSize,
    nodeLimits: { servicesPerNode: o.maxServicesPerNode, workersPerNode: o.maxWorkersPerNode },
    historyLimit: o.historyLimit,
  };
}

/** Options that only make sense together (or not together), as one line; undefined when fine. */
export function cloudOptionProblem(o: Partial<CloudOptions>): string | undefined {
  if (Boolean(o.mqttTlsCert) !== Boolean(o.mqttTlsKey))
    return "--mqtt-tls-cert and --mqtt-tls-key go together: give both or neither";
  if (o.mqttTlsCert && o.mqttUrl)
    return "--mqtt-tls-cert is for the embedded broker; with --mqtt-url use an mqtts:// URL (and --mqtt-tls-ca for its CA)";
  if (o.mosquittoConfigDir && !o.mqttUrl)
    return "--mosquitto-config-dir is for an external Mosquitto: give --mqtt-url too";
  if (o.mosquittoReloadCommand && !o.mosquittoConfigDir)
    return "--mosquitto-reload-command needs --mosquitto-config-dir";
  return undefined;
}

export function resolveEdgeConfig(o: AgentOptions & Pick<Options, "cloud" | "token">): EdgeConfig {
  return { ...resolveAgentConfig("edge", o), mode: "edge", cloud: o.cloud, token: o.token };
}

/** Most mesh threads `auto` picks: beyond it a small device's workers need the cores more. */
export const AUTO_MESH_THREADS_MAX = 4;

/** `--mesh-threads auto`: the CPUs this process may use (its affinity), at most AUTO_MESH_THREADS_MAX. */
export function autoMeshThreads(available = availableParallelism()): number {
  return Math.max(1, Math.min(AUTO_MESH_THREADS_MAX, available));
}
