// What `levee ctl convert` computes without a cloud, how Dayu mistakes come back from
// parseManifests (document and path, like any manifest), and the agent side of the translation:
// agentUrlEnv (LC_SERVER) and portEnv (GUNICORN_PORT) filled at run time.
import { describe, expect, test } from "bun:test";
import { convertLocally } from "../../../src/manifest/dayu/convert-local.ts";
import { loadDocuments } from "../../../src/manifest/documents.ts";
import { parseManifests } from "../../../src/manifest/manifest.ts";
import { serviceSchema } from "../../../src/manifest/service.ts";
import { workerEnv } from "../../../src/node/workers/prestart/worker-env.ts";
import { container, env, jmes, worker } from "./helpers.ts";

function convert(objects: unknown[]) {
  const body = JSON.stringify(objects);
  const parsed = parseManifests(body);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return convertLocally(
    parsed.objects,
    loadDocuments(body).map((d) => d.value),
  );
}

const served = (name: string, nodePort?: number) =>
  jmes(
    {
      serviceConfig: { pos: "both", port: 9000, ...(nodePort ? { nodePort } : {}) },
      edgeWorker: [worker("edge1", [container("img:1", { env: env({ GUNICORN_PORT: "9000" }) })])],
    },
    { name },
  );

const nativeService = (name: string, port: number) => ({
  apiVersion: "levee/v1",
  kind: "Service",
  metadata: { name },
  spec: { template: { command: ["x"] }, workers: [{ node: "edge1" }], mesh: { port } },
});

describe("convertLocally", () => {
  test("natives pass through as written; Dayu objects become Services; ports from 30000 up, skipping used ones", () => {
    const native = nativeService("echo", 30000);
    const out = convert([native, served("a"), served("b", 30001), served("c")]);
    if (!out.ok) throw new Error(JSON.stringify(out.issues));
    expect(out.objects[0]).toEqual(native);
    const ports = out.objects.slice(1).map((o) => (o as { spec: { mesh: { port: number } } }).spec.mesh.port);
    expect(ports).toEqual([30002, 30001, 30003]);
    for (const o of out.objects) expect(serviceSchema.safeParse(o).success).toBe(true);
    const chosen = out.warnings.filter((w) => /chosen by convert/.test(w.message));
    expect(chosen.map((w) => `${w.document} ${w.name}`)).toEqual(["1 a", "3 c"]);
  });

  test("the ImageMaps of the same file apply; two that map one image are refused", () => {
    const map = (name: string) => ({
      apiVersion: "levee/v1",
      kind: "ImageMap",
      metadata: { name },
      spec: { images: [{ image: "img:1", command: ["node", "app.mjs"] }] },
    });
    const out = convert([map("dev"), served("a")]);
    if (!out.ok) throw new Error(JSON.stringify(out.issues));
    expect((out.objects[1] as { spec: { template: { driver: string } } }).spec.template.driver).toBe("exec");
    const clash = convert([map("one"), map("two"), served("a")]);
    expect(clash.ok).toBe(false);
    if (!clash.ok) expect(clash.issues[0]).toMatchObject({ document: 1, kind: "ImageMap", name: "two" });
  });

  test("a Dayu object and a native Service of the same name are refused", () => {
    const out = convert([nativeService("a", 30500), served("a")]);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.issues[0]?.message).toMatch(/which document 0 defines too/);
  });
});

describe("parseManifests with Dayu objects", () => {
  test("a mistake in a Dayu document carries its document number, kind, name and path", () => {
    const bad = jmes({ edgeWorker: [worker("")] }, { name: "broken" });
    const parsed = parseManifests(JSON.stringify([nativeService("echo", 30000), bad]));
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.issues).toEqual([
      expect.objectContaining({
        document: 1,
        kind: "JointMultiEdgeService",
        name: "broken",
        path: "spec.edgeWorker[0].template.spec.nodeName",
      }),
    ]);
  });

  test("an unknown apiVersion for a Dayu kind names the one expected", () => {
    const parsed = parseManifests(JSON.stringify({ ...served("a"), apiVersion: "sedna.io/v1" }));
    expect(parsed.ok ? [] : parsed.issues.map((i) => i.message)).toEqual([
      'unknown apiVersion "sedna.io/v1" for kind JointMultiEdgeService: expected "sedna.io/v1alpha1"',
    ]);
  });
});

describe("the agent fills what the translation asks for", () => {
  test("LC_SERVER gets the local agent's URL and GUNICORN_PORT the worker's port, overriding the env", () => {
    const base = {
      node: "edge1",
      service: "controller",
      index: 0,
      instance: "i-1",
      workerDir: "/w",
      agentUrl: "http://127.0.0.1:7401",
      mountEnv: {},
    };
    const env = workerEnv({
      ...base,
      templateEnv: { GUNICORN_PORT: "9000", LC_SERVER: "http://old" },
      port: 20017,
      agentUrlEnv: ["LC_SERVER"],
      portEnv: ["GUNICORN_PORT"],
    });
    expect(env).toMatchObject({ LC_SERVER: "http://127.0.0.1:7401", GUNICORN_PORT: "20017", PORT: "20017" });
    // Without a port there is nothing to pass: the env's own value stays.
    const none = workerEnv({ ...base, templateEnv: { GUNICORN_PORT: "9000" }, portEnv: ["GUNICORN_PORT"] });
    expect(none.GUNICORN_PORT).toBe("9000");
  });
});
