// A node deleted while its agent runs learns it at once: the embedded broker closes its
// connection, the reconnect is refused, and the agent says (error log, /readyz) that it was
// removed from the cluster and how to join again, instead of reporting ready and saying nothing.
import { expect, test } from "bun:test";
import { runLevee, waitUntil, withCluster } from "../harness/cluster.ts";

test("a deleted node says it was removed and what to do, within seconds", async () => {
  await withCluster({ edges: 1 }, async (c) => {
    const edge = c.edges[0];
    if (!edge) throw new Error("no edge");
    expect((await fetch(`${edge.agentUrl}/readyz`)).status).toBe(200);
    const deleted = await runLevee([
      "ctl",
      "delete",
      "node",
      edge.name,
      "--server",
      c.cloud.apiUrl,
      "--data-dir",
      c.cloud.dataDir,
    ]);
    expect(deleted).toMatchObject({ code: 0, stdout: `node/${edge.name} deleted\n` });
    const started = Date.now();
    const said = () => edge.logs.find((l) => l.includes(`node ${edge.name} was removed from the cluster`));
    await waitUntil("the edge logs that it was removed", () => said() !== undefined, 10_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(said()).toContain(" ERROR mqtt credentials refused ");
    expect(said()).toContain(`move ${edge.dataDir} aside`);
    const ready = await fetch(`${edge.agentUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain("was removed from the cluster");
  });
}, 60_000);
