// Manifests that were accepted and then failed on every node, or worse: each is now
// refused at apply with a 400 that names the field, and nothing is stored.
import { afterAll, describe, expect, test } from "bun:test";
import { ADMIN_TOKEN as ADMIN, inProcessCloud } from "../harness/cloud-api.ts";

const { store, app } = inProcessCloud();
afterAll(() => store.close());

async function apply(
  spec: string,
): Promise<{ status: number; body: { error?: string; issues?: unknown[] } }> {
  const res = await app.request("/api/v1/apply", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/yaml" },
    body: `apiVersion: levee/v1\nkind: Service\nmetadata: {name: probe}\nspec:\n${spec}`,
  });
  return { status: res.status, body: (await res.json()) as { error?: string; issues?: unknown[] } };
}
const stored = () => app.request("/api/v1/services/probe", { headers: { authorization: `Bearer ${ADMIN}` } });

describe("apply refuses what could not work or would escape", () => {
  test("an artifact mount whose name is a path (it was hard-linked anywhere on the node, as root)", async () => {
    const { status, body } = await apply(
      `  template:\n    command: [run]\n    mounts:\n      - artifact: {sha256: "${"a".repeat(64)}", name: ../../../../../victim.txt}\n        envName: M\n  workers: [{node: edge1}]\n`,
    );
    expect(status).toBe(400);
    expect(body.issues).toEqual([
      expect.objectContaining({
        path: "spec.template.mounts[0].artifact.name",
        message: expect.stringContaining("'/'"),
      }),
    ]);
    expect((await stored()).status).toBe(404);
  });

  test("a mesh port or an upstream's local port that is one of levee's own ports", async () => {
    const { status, body } = await apply(
      "  template: {command: [run], port: 8080}\n  workers: [{node: edge1}]\n  mesh:\n    port: 7402\n    upstreams: [{service: db, node: edge1, localPort: 7401}]\n",
    );
    expect(status).toBe(400);
    expect(body.issues).toEqual([
      expect.objectContaining({
        path: "spec.mesh.port",
        message: "port 7402 is levee's own (the mesh tunnel) on every node; choose another",
      }),
      expect.objectContaining({
        path: "spec.mesh.upstreams[0].localPort",
        message: expect.stringContaining("the local agent API"),
      }),
    ]);
    expect((await stored()).status).toBe(404);
  });

  test("a relative workingDir (it depended on where the agent was started)", async () => {
    const { status, body } = await apply(
      "  template: {command: [run], workingDir: ../../..}\n  workers: [{node: edge1}]\n",
    );
    expect(status).toBe(400);
    expect(body.issues).toEqual([
      expect.objectContaining({
        path: "spec.template.workingDir",
        message: expect.stringContaining("absolute path"),
      }),
    ]);
    const override = await apply(
      "  template: {command: [run]}\n  workers: [{node: edge1, override: {workingDir: data}}]\n",
    );
    expect(override.status).toBe(400);
    expect((await stored()).status).toBe(404);
  });

  test("what is allowed still is", async () => {
    const { status } = await apply(
      `  template:\n    command: [run]\n    workingDir: /srv/app\n    port: 8080\n    mounts: [{artifact: {sha256: "${"a".repeat(64)}", name: yolo.onnx}, envName: M}]\n  workers: [{node: edge1}]\n  mesh: {port: 19100}\n`,
    );
    expect(status).toBe(200);
  });
});
