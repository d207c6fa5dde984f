// The resolved settings of a running agent (cloud or edge): loaded options with the machine
// defaults filled in and listen addresses resolved against --bind-address.
import { resolve } from "node:path";
import {
  agentApiHost,
  defaultAdvertiseAddress,
  defaultDataDir,
  defaultLogFormat,
  defaultNodeName,
} from "./defaults.ts";
import { type HostPort, listenAddress } from "./host-port.ts";
import type { Options } from "./schema.ts";

export type Mode = "cloud" | "edge";

export interface AgentConfig {
  mode: Mode;
  dataDir: string;
  nodeName: string;
  bindAddress: string;
  advertiseAddress: string;
  agentListen: HostPort;
  logLevel: Options["logLevel"];
  logFormat: "json" | "text";
}

export interface CloudConfig extends AgentConfig {
  mode: "cloud";
  apiListen: HostPort;
  mqttListen: HostPort;
  mqttUrl: string | undefined;
}

export interface EdgeConfig extends AgentConfig {
  mode: "edge";
  cloud: string;
  token: string | undefined;
}

type AgentOptions = Pick<
  Options,
  "dataDir" | "nodeName" | "bindAddress" | "advertiseAddress" | "agentPort" | "logLevel" | "logFormat"
>;

export function resolveAgentConfig(mode: Mode, o: AgentOptions): AgentConfig {
  return {
    mode,
    dataDir: resolve(o.dataDir ?? defaultDataDir()),
    nodeName: o.nodeName ?? defaultNodeName(),
    bindAddress: o.bindAddress,
    advertiseAddress: o.advertiseAddress ?? defaultAdvertiseAddress(o.bindAddress),
    agentListen: { host: agentApiHost(o.bindAddress), port: o.agentPort },
    logLevel: o.logLevel,
    logFormat: o.logFormat ?? defaultLogFormat(),
  };
}

export function resolveCloudConfig(
  o: AgentOptions & Pick<Options, "apiListen" | "mqttListen" | "mqttUrl">,
): CloudConfig {
  return {
    ...resolveAgentConfig("cloud", o),
    mode: "cloud",
    apiListen: listenAddress(o.apiListen, o.bindAddress),
    mqttListen: listenAddress(o.mqttListen, o.bindAddress),
    mqttUrl: o.mqttUrl,
  };
}

export function resolveEdgeConfig(o: AgentOptions & Pick<Options, "cloud" | "token">): EdgeConfig {
  return { ...resolveAgentConfig("edge", o), mode: "edge", cloud: o.cloud, token: o.token };
}
