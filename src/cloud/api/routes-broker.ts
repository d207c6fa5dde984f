// GET /api/v1/broker-config/mosquitto: the password and ACL files that let an external Mosquitto
// (--mqtt-url) authenticate levee-cloud and every joined node and enforce the same topic rules as
// the embedded broker. Regenerate and reload Mosquitto (SIGHUP) after nodes join.
import type { MiddlewareHandler } from "hono";
import type { Store } from "../../store/store.ts";
import { mosquittoAclFile, mosquittoPasswordFile } from "../mosquitto-config.ts";
import { mosquittoUsers } from "../mosquitto-files.ts";
import type { ApiRoutes } from "./route-registry.ts";

/** `guard`: the admin token and the body limit. */
export function mountBrokerRoutes(
  api: ApiRoutes,
  store: Store,
  cloudPassword: string,
  guard: MiddlewareHandler,
): void {
  const spec = {
    method: "get",
    path: "/broker-config/mosquitto",
    summary: "The password and ACL files for an external Mosquitto",
    tag: "cluster",
    auth: "admin",
    responses: { 200: "{passwordFile, aclFile}: the files' text" },
  } as const;
  api.add(spec, guard, (c) => {
    const users = mosquittoUsers(store, cloudPassword);
    return c.json({ passwordFile: mosquittoPasswordFile(users), aclFile: mosquittoAclFile() });
  });
}
