// The cloud's MQTT broker: aedes embedded in the process on --mqtt-listen, or, with --mqtt-url,
// a connection to an external broker (Mosquitto, EMQX, ...). Either way the rest of the cloud
// sees one `BrokerLink` that says whether it is up.
//
// Clients must authenticate. Node credentials are issued at join (control-plane issue); until a
// credential checker is installed every client is refused, so an open port never means an open
// broker.
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { Aedes } from "aedes";
import mqtt, { type MqttClient } from "mqtt";
import type { HostPort } from "../config/host-port.ts";
import type { Logger } from "../runtime/log.ts";
import { listenError } from "../runtime/serve.ts";

export type CredentialCheck = (username: string, password: string) => boolean;

export interface BrokerLink {
  /** True, or why not. */
  readiness(): true | string;
  close(): Promise<void>;
  setCredentialCheck(check: CredentialCheck): void;
}

export async function startEmbeddedBroker(address: HostPort, log: Logger): Promise<BrokerLink> {
  let check: CredentialCheck = () => false;
  const broker = await Aedes.createBroker({
    id: "levee-cloud",
    authenticate: (client, username, password, done) => {
      const ok = username !== undefined && password !== undefined && check(username, password.toString());
      if (!ok) log.warn("mqtt client refused", { client: client.id, username });
      done(null, ok);
    },
  });
  const sockets = new Set<Socket>();
  const server: NetServer = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(listenError("embedded MQTT broker, --mqtt-listen", address, err)));
    server.listen(address.port, address.host, () => resolve());
  });
  let listening = true;
  log.info("mqtt broker listening", { address: `${address.host}:${address.port}` });
  return {
    readiness: () => (listening ? true : "broker stopped"),
    setCredentialCheck: (next) => {
      check = next;
    },
    close: async () => {
      listening = false;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

/** The URL without its password, for logs and messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(invalid url)";
  }
}

export function connectExternalBroker(url: string, log: Logger): BrokerLink {
  let state: true | string = "connecting";
  const client: MqttClient = mqtt.connect(url, {
    clientId: `levee-cloud-${process.pid}`,
    reconnectPeriod: 2000,
    connectTimeout: 10_000,
    protocolVersion: 5,
  });
  client.on("connect", () => {
    state = true;
    log.info("connected to external mqtt broker", { url: safeUrl(url) });
  });
  client.on("close", () => {
    if (state === true) log.warn("lost external mqtt broker", { url: safeUrl(url) });
    state = `not connected to ${safeUrl(url)}`;
  });
  client.on("error", (err) => {
    state = `external broker ${safeUrl(url)}: ${err.message}`;
  });
  return {
    readiness: () => state,
    setCredentialCheck: () => {
      // the external broker authenticates its own clients
    },
    close: () => new Promise<void>((resolve) => client.end(true, {}, () => resolve())),
  };
}
