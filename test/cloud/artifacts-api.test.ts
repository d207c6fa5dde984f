// The artifact routes in-process (hono app.request, a real store and artifact dir, no sockets):
// upload (created/unchanged, expected sha256, 413 by Content-Length and by streamed bytes), list,
// downloads with Range/If-Range/If-None-Match, delete with 409 while a Service mounts the artifact,
// and who may do what (admin token, a node's Basic credentials). Plus the pure range selection.
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { contentRange, noneMatch, selectRange } from "../../src/cloud/api/http-range.ts";
import { NodeCredentials, parseBasic } from "../../src/cloud/api/node-auth.ts";
import { ArtifactStore } from "../../src/cloud/artifact-store.ts";
import { deleteNode, joinNode } from "../../src/cloud/node-registry.ts";
import { UpgradeStore } from "../../src/cloud/upgrade/upgrade-store.ts";
import { loadOptions } from "../../src/config/load.ts";
import { optionsFor } from "../../src/config/schema.ts";
import { mosquittoHasher } from "../../src/protocol/mosquitto-password.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { openStore } from "../../src/store/store.ts";
import { ADMIN_TOKEN as ADMIN, inProcessCloud } from "../harness/cloud-api.ts";
import { makeTempDir, runLevee } from "../harness/cluster.ts";

const dataDir = makeTempDir();
const store = openStore({ dataDir, mode: "cloud" });
afterAll(() => store.close());
const logLines: string[] = [];
const log = createLogger({ level: "debug", format: "json", write: (l) => logLines.push(l) });
const MAX = 64 * 1024;
const artifacts = new ArtifactStore(store, dataDir, { maxBytes: MAX });
const { app } = inProcessCloud({ store, log, replanOnJoin: false, deps: { artifacts } });

const admin = { authorization: `Bearer ${ADMIN}` };
const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});
const call = (path: string, init: RequestInit = {}) =>
  app.request(`/api/v1${path}`, { ...init, headers: { ...admin, ...(init.headers ?? {}) } });
const json = async (res: Response) => (await res.json()) as Record<string, unknown>;
const sha = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");
const upload = (bytes: Uint8Array | string, query: string, headers: Record<string, string> = {}) =>
  call(`/artifacts?${query}`, { method: "POST", body: bytes, headers });

/** A running upgrade rollout (written straight to the store) whose one binary is the artifact. */
function startRollout(id: string, binary: { target: string; sha256: string }): UpgradeStore {
  const rollouts = new UpgradeStore(store);
  const binaries = [{ ...binary, version: "2.0.0", size: 1, signature: "s" }];
  const settings = { selector: "", maxUnavailable: "1", pauseMs: 0, timeoutSeconds: 60, keyId: "k" };
  const nodes = [{ node: "edge1", from: "1.0.0" }];
  store.tx(() =>
    rollouts.create(
      { id, version: "2.0.0", binaries, ...settings, allowDowngrade: false, includeCloud: false, nodes },
      Date.now(),
    ),
  );
  return rollouts;
}

const MODEL = new Uint8Array(10_000).map((_, i) => (i * 7) % 251);
const MODEL_SHA = sha(MODEL);
const joined = joinNode(
  store,
  mosquittoHasher,
  { name: "edge1", labels: {}, addresses: [], agentVersion: "test", arch: "x64" },
  () => {},
);
if (joined.kind !== "joined") throw new Error("join failed");
const edge1 = joined.credentials;

