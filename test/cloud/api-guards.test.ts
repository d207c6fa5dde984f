// Who may call each route group of the cloud API, and which body limit it carries, per route (not
// by the order the groups are mounted in): the join is open and bounded like JSON; certificates
// and Config content take the admin or the node itself; the admin routes need the admin token; an
// artifact upload is bounded by --artifact-max-size only, a log upload by nothing; a path that is
// no endpoint is a 401 without the admin token and a 404 with it (a 405 when the path is served
// with other methods).
import { afterAll, describe, expect, test } from "bun:test";
import { MAX_BODY_BYTES } from "../../src/cloud/api/app.ts";
import { ArtifactStore } from "../../src/cloud/artifact-store.ts";
import { LogStreams } from "../../src/cloud/log-streams.ts";
import { loadOrCreateNodeCa } from "../../src/cloud/node-ca.ts";
import { openStore } from "../../src/store/store.ts";
import { ADMIN_TOKEN, inProcessCloud, registeredNode } from "../harness/cloud-api.ts";
import { makeTempDir } from "../harness/cluster.ts";

const dataDir = makeTempDir();
const store = openStore({ dataDir, mode: "cloud" });
afterAll(() => store.close());
const artifacts = new ArtifactStore(store, dataDir, { maxBytes: 2 * MAX_BODY_BYTES });
const logs = new LogStreams({ publish: () => true });
afterAll(() => logs.close());
const nodeCa = loadOrCreateNodeCa(makeTempDir());
const { app } = inProcessCloud({ store, replanOnJoin: false, deps: { artifacts, logs, nodeCa } });

const { username, password } = registeredNode(store, "edge1");

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const node = { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` };
/** A request that declares a body larger than the JSON limit (and sends a small one). */
const declaredLarge = (headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  body: "{}",
  headers: { ...headers, "content-type": "application/json", "content-length": String(MAX_BODY_BYTES + 1) },
});
const call = (path: string, init: RequestInit = {}) => app.request(`/api/v1${path}`, init);
const error = async (res: Response) => ((await res.json()) as { error: string }).error;
const JSON_LIMIT = `request body larger than ${MAX_BODY_BYTES} bytes`;

describe("admin routes", () => {
  test("need the admin token; a body past the JSON limit is a 413 before the token is looked at", async () => {
    for (const path of ["/services", "/nodes", "/workers", "/routes", "/broker-config/mosquitto"]) {
      expect((await call(path)).status, path).toBe(401);
      expect((await call(path, { headers: node })).status, path).toBe(401);
      expect((await call(path, { headers: admin })).status, path).toBe(200);
    }
    expect((await call("/tokens", { method: "POST", body: "{}" })).status).toBe(401);
    expect((await call("/tokens", { method: "POST", body: "{}", headers: admin })).status).toBe(201);
    const large = await call("/apply", declaredLarge());
    expect(large.status).toBe(413);
    expect(await error(large)).toBe(JSON_LIMIT);
    expect((await call("/tokens", declaredLarge(admin))).status).toBe(413);
  });

  test("a path that is no endpoint: 401 without the admin token (and 413 past the limit), 404 with it", async () => {
    for (const path of ["/nope", "/artifacts/a/b", "/logs"]) {
      const anonymous = await call(path);
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.headers.get("www-authenticate"), path).toBe('Bearer realm="levee"');
      const known = await call(path, { headers: admin });
      expect(known.status, path).toBe(404);
      expect(await error(known)).toBe(`no such endpoint: GET /api/v1${path}`);
    }
    expect((await call("/nope", declaredLarge())).status).toBe(413);
  });

  test("a method a path does not serve: 401 without the admin token, 405 with Allow with it", async () => {
    expect((await call("/join")).status).toBe(401);
    const known = await call("/join", { headers: admin });
    expect(known.status).toBe(405);
    expect(known.headers.get("allow")).toBe("POST");
    expect(await error(known)).toBe("method GET is not allowed on /api/v1/join; it answers POST");
  });
});

describe("routes nodes call", () => {
  test("the join is open, bounded like JSON", async () => {
    const open = await call("/join", { method: "POST", body: "{}" });
    expect(open.status).toBe(400);
    const large = await call("/join", declaredLarge());
    expect(large.status).toBe(413);
    expect(await error(large)).toBe(JSON_LIMIT);
  });

  test("a mesh certificate: the admin or the node itself, bounded like JSON", async () => {
    const anonymous = await call("/nodes/edge1/certificate", { method: "POST", body: "{}" });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe('Bearer realm="levee", Basic realm="levee"');
    const bad = { method: "POST", body: "{}" };
    expect((await call("/nodes/edge1/certificate", { ...bad, headers: node })).status).toBe(400);
    expect((await call("/nodes/edge1/certificate", { ...bad, headers: admin })).status).toBe(400);
    expect((await call("/nodes/other/certificate", { ...bad, headers: node })).status).toBe(403);
    expect((await call("/nodes/edge1/certificate", declaredLarge())).status).toBe(413);
  });

  test("Config content: the admin or a node", async () => {
    const sha = "0".repeat(64);
    expect((await call(`/config-content/${sha}`)).status).toBe(401);
    expect((await call(`/config-content/${sha}`, { headers: node })).status).toBe(404);
    expect((await call(`/config-content/${sha}`, { headers: admin })).status).toBe(404);
  });

  test("artifacts: uploads by the admin, bounded by the artifact limit only; reads by a node too", async () => {
    const anonymous = await call("/artifacts?name=big", { method: "POST", body: "x" });
    expect(anonymous.status).toBe(401);
    const asNode = await call("/artifacts?name=big", { method: "POST", body: "x", headers: node });
    expect(asNode.status).toBe(401);
    const big = new Uint8Array(MAX_BODY_BYTES + 1);
    const stored = await call("/artifacts?name=big", { method: "POST", body: big, headers: admin });
    expect(stored.status).toBe(201);
    expect((await call("/artifacts", { headers: node })).status).toBe(401);
    expect((await call(`/artifacts/${"0".repeat(64)}`, { headers: node })).status).toBe(403);
    expect((await call(`/artifacts/${"0".repeat(64)}`)).status).toBe(401);
  });

  test("log uploads: only a node, with no body limit before the stream registry", async () => {
    const id = "a".repeat(32);
    const anonymous = await call(`/logs/streams/${id}`, { method: "POST", body: "x" });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe('Basic realm="levee"');
    expect((await call(`/logs/streams/${id}`, { method: "POST", body: "x", headers: admin })).status).toBe(
      401,
    );
    // Past the JSON limit and still not a 413: the registry answers (no such stream).
    const large = await call(`/logs/streams/${id}`, declaredLarge(node));
    expect(large.status).toBe(404);
    expect(await error(large)).toContain(`no log stream ${id} is waiting`);
    expect((await call("/logs/web?node=edge1")).status).toBe(401);
  });
});
