// Joining the cloud, once: POST /api/v1/join with the join token, then the node's identity, MQTT
// credentials and the broker's CA (for mqtts://) are kept (src/node/identity.ts), so restarts need
// no token and no cloud. The join also brings the node's mesh certificate, for a key
// made here (src/mesh/transport/mesh-credentials.ts keeps it renewed), and the cloud's
// plan-signing key every plan is verified with (src/node/plan-key.ts).
// A refusal (bad/expired token, name taken) is final: a RefusalError, exit 2. An unreachable cloud
// is not: the caller retries with backoff.
import { arch } from "node:os";
import { newNodeKey } from "../mesh/transport/certificates.ts";
import { saveMeshTls } from "../mesh/transport/mesh-credentials.ts";
import { type NodeIdentity, saveIdentity } from "../node/identity.ts";
import { planKeyOf, savePlanKey } from "../node/plan-key.ts";
import { readJsonAnswer } from "../runtime/bounded-read.ts";
import { describeError, RecoverableError, RefusalError } from "../runtime/errors.ts";
import type { Store } from "../store/store.ts";

/** The cloud could not be reached or answered 5xx: the caller retries with backoff. */
export class CloudUnreachable extends RecoverableError {}

interface JoinOptions {
  store: Store;
  cloudUrl: string;
  nodeName: string;
  token: string | undefined;
  addresses: string[];
  agentVersion: string;
  labels?: Record<string, string>;
}

/** Joins with the join token and stores the identity. Only called when none is stored. */
export async function joinCloud(options: JoinOptions): Promise<NodeIdentity> {
  if (!options.token) {
    throw new RefusalError(
      `node ${options.nodeName} has not joined the cloud yet: pass --token (create one on the cloud with 'levee ctl token create')`,
    );
  }
  const meshKey = newNodeKey();
  const body = {
    v: 1,
    token: options.token,
    mesh: { publicKey: meshKey.publicKey },
    node: {
      name: options.nodeName,
      labels: options.labels ?? {},
      addresses: options.addresses,
      agentVersion: options.agentVersion,
      arch: arch(),
    },
  };
  let res: Response;
  try {
    res = await fetch(new URL("/api/v1/join", options.cloudUrl), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new CloudUnreachable(`cannot reach the cloud at ${options.cloudUrl}: ${describeError(err)}`);
  }
  const answer = (await readJsonAnswer(res, "the cloud's join answer")) as {
    error?: string;
    node?: { name: string; uid: string };
    mqtt?: { url: string; username: string; password: string; ca?: unknown };
    mesh?: { ca?: unknown; certificate?: unknown };
    planKey?: unknown;
  };
  if (res.status === 401 || res.status === 409 || res.status === 400) {
    throw new RefusalError(
      `the cloud refused to join node ${options.nodeName}: ${answer.error ?? `HTTP ${res.status}`}`,
    );
  }
  if (!res.ok || !answer.node || !answer.mqtt) {
    throw new CloudUnreachable(
      `join failed at ${options.cloudUrl}: HTTP ${res.status} ${answer.error ?? ""}`.trim(),
    );
  }
  const identity: NodeIdentity = {
    name: answer.node.name,
    uid: answer.node.uid,
    mqttUrl: answer.mqtt.url,
    username: answer.mqtt.username,
    password: answer.mqtt.password,
    ...(typeof answer.mqtt.ca === "string" && answer.mqtt.ca !== "" ? { mqttCa: answer.mqtt.ca } : {}),
  };
  const planKey = planKeyOf(answer.planKey);
  options.store.tx(() => {
    saveIdentity(options.store, identity);
    if (planKey) savePlanKey(options.store, planKey);
    const mesh = answer.mesh;
    if (typeof mesh?.ca === "string" && typeof mesh.certificate === "string")
      saveMeshTls(options.store, { ca: mesh.ca, cert: mesh.certificate, key: meshKey.key });
  });
  return identity;
}
