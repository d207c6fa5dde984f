// GET /api/v1/broker-config/mosquitto: the password and ACL files that let an external Mosquitto
// (--mqtt-url) authenticate levee-cloud and every joined node and enforce the same topic rules as
// the embedded broker. Regenerate and reload Mosquitto (SIGHUP) after nodes join.
import type { Hono } from "hono";
import type { Store } from "../../store/store.ts";
import { mosquittoAclFile, mosquittoPasswordFile } from "../../sync/mosquitto-config.ts";
import { hashPassword } from "../../sync/mosquitto-password.ts";
import { CLOUD_USER } from "../../sync/topics.ts";
import { nodePasswordHashes } from "../sync-store.ts";

/** The hash of levee-cloud's password, made once so that regenerated files do not churn. */
function cloudPasswordHash(store: Store, cloudPassword: string): string {
  const stored = store.getMeta("cloud-mqtt-password-hash");
  if (stored) return stored;
  const hash = hashPassword(cloudPassword);
  store.setMeta("cloud-mqtt-password-hash", hash);
  return hash;
}

export function mountBrokerRoutes(api: Hono, store: Store, cloudPassword: string): void {
  api.get("/broker-config/mosquitto", (c) => {
    const users = [
      { username: CLOUD_USER, hash: cloudPasswordHash(store, cloudPassword) },
      ...nodePasswordHashes(store),
    ];
    return c.json({ passwordFile: mosquittoPasswordFile(users), aclFile: mosquittoAclFile() });
  });
}
