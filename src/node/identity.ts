// A node's identity as it keeps it in its own SQLite (meta table): name, uid, MQTT URL and
// credentials, and the broker's CA for mqtts://. Written once by the join (an edge: src/edge/join.ts;
// the cloud registers its own node itself), read at every start, so restarts need no token and no cloud.
import type { Store } from "../store/store.ts";

export interface NodeIdentity {
  name: string;
  uid: string;
  mqttUrl: string;
  username: string;
  password: string;
  /** The CA (PEM) that the broker's certificate must chain to, for an mqtts:// URL; else none. */
  mqttCa?: string | undefined;
}

/** The meta keys the identity is kept under. */
export const IDENTITY_META = {
  name: "node-name",
  uid: "node-uid",
  mqttUrl: "mqtt-url",
  username: "mqtt-username",
  password: "mqtt-password",
} as const;
/** Optional: empty means none (the system CAs). */
const CA_KEY = "mqtt-ca";

export function storedIdentity(store: Store): NodeIdentity | undefined {
  const values = Object.fromEntries(Object.entries(IDENTITY_META).map(([k, key]) => [k, store.getMeta(key)]));
  if (!values.uid || !values.password || !values.username || !values.mqttUrl || !values.name)
    return undefined;
  const ca = store.getMeta(CA_KEY);
  return { ...(values as unknown as NodeIdentity), ...(ca ? { mqttCa: ca } : {}) };
}

export function saveIdentity(store: Store, identity: NodeIdentity): void {
  store.tx(() => {
    for (const [k, key] of Object.entries(IDENTITY_META))
      store.setMeta(key, identity[k as keyof typeof IDENTITY_META]);
    store.setMeta(CA_KEY, identity.mqttCa ?? "");
  });
}