describe("artifact upload", () => {
  test("created, then the same bytes are unchanged; listed with name and size", async () => {
    const first = await upload(MODEL, "name=model.onnx");
    expect(first.status).toBe(201);
    expect(await json(first)).toMatchObject({
      outcome: "created",
      artifact: { sha256: MODEL_SHA, name: "model.onnx", size: MODEL.length },
    });
    const again = await upload(MODEL, `name=other.onnx&sha256=${MODEL_SHA}`);
    expect(again.status).toBe(200);
    expect(await json(again)).toMatchObject({ outcome: "unchanged", artifact: { name: "model.onnx" } });
    const list = await json(await call("/artifacts"));
    expect(list.items).toEqual([expect.objectContaining({ sha256: MODEL_SHA, size: MODEL.length })]);
    const path = join(dataDir, "artifacts", MODEL_SHA);
    expect(new Uint8Array(await Bun.file(path).arrayBuffer())).toEqual(MODEL);
    expect(statSync(path).mode & 0o777).toBe(0o444);
  });

  test("a wrong expected sha256, a bad name or a missing name is a 400 naming the field; nothing is kept", async () => {
    const wrong = await upload("hello", `name=h.txt&sha256=${"0".repeat(64)}`);
    expect(wrong.status).toBe(400);
    const body = await json(wrong);
    expect(body.issues).toEqual([expect.objectContaining({ path: "sha256" })]);
    expect(String((body.issues as { message: string }[])[0]?.message)).toContain(sha("hello"));
    expect(artifacts.get(sha("hello"))).toBeUndefined();
    const badName = await upload("x", "name=a%2Fb");
    expect((await json(badName)).issues).toEqual([expect.objectContaining({ path: "name" })]);
    const noName = await upload("x", "");
    expect(noName.status).toBe(400);
    expect((await json(noName)).issues).toEqual([expect.objectContaining({ path: "name" })]);
    const badSha = await upload("x", "name=x&sha256=ABC");
    expect((await json(badSha)).issues).toEqual([expect.objectContaining({ path: "sha256" })]);
    expect(readdirSync(join(dataDir, "artifacts")).filter((f) => f.startsWith("."))).toEqual([]);
  });

  test("an empty artifact is an artifact too", async () => {
    const empty = await upload("", "name=empty");
    expect(empty.status).toBe(201);
    expect(await json(empty)).toMatchObject({ artifact: { sha256: sha(""), size: 0 } });
    const got = await call(`/artifacts/${sha("")}`);
    expect([got.status, (await got.arrayBuffer()).byteLength]).toEqual([200, 0]);
    expect((await call(`/artifacts/${sha("")}`, { method: "DELETE" })).status).toBe(200);
  });

  test("over the size limit: 413 by Content-Length, and by counting a streamed body", async () => {
    const declared = await upload("x", "name=big", { "content-length": String(MAX + 1) });
    expect(declared.status).toBe(413);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > MAX * 2) return controller.close();
        sent += 8192;
        controller.enqueue(new Uint8Array(8192).fill(1));
      },
    });
    const streamed = await call("/artifacts?name=big", {
      method: "POST",
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(String((await json(streamed)).error)).toContain(`${MAX} bytes`);
    expect(readdirSync(join(dataDir, "artifacts"))).toEqual([MODEL_SHA]);
    // exactly the limit is fine
    const exact = new Uint8Array(MAX).fill(2);
    expect((await upload(exact, "name=exact")).status).toBe(201);
    expect((await call(`/artifacts/${sha(exact)}`, { method: "DELETE" })).status).toBe(200);
  });
});

