// Where a node gets the bytes of a Config file its plan references: the cloud API
// (GET /api/v1/config-content/SHA) with the node's own credentials (HTTP Basic: its MQTT username
// and password), the way artifacts are fetched. The cloud answers only for content the node's
// current plan references. On the cloud's own node the cloud hands in a source that reads its
// database directly (cloud-agent.ts).

import { describeError, PermanentError, RecoverableError } from "../../runtime/errors.ts";
import type { Store } from "../../store/store.ts";
import { storedIdentity } from "../identity.ts";

export interface ConfigContentSource {
  /** For messages: "the cloud at http://10.0.0.1:7400". */
  readonly description: string;
  /** The bytes with this sha256 (not yet verified). Throws RecoverableError or PermanentError. */
  fetch(sha256: string, signal: AbortSignal): Promise<Uint8Array>;
}

/** Content the cloud does not serve this node (not, or no longer, in its plan). */
export class NotInPlan extends PermanentError {}

export function httpConfigSource(options: {
  url: string;
  username: string;
  password: string;
}): ConfigContentSource {
  const base = options.url.replace(/\/+$/, "");
  const authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString("base64")}`;
  const description = `the cloud at ${base}`;
  return {
    description,
    async fetch(sha256, signal) {
      let res: Response;
      try {
        res = await fetch(`${base}/api/v1/config-content/${sha256}`, {
          headers: { authorization, "accept-encoding": "identity" },
          signal,
        });
      } catch (err) {
        if (signal.aborted) throw err;
        throw new RecoverableError(`cannot reach ${description}: ${describeError(err)}`);
      }
      if (res.status === 200) {
        try {
          return new Uint8Array(await res.arrayBuffer());
        } catch (err) {
          if (signal.aborted) throw err;
          throw new RecoverableError(`${description}: the transfer broke off: ${describeError(err)}`);
        }
      }
      const detail = await res.text().catch(() => "");
      if (res.status === 404) throw new NotInPlan(`${description} does not serve it to this node: ${detail}`);
      if (res.status === 401 || res.status === 403) {
        throw new PermanentError(
          `${description} refused this node's credentials (HTTP ${res.status}); was the node deleted?`,
        );
      }
      if (res.status === 408 || res.status === 429 || res.status >= 500)
        throw new RecoverableError(`${description}: HTTP ${res.status}`);
      throw new PermanentError(`${description}: unexpected answer HTTP ${res.status}: ${detail}`);
    },
  };
}

/**
 * The source of an edge: the cloud at meta "cloud-url" with the identity stored at join, read at
 * every fetch (an edge that has not joined yet gets a RecoverableError until it has).
 */
export function nodeConfigSource(store: Store): ConfigContentSource {
  return {
    get description() {
      const url = store.getMeta("cloud-url");
      return url ? `the cloud at ${url}` : "the cloud (not joined yet)";
    },
    async fetch(sha256, signal) {
      const url = store.getMeta("cloud-url");
      const identity = storedIdentity(store);
      if (!url || !identity)
        throw new RecoverableError("this node has not joined the cloud yet: no cloud URL or credentials");
      return httpConfigSource({ url, username: identity.username, password: identity.password }).fetch(
        sha256,
        signal,
      );
    },
  };
}
