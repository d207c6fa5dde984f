// The image routes in-process (a real store and artifact dir, no sockets): a `docker save`
// tarball pushed is an artifact plus one record per reference and its ID; the plan of a node whose
// container worker runs it names the artifact (and only then may the node download it); a push of
// something else is refused and not kept; delete is refused while a Service runs the image, and
// the artifact of an image is deleted only with it.
import { afterAll, describe, expect, test } from "bun:test";
import { ArtifactStore } from "../../src/cloud/artifact-store.ts";
import { imageLookup } from "../../src/cloud/image-store.ts";
import type { NodePlan } from "../../src/manifest/plan.ts";
import { openStore } from "../../src/store/store.ts";
import { savedImage, tarOf } from "../fixtures/docker-save-tar.ts";
import { ADMIN_TOKEN as ADMIN, inProcessCloud, registeredNode } from "../harness/cloud-api.ts";
import { makeTempDir } from "../harness/cluster.ts";

const dataDir = makeTempDir();
const store = openStore({ dataDir, mode: "cloud" });
afterAll(() => store.close());
const artifacts = new ArtifactStore(store, dataDir);
const { app } = inProcessCloud({ store, deps: { artifacts } });
const admin = { authorization: `Bearer ${ADMIN}` };
const call = (path: string, init: RequestInit = {}) =>
  app.request(`/api/v1${path}`, { ...init, headers: { ...admin, ...(init.headers ?? {}) } });
const json = async (res: Response) => (await res.json()) as Record<string, unknown>;
const edge1 = registeredNode(store, "edge1");
const asNode = {
  authorization: `Basic ${Buffer.from(`${edge1.username}:${edge1.password}`).toString("base64")}`,
};

const layer = new Uint8Array(20_000).map((_, i) => (i * 13) % 256);
const image = savedImage(["repo:5000/dayuhub/cam:v1"], layer);
const service = (img: string) =>
  `apiVersion: levee/v1\nkind: Service\nmetadata: {name: cam}\nspec:\n  template: {driver: container, image: "${img}"}\n  workers: [{node: edge1}]\n`;

function planOf(node: string): NodePlan {
  const row = store.db.query<{ plan: string }, [string]>("SELECT plan FROM plans WHERE node = ?").get(node);
  return JSON.parse(row?.plan ?? "null") as NodePlan;
}

describe("images", () => {
  let sha = "";
  test("push records the references and the ID; listed", async () => {
    const res = await call("/images?name=cam.tar", { method: "POST", body: image.tar });
    expect(res.status).toBe(201);
    const body = (await json(res)) as { artifact: { sha256: string; size: number }; images: unknown[] };
    sha = body.artifact.sha256;
    expect(body.artifact.size).toBe(image.tar.length);
    expect(body.images).toEqual([
      expect.objectContaining({ reference: "repo:5000/dayuhub/cam:v1", id: image.id, sha256: sha }),
      expect.objectContaining({ reference: image.id, id: image.id, sha256: sha }),
    ]);
    expect((await call("/images?name=cam.tar", { method: "POST", body: image.tar })).status).toBe(200);
    const listed = (await json(await call("/images"))) as { items: { reference: string }[] };
    expect(listed.items.map((i) => i.reference)).toEqual(["repo:5000/dayuhub/cam:v1", image.id]);
    expect(imageLookup(store.db)("docker.io/library/busybox")).toBeUndefined();
  });

  test("a node's plan names the image its container worker runs; then it may download it", async () => {
    const before = await app.request(`/api/v1/artifacts/${sha}`, { headers: asNode });
    expect(before.status).toBe(403);
    expect((await call("/apply", { method: "POST", body: service("repo:5000/dayuhub/cam:v1") })).status).toBe(
      200,
    );
    expect(planOf("edge1").images).toEqual({
      "repo:5000/dayuhub/cam:v1": { sha256: sha, size: image.tar.length, id: image.id },
    });
    const ranged = await app.request(`/api/v1/artifacts/${sha}`, {
      headers: { ...asNode, range: "bytes=100-" },
    });
    expect(ranged.status).toBe(206);
    expect((await ranged.arrayBuffer()).byteLength).toBe(image.tar.length - 100);
  });

  test("a Dayu manifest naming the repo:5000 image: the node's plan names it too", async () => {
    const jmes = `apiVersion: sedna.io/v1alpha1
kind: JointMultiEdgeService
metadata: {name: processor, namespace: dayu}
spec:
  edgeWorker:
    - template:
        spec:
          nodeName: edge2
          containers: [{name: processor, image: "repo:5000/dayuhub/cam:v1"}]
`;
    registeredNode(store, "edge2");
    const res = await call("/apply", { method: "POST", body: jmes });
    expect(res.status).toBe(200);
    expect(planOf("edge2").images).toEqual({
      "repo:5000/dayuhub/cam:v1": { sha256: sha, size: image.tar.length, id: image.id },
    });
    expect(
      (await call("/jointmultiedgeservices/processor?namespace=dayu", { method: "DELETE" })).status,
    ).toBe(200);
    expect(planOf("edge2").images).toBeUndefined();
  });

  test("delete is refused while a Service runs it (by any reference); then image and artifact go", async () => {
    const refused = await call(`/images?reference=${encodeURIComponent(image.id)}`, { method: "DELETE" });
    expect(refused.status).toBe(409);
    expect(await json(refused)).toMatchObject({ services: ["cam"] });
    // Its artifact is not deleted on its own either (the image records would point at nothing).
    const asArtifact = await call(`/artifacts/${sha}`, { method: "DELETE" });
    expect(asArtifact.status).toBe(409);
    expect(JSON.stringify(await json(asArtifact))).toContain("delete it with levee ctl image rm");
    expect((await call("/apply", { method: "POST", body: service("other:1") })).status).toBe(200);
    expect(planOf("edge1").images).toBeUndefined();
    const done = await call(`/images?reference=${encodeURIComponent("repo:5000/dayuhub/cam:v1")}`, {
      method: "DELETE",
    });
    expect(done.status).toBe(200);
    expect(await json(done)).toMatchObject({ artifactDeleted: true });
    expect(artifacts.get(sha)).toBeUndefined();
    expect((await call("/images?reference=x:1", { method: "DELETE" })).status).toBe(404);
  });

  test("an upload that is not a docker save tarball is refused and not kept", async () => {
    const other = tarOf([{ name: "hello.txt", bytes: new Uint8Array(100) }]);
    const res = await call("/images", { method: "POST", body: other });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await json(res))).toContain("no manifest.json");
    expect(artifacts.list()).toEqual([]);
  });
});