describe("artifact download", () => {
  const get = (headers: Record<string, string> = {}, method = "GET") =>
    call(`/artifacts/${MODEL_SHA}`, { method, headers });

  test("the whole blob with its ETag, Accept-Ranges and length", async () => {
    const res = await get();
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(`"${MODEL_SHA}"`);
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("content-length")).toBe(String(MODEL.length));
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(MODEL);
  });

  test("ranges: 206 with Content-Range, suffix ranges, 416 past the end, If-Range, If-None-Match", async () => {
    const part = await get({ range: "bytes=100-199" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 100-199/${MODEL.length}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(MODEL.slice(100, 200));
    const rest = await get({ range: "bytes=9990-" });
    expect(new Uint8Array(await rest.arrayBuffer())).toEqual(MODEL.slice(9990));
    const tail = await get({ range: "bytes=-5" });
    expect(tail.headers.get("content-range")).toBe(`bytes 9995-9999/${MODEL.length}`);
    const past = await get({ range: `bytes=${MODEL.length}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${MODEL.length}`);
    const otherEtag = await get({ range: "bytes=0-9", "if-range": '"something-else"' });
    expect(otherEtag.status).toBe(200);
    await otherEtag.arrayBuffer();
    const sameEtag = await get({ range: "bytes=0-9", "if-range": `"${MODEL_SHA}"` });
    expect(sameEtag.status).toBe(206);
    await sameEtag.arrayBuffer();
    expect((await get({ "if-none-match": `"${MODEL_SHA}"` })).status).toBe(304);
  });

  test("HEAD answers the headers only; an unknown or malformed sha256 is 404 / 400", async () => {
    const head = await get({}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(MODEL.length));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    const unknown = await call(`/artifacts/${"a".repeat(64)}`);
    expect(unknown.status).toBe(404);
    expect(String((await json(unknown)).error)).toContain("a".repeat(64));
    expect((await call("/artifacts/nope")).status).toBe(400);
  });
});

/** Joins a node and answers its HTTP Basic header. */
function joinedNode(name: string): Record<string, string> {
  const node = { name, labels: {}, addresses: [], agentVersion: "t", arch: "x64" };
  const outcome = joinNode(store, mosquittoHasher, node, () => {});
  if (outcome.kind !== "joined") throw new Error("join failed");
  return basic(name, outcome.credentials.password);
}

describe("artifact auth", () => {
  const anon = (path: string, init: RequestInit = {}) => app.request(`/api/v1${path}`, init);
  const mountModelOn = async (node: string) => {
    const manifest = `apiVersion: levee/v1\nkind: Service\nmetadata: {name: uses-model}\nspec:\n  template: {command: [run], mounts: [{artifact: {sha256: "${MODEL_SHA}"}, envName: M}]}\n  workers: [{node: ${node}}]\n`;
    expect((await call("/apply", { method: "POST", body: manifest })).status).toBe(200);
  };

  test("reads need the admin token or a node's own credentials; writes need the admin token", async () => {
    expect((await anon("/artifacts")).status).toBe(401);
    expect((await anon(`/artifacts/${MODEL_SHA}`)).status).toBe(401);
    await mountModelOn("edge1");
    const asNode = await anon(`/artifacts/${MODEL_SHA}`, { headers: basic(edge1.username, edge1.password) });
    expect(asNode.status).toBe(200);
    expect(new Uint8Array(await asNode.arrayBuffer())).toEqual(MODEL);
    // again: answered from the verification cache, same result
    const again = await anon(`/artifacts/${MODEL_SHA}`, { headers: basic(edge1.username, edge1.password) });
    expect(again.status).toBe(200);
    const wrong = await anon(`/artifacts/${MODEL_SHA}`, {
      headers: basic(edge1.username, `${edge1.password}x`),
    });
    expect(wrong.status).toBe(401);
    expect(await json(wrong)).toEqual({ error: "invalid node credentials" });
    const nobody = await anon(`/artifacts/${MODEL_SHA}`, { headers: basic("nobody", edge1.password) });
    expect(nobody.status).toBe(401);
    expect((await anon("/artifacts", { headers: { authorization: "Bearer nope" } })).status).toBe(401);
    const nodeUpload = await anon("/artifacts?name=x", {
      method: "POST",
      body: "x",
      headers: basic(edge1.username, edge1.password),
    });
    expect(nodeUpload.status).toBe(401);
    const nodeDelete = await anon(`/artifacts/${MODEL_SHA}`, {
      method: "DELETE",
      headers: basic(edge1.username, edge1.password),
    });
    expect(nodeDelete.status).toBe(401);
    expect(logLines.join("\n")).not.toContain(edge1.password);
  });

  test("a deleted node's credentials stop working at once (the cache is keyed by the stored hash)", async () => {
    const headers = joinedNode("edge2");
    // authenticated (403: not in its plan, not 401)
    expect((await anon(`/artifacts/${MODEL_SHA}`, { headers })).status).toBe(403);
    deleteNode(store, "edge2");
    expect((await anon(`/artifacts/${MODEL_SHA}`, { headers })).status).toBe(401);
  });

  test("a node reads only the artifacts its own plan mounts, and cannot list them", async () => {
    const headers = joinedNode("edge3");
    const refused = await anon(`/artifacts/${MODEL_SHA}`, { headers });
    expect(refused.status).toBe(403);
    expect((await json(refused)).error).toBe(
      `node edge3 may read only the artifacts its plan mounts; ${MODEL_SHA} is not one`,
    );
    expect((await anon("/artifacts", { headers })).status).toBe(401);
    expect((await anon("/artifacts", { headers: basic(edge1.username, edge1.password) })).status).toBe(401);
    await mountModelOn("edge3");
    expect((await anon(`/artifacts/${MODEL_SHA}`, { headers })).status).toBe(200);
    // the service moves away: the node's access goes with it
    await mountModelOn("edge1");
    expect((await anon(`/artifacts/${MODEL_SHA}`, { headers })).status).toBe(403);
    expect((await call("/artifacts")).status).toBe(200);
    expect((await call("/services/uses-model", { method: "DELETE" })).status).toBe(200);
  });

  test("NodeCredentials: a remembered check expires; Basic parsing", () => {
    let now = 0;
    const nodes = new NodeCredentials(store, () => now);
    expect(nodes.check("edge1", edge1.password)).toBe(true);
    now += 11 * 60_000;
    expect(nodes.check("edge1", edge1.password)).toBe(true);
    expect(nodes.check("edge1", "guess")).toBe(false);
    expect(parseBasic(`Basic ${btoa("a:b:c")}`)).toEqual({ user: "a", password: "b:c" });
    expect(parseBasic(`Basic ${btoa("nocolon")}`)).toBeUndefined();
    expect(parseBasic("Bearer x")).toBeUndefined();
  });
});

describe("artifact delete", () => {
  const mounting = (name: string, where: "template" | "override") => {
    const mount = `{artifact: {sha256: ${MODEL_SHA}}, envName: MODEL}`;
    const template = where === "template" ? `{command: [run], mounts: [${mount}]}` : "{command: [run]}";
    const worker = where === "override" ? `{node: edge1, template: {mounts: [${mount}]}}` : "{node: edge1}";
    return `apiVersion: levee/v1\nkind: Service\nmetadata: {name: ${name}}\nspec:\n  template: ${template}\n  workers: [${worker}]\n`;
  };

  test("refused with 409 naming every service that mounts it, then deleted once none does", async () => {
    for (const [name, where] of [
      ["detector", "template"],
      ["tracker", "override"],
    ] as const) {
      const res = await call("/apply", { method: "POST", body: mounting(name, where) });
      expect(res.status).toBe(200);
    }
    const refused = await call(`/artifacts/${MODEL_SHA}`, { method: "DELETE" });
    expect(refused.status).toBe(409);
    const body = await json(refused);
    expect(body.services).toEqual(["detector", "tracker"]);
    expect(String(body.error)).toContain("services detector, tracker");
    for (const name of ["detector", "tracker"])
      expect((await call(`/services/${name}`, { method: "DELETE" })).status).toBe(200);
    const deleted = await call(`/artifacts/${MODEL_SHA}`, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(await json(deleted)).toMatchObject({ deleted: { sha256: MODEL_SHA, name: "model.onnx" } });
    expect(existsSync(join(dataDir, "artifacts", MODEL_SHA))).toBe(false);
    expect((await call(`/artifacts/${MODEL_SHA}`)).status).toBe(404);
    expect((await call(`/artifacts/${MODEL_SHA}`, { method: "DELETE" })).status).toBe(404);
  });

  test("refused with 409 naming the rollout and target while it is a binary of an active upgrade rollout", async () => {
    const binary = "agent binary v2";
    expect((await upload(binary, "name=levee-linux-arm64")).status).toBe(201);
    const rollouts = startRollout("u-test", { target: "linux-arm64", sha256: sha(binary) });
    for (const state of ["running", "paused"] as const) {
      store.tx(() => rollouts.setState("u-test", state, "", Date.now()));
      const refused = await call(`/artifacts/${sha(binary)}`, { method: "DELETE" });
      expect(refused.status).toBe(409);
      expect((await json(refused)).error).toBe(
        `artifact ${sha(binary)} is the linux-arm64 binary of upgrade rollout u-test (${state}): ` +
          "abort it first with levee ctl upgrade abort",
      );
      expect(existsSync(join(dataDir, "artifacts", sha(binary)))).toBe(true);
    }
    store.tx(() => rollouts.setState("u-test", "aborted", "aborted by the operator", Date.now()));
    expect((await call(`/artifacts/${sha(binary)}`, { method: "DELETE" })).status).toBe(200);
  });

  test("a restarted store removes cut uploads and blobs whose row was never written", () => {
    const dir = join(dataDir, "artifacts");
    writeFileSync(join(dir, ".upload-leftover"), "half");
    writeFileSync(join(dir, "b".repeat(64)), "orphan");
    new ArtifactStore(store, dataDir);
    expect(readdirSync(dir).filter((f) => f.startsWith(".") || f === "b".repeat(64))).toEqual([]);
  });
});

describe("ranges and limits (pure)", () => {
  const etag = '"e"';
  test("selectRange", () => {
    expect(selectRange(undefined, undefined, 100, etag)).toEqual({ kind: "full" });
    expect(selectRange("bytes=0-", undefined, 100, etag)).toEqual({ kind: "partial", start: 0, end: 99 });
    expect(selectRange("bytes=10-2000", undefined, 100, etag)).toEqual({
      kind: "partial",
      start: 10,
      end: 99,
    });
    expect(selectRange("bytes=-200", undefined, 100, etag)).toEqual({ kind: "partial", start: 0, end: 99 });
    expect(selectRange("bytes=100-", undefined, 100, etag)).toEqual({ kind: "unsatisfiable" });
    expect(selectRange("bytes=0-", undefined, 0, etag)).toEqual({ kind: "unsatisfiable" });
    expect(selectRange("bytes=-0", undefined, 100, etag)).toEqual({ kind: "unsatisfiable" });
    expect(selectRange("bytes=5-1", undefined, 100, etag)).toEqual({ kind: "full" });
    expect(selectRange("bytes=0-1,5-6", undefined, 100, etag)).toEqual({ kind: "full" });
    expect(selectRange("items=0-1", undefined, 100, etag)).toEqual({ kind: "full" });
    expect(selectRange("bytes=5-", '"other"', 100, etag)).toEqual({ kind: "full" });
    expect(selectRange("bytes=5-", etag, 100, etag)).toEqual({ kind: "partial", start: 5, end: 99 });
    expect(contentRange({ kind: "partial", start: 5, end: 99 }, 100)).toBe("bytes 5-99/100");
    expect(contentRange({ kind: "unsatisfiable" }, 100)).toBe("bytes */100");
    expect(noneMatch('W/"e", "f"', etag)).toBe(true);
    expect(noneMatch('"f"', etag)).toBe(false);
  });

  test("--artifact-max-size takes binary units and refuses nonsense", () => {
    const load = (argv: string[]) =>
      loadOptions({ command: "levee cloud", keys: optionsFor("cloud"), argv, env: {} }).options;
    expect(load([]).artifactMaxSize).toBe(8 * 1024 ** 3);
    expect(load(["--artifact-max-size", "512MiB"]).artifactMaxSize).toBe(512 * 1024 ** 2);
    expect(load(["--artifact-max-size", "1.5G"]).artifactMaxSize).toBe(1.5 * 1024 ** 3);
    expect(load(["--artifact-max-size", "4096"]).artifactMaxSize).toBe(4096);
    expect(() => load(["--artifact-max-size", "lots"])).toThrow("--artifact-max-size");
  });
});

describe("levee ctl artifact (a real ctl process against this API on a socket)", () => {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: app.fetch,
    maxRequestBodySize: MAX + 1024 * 1024,
  });
  afterAll(() => server.stop(true));
  const ctl = (args: string[]) =>
    runLevee(["ctl", "artifact", ...args, "--server", `http://127.0.0.1:${server.port}`, "--token", ADMIN]);
  const dir = makeTempDir();

  test("push prints a mount snippet and the sha256 last; ls lists it; rm deletes it", async () => {
    const path = join(dir, "yolo v5.onnx");
    const data = new Uint8Array(20_000).map((_, i) => (i * 13) % 256);
    writeFileSync(path, data);
    const pushed = await ctl(["push", path]);
    expect(pushed).toMatchObject({ code: 0, stderr: "" });
    const lines = pushed.stdout.trimEnd().split("\n");
    expect(lines.at(-1)).toBe(sha(data));
    expect(lines[0]).toBe("artifact yolo v5.onnx: created (19.5 KiB)");
    expect(pushed.stdout).toContain("envName: YOLO_V5_ONNX_PATH");
    const again = await ctl(["push", path, "--name", "yolo.onnx", "-o", "json"]);
    expect(JSON.parse(again.stdout)).toMatchObject({
      outcome: "unchanged",
      artifact: { name: "yolo v5.onnx" },
    });
    const listed = await ctl(["ls"]);
    expect(listed.stdout.split("\n")[0]).toMatch(/^SHA256 +NAME +SIZE +AGE$/);
    expect(listed.stdout).toContain(`${sha(data)}   yolo v5.onnx   19.5 KiB`);
    const removed = await ctl(["rm", sha(data)]);
    expect(removed).toMatchObject({ code: 0, stdout: `artifact yolo v5.onnx (${sha(data)}) deleted\n` });
  });

  test("failures: too large (413: bad input, exit 2), in use (409), bad arguments (exit 2)", async () => {
    const big = join(dir, "big.bin");
    writeFileSync(big, new Uint8Array(MAX * 4).fill(3));
    const tooLarge = await ctl(["push", big]);
    expect(tooLarge.code).toBe(2);
    expect(tooLarge.stderr).toContain(`larger than the limit of ${MAX} bytes`);

    const small = join(dir, "small.bin");
    writeFileSync(small, "weights");
    expect((await ctl(["push", small])).code).toBe(0);
    const mount = `{artifact: {sha256: ${sha("weights")}}, envName: W}`;
    const manifest = `apiVersion: levee/v1\nkind: Service\nmetadata: {name: user}\nspec:\n  template: {command: [run], mounts: [${mount}]}\n  workers: [{node: edge1}]\n`;
    expect((await call("/apply", { method: "POST", body: manifest })).status).toBe(200);
    const inUse = await ctl(["rm", sha("weights")]);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain("is mounted by service user");
    const rollouts = startRollout("u-ctl", { target: "linux-x64", sha256: sha("weights") });
    expect((await call("/services/user", { method: "DELETE" })).status).toBe(200);
    const inRollout = await ctl(["rm", sha("weights")]);
    expect(inRollout.code).toBe(1);
    expect(inRollout.stderr).toContain("is the linux-x64 binary of upgrade rollout u-ctl (running)");
    expect(inRollout.stderr).toContain("levee ctl upgrade abort");
    store.tx(() => rollouts.setState("u-ctl", "aborted", "", Date.now()));

    expect((await ctl(["push", join(dir, "missing.bin")])).stderr).toContain("no such file");
    expect((await ctl(["push", dir])).stderr).toContain("is not a regular file");
    expect((await ctl(["push", small, "--name", "a/b"])).stderr).toContain("flag --name:");
    const badSha = await ctl(["rm", "abc"]);
    expect(badSha.code).toBe(2);
    expect(badSha.stderr).toContain('"abc" is not a sha256');
    expect((await ctl(["frobnicate"])).stderr).toContain('unknown action "frobnicate"');
  });
});
