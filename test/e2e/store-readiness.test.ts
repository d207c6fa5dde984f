// Readiness includes the store: a cloud whose data dir sits on a full file system answers /readyz
// with 503 and the store's reason, and 200 again once the disk has room. The data dir is a tiny
// tmpfs mounted for the test (needs root; skipped otherwise).
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { killLiveAgents, startAgent } from "../harness/agent.ts";
import { allocateSubnet, makeTempDir, waitUntil } from "../harness/cluster.ts";

const mountPoint = makeTempDir("levee-tmpfs-");
const mounted =
  process.getuid?.() === 0 &&
  Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", mountPoint]).exitCode === 0;

afterAll(() => {
  killLiveAgents();
  if (mounted) Bun.spawnSync(["umount", "-l", mountPoint]);
});

/** Writes zeros to `path` until the file system refuses (ENOSPC). */
function fillUp(path: string): void {
  const fd = openSync(path, "w");
  const chunk = new Uint8Array(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
    for (const size of [4096, 512, 1]) {
      try {
        for (;;) writeSync(fd, chunk.subarray(0, size));
      } catch {}
    }
  } finally {
    closeSync(fd);
  }
}

interface Ready {
  status: string;
  checks: Record<string, string>;
}

describe.skipIf(!mounted)("readiness and a full disk", () => {
  test("/readyz is 503 naming the store while it cannot write, 200 once it can", async () => {
    const dataDir = join(mountPoint, "cloud");
    mkdirSync(dataDir);
    const address = `${allocateSubnet()}.10`;
    const cloud = await startAgent({
      name: "cloud",
      mode: "cloud",
      address,
      dataDir,
      args: [],
      readyTimeoutMs: 15_000,
    });
    const readyz = async (): Promise<{ code: number; body: Ready }> => {
      const res = await fetch(`http://${address}:7401/readyz`);
      return { code: res.status, body: (await res.json()) as Ready };
    };
    try {
      expect((await readyz()).body.checks.store).toBe("ok");
      const filler = join(mountPoint, "filler");
      fillUp(filler);
      let last: { code: number; body: Ready } | undefined;
      await waitUntil(
        "/readyz to report the full disk",
        async () => {
          last = await readyz();
          return last.code === 503;
        },
        10_000,
      );
      expect(last?.body.status).toBe("not ready");
      expect(last?.body.checks.store).toContain("full");
      // The cloud API serves the same readiness.
      const api = await fetch(`http://${address}:7400/readyz`);
      expect(api.status).toBe(503);
      expect(((await api.json()) as Ready).checks.store).toContain("full");

      rmSync(filler);
      await waitUntil("/readyz to be ready again", async () => (await readyz()).code === 200);
      expect((await readyz()).body.checks.store).toBe("ok");
    } catch (err) {
      process.stderr.write(`----- logs of the cloud -----\n${cloud.logs.join("\n")}\n`);
      throw err;
    } finally {
      await cloud.stop();
    }
  }, 40_000);
});
